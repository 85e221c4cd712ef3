"""Results on disk: pagination, CSV (GetStatementResultV2), formats, 24-hour retention."""

from __future__ import annotations

import csv
import io
import sqlite3
from collections.abc import Callable
from typing import Any

import pytest

from redstep.dataapi.errors import ResourceNotFoundException, ValidationException
from redstep.dataapi.service import DataApiService
from redstep.project import Project

Run = Callable[..., dict[str, Any]]
TEN_THOUSAND = "select i, repeat('x', 200) as filler from range(10000) t(i) order by i"


def test_pagination_over_ten_thousand_rows(service: DataApiService, run: Run) -> None:
    described = run(service, TEN_THOUSAND)
    assert described["ResultRows"] == 10000
    numbers: list[int] = []
    token: str | None = None
    pages = 0
    while True:
        request: dict[str, Any] = {"Id": described["Id"]}
        if token:
            request["NextToken"] = token
        page = service.get_statement_result(request)
        assert page["TotalNumRows"] == 10000
        numbers.extend(int(record[0]["longValue"]) for record in page["Records"])
        pages += 1
        token = page.get("NextToken")
        if token is None:
            break
    assert pages > 1
    assert numbers == list(range(10000))
    with pytest.raises(ValidationException, match="Invalid NextToken"):
        service.get_statement_result({"Id": described["Id"], "NextToken": "bogus"})


def test_csv_result_via_v2(service: DataApiService, run: Run) -> None:
    described = run(
        service, "select 1 as a, 'x,y' as b, null::varchar as c union all select 2, 'z', 'w'",
        ResultFormat="CSV",
    )  # fmt: skip
    assert described["ResultFormat"] == "CSV"
    result = service.get_statement_result_v2({"Id": described["Id"]})
    assert result["ResultFormat"] == "CSV"
    assert result["TotalNumRows"] == 2
    text = result["Records"][0]["CSVRecords"]
    rows = sorted(csv.reader(io.StringIO(text)))
    assert rows == [["1", "x,y", ""], ["2", "z", "w"], ["a", "b", "c"]]
    assert text.splitlines()[0] == "a,b,c"
    with pytest.raises(ValidationException, match="GetStatementResultV2"):
        service.get_statement_result({"Id": described["Id"]})


def test_json_result_cannot_be_read_as_csv(service: DataApiService, run: Run) -> None:
    described = run(service, "select 1")
    with pytest.raises(ValidationException, match="use GetStatementResult to"):
        service.get_statement_result_v2({"Id": described["Id"]})


def test_csv_pages(make_service: Callable[..., DataApiService], run: Run) -> None:
    service = make_service(page_bytes=10_000)
    described = run(service, TEN_THOUSAND, ResultFormat="CSV")
    lines: list[str] = []
    token: str | None = None
    while True:
        page = service.get_statement_result_v2(
            {"Id": described["Id"], **({"NextToken": token} if token else {})}
        )
        lines.extend(page["Records"][0]["CSVRecords"].splitlines())
        token = page.get("NextToken")
        if not token:
            break
    assert lines[0] == "i,filler"
    assert len(lines) == 10001


def test_statements_and_results_are_purged_after_24_hours(
    make_service: Callable[..., DataApiService], project: Project, clock: Any, run: Run
) -> None:
    service = make_service(now=clock)
    old = run(service, "select 1")
    batch = service.batch_execute_statement(
        {"Sqls": ["select 1", "select 2"], "WaitTimeSeconds": 10}
    )
    clock.advance(hours=23)
    recent = run(service, "select 3")
    assert service.get_statement_result({"Id": old["Id"]})["Records"] == [[{"longValue": 1}]]
    clock.advance(hours=2)
    for statement_id in (old["Id"], batch["Id"], f"{batch['Id']}:2"):
        with pytest.raises(ResourceNotFoundException):
            service.describe_statement({"Id": statement_id})
    assert service.get_statement_result({"Id": recent["Id"]})["Records"] == [[{"longValue": 3}]]
    results = sorted(path.name for path in (project.state_dir / "results").iterdir())
    assert results == [recent["Id"]]
    with sqlite3.connect(project.state_dir / "store.sqlite") as store:
        left = store.execute("select count(*) from sub_statements").fetchone()[0]
    assert left == 0


def test_result_size_counts_the_same_in_json_and_csv(service: DataApiService, run: Run) -> None:
    sql = "select i, 'row ' || i as label, null as nothing from range(3) t(i)"
    as_json = run(service, sql)
    as_csv = run(service, sql, ResultFormat="CSV")
    assert as_json["ResultSize"] == as_csv["ResultSize"] == 3 + 3 * len("row 0")


def test_a_row_that_fails_while_the_result_is_written_fails_the_statement(
    service: DataApiService, project: Project, run: Run
) -> None:
    """Rows stream from the warehouse into the result's pages: a failure at row 900,001 ends the
    statement FAILED with the warehouse's error, and no part of a result is left on disk."""
    failing = (
        "select (case when i = 900000 then 'x' else i::varchar end)::int as n "
        "from range(1000000) t(i)"
    )
    described = run(service, failing)
    assert (described["Status"], described["Error"]) == (
        "FAILED",
        'ERROR: invalid input syntax for type integer: "x"',
    )
    assert not described["HasResultSet"]
    assert list((project.state_dir / "results").iterdir()) == []
    with pytest.raises(ValidationException, match="Query does not have result"):
        service.get_statement_result({"Id": described["Id"]})


def test_opening_removes_what_a_stopped_process_left_half_written(
    make_service: Callable[..., DataApiService], project: Project, run: Run
) -> None:
    """Each result is one file, renamed into place once whole; a process stopped while writing
    one leaves its temporary file, which the next service removes, keeping whole results."""
    first = make_service()
    kept = run(first, "select 41 + 1 as answer")
    first.close()
    folder = project.state_dir / "results"
    half_written = folder / f".{kept['Id']}x.999999999.tmp"
    half_written.write_bytes(b'[[{"longValue":1}]')
    foreign = folder / "not-a-result"
    foreign.write_bytes(b"")
    second = make_service()
    assert sorted(path.name for path in folder.iterdir()) == [kept["Id"]]
    assert second.get_statement_result({"Id": kept["Id"]})["Records"] == [[{"longValue": 42}]]


def test_an_error_in_an_earlier_statement_of_the_sql_fails_it(
    service: DataApiService, run: Run
) -> None:
    """Only the last statement's rows are returned, but the others' are still produced: one
    that fails at its 900,001st row fails the whole Sql, and what ran with it is rolled back."""
    described = run(
        service,
        "create table touched (id int); "
        "select (case when i = 900000 then 'x' else i::varchar end)::int as n "
        "from range(1000000) t(i); "
        "select 1 as one",
    )
    assert (described["Status"], described["Error"]) == (
        "FAILED",
        'ERROR: invalid input syntax for type integer: "x"',
    )
    missing = run(service, "select count(*) from touched")
    assert missing["Status"] == "FAILED"


def test_a_result_gone_from_disk_reads_as_expired(
    service: DataApiService, project: Project, run: Run
) -> None:
    described = run(service, "select 1 as one")
    (project.state_dir / "results" / described["Id"]).unlink()
    with pytest.raises(ValidationException, match="Query result has expired"):
        service.get_statement_result({"Id": described["Id"]})
