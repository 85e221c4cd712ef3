"""Results on disk: pagination, CSV (GetStatementResultV2), formats, 24-hour retention."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from typing import Any

import pytest

from redstep.dataapi.errors import ValidationException
from redstep.dataapi.service import DataApiService

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


def test_results_expire_after_24_hours(
    make_service: Callable[..., DataApiService], clock: Any, run: Run
) -> None:
    service = make_service(now=clock)
    described = run(service, "select 1")
    clock.advance(hours=23)
    assert service.get_statement_result({"Id": described["Id"]})["Records"] == [[{"longValue": 1}]]
    clock.advance(hours=2)
    with pytest.raises(ValidationException, match="results are kept for 24 hours"):
        service.get_statement_result({"Id": described["Id"]})
    assert service.describe_statement({"Id": described["Id"]})["Status"] == "FINISHED"
