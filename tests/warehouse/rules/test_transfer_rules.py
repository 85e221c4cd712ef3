"""REDSHIFT.md: COPY and UNLOAD against the `test-bucket` folder."""

from __future__ import annotations

import datetime as dt
import gzip
import json
from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest

from redstep.warehouse.base import WarehouseError

Run = Callable[..., list[tuple[object, ...]]]
ROLE = "iam_role 'arn:aws:iam::123456789012:role/load'"


def _table(run: Run) -> None:
    run("create table sales (id int, sold date, item varchar(10), note varchar(20))")


def test_copy_csv_with_header_delimiter_and_null(run: Run, buckets: dict[str, Path]) -> None:
    folder = buckets["test-bucket"] / "in"
    folder.mkdir()
    (folder / "part-1.csv").write_text('id;sold;item;note\n1;2024-01-02;"a;b";NA\n')
    (folder / "part-2.csv").write_text("id;sold;item;note\n2;2024-01-03;c;x\n")
    (buckets["test-bucket"] / "other.csv").write_text("9;2024-01-09;z;z\n")
    _table(run)
    run(
        f"copy sales from 's3://test-bucket/in/part' {ROLE} format as csv delimiter ';'"
        " ignoreheader 1 null as 'NA' region 'us-east-1'"
    )
    rows = run("select id, sold, item, note from sales order by id")
    assert rows == [(1, dt.date(2024, 1, 2), "a;b", None), (2, dt.date(2024, 1, 3), "c", "x")]


def test_copy_pipe_delimited_gzip_with_columns(run: Run, buckets: dict[str, Path]) -> None:
    with gzip.open(buckets["test-bucket"] / "load.txt.gz", "wt") as sink:
        sink.write("7|pen\n8|ink\n")
    _table(run)
    run(f"copy sales (id, item) from 's3://test-bucket/load' {ROLE} gzip")
    assert run("select id, item, sold from sales order by id") == [
        (7, "pen", None),
        (8, "ink", None),
    ]


def test_copy_json_auto(run: Run, buckets: dict[str, Path]) -> None:
    lines = [{"id": 1, "item": "a", "sold": "2024-01-02"}, {"id": 2, "item": "b", "note": "n"}]
    (buckets["test-bucket"] / "j.json").write_text("\n".join(json.dumps(x) for x in lines))
    _table(run)
    run(f"copy sales from 's3://test-bucket/j' {ROLE} format as json 'auto'")
    assert run("select id, sold, item, note from sales order by id") == [
        (1, dt.date(2024, 1, 2), "a", None),
        (2, None, "b", "n"),
    ]


def test_copy_parquet(run: Run, buckets: dict[str, Path]) -> None:
    path = buckets["test-bucket"] / "p" / "data.parquet"
    path.parent.mkdir()
    with duckdb.connect() as local:
        local.execute(
            "copy (select 5 as id, date '2024-05-06' as sold, 'q' as item, 'r' as note)"
            f" to '{path}' (format parquet)"
        )
    _table(run)
    run(f"copy sales from 's3://test-bucket/p/' {ROLE} format as parquet")
    assert run("select id, sold, item, note from sales") == [(5, dt.date(2024, 5, 6), "q", "r")]


def test_copy_from_unknown_bucket_names_it(run: Run) -> None:
    _table(run)
    with pytest.raises(WarehouseError, match="'nowhere'"):
        run(f"copy sales from 's3://nowhere/x' {ROLE} csv")


def test_unload_csv_with_header_parallel_off(run: Run, buckets: dict[str, Path]) -> None:
    _table(run)
    run("insert into sales values (1, '2024-01-02', 'a', 'it''s')")
    run(
        "unload ('select id, item, note from sales where item = ''a''')"
        f" to 's3://test-bucket/out/sales_' {ROLE} format as csv header parallel off"
    )
    written = sorted((buckets["test-bucket"] / "out").iterdir())
    assert [p.name for p in written] == ["sales_000"]
    assert written[0].read_text().splitlines() == ["id,item,note", "1,a,it's"]


def test_unload_parquet_and_allowoverwrite(run: Run, buckets: dict[str, Path]) -> None:
    _table(run)
    run("insert into sales values (1, '2024-01-02', 'a', null), (2, null, 'b', 'n')")
    statement = f"unload ('select id, item from sales') to 's3://test-bucket/pq/s_' {ROLE} parquet"
    run(statement)
    with pytest.raises(WarehouseError, match="ALLOWOVERWRITE"):
        run(statement)
    run(statement + " allowoverwrite")
    files = list((buckets["test-bucket"] / "pq").iterdir())
    assert len(files) == 1
    with duckdb.connect() as local:
        rows = local.execute(f"select * from read_parquet('{files[0]}') order by 1").fetchall()
    assert rows == [(1, "a"), (2, "b")]


@pytest.mark.parametrize(
    "location",
    ["s3://test-bucket/../../escaped-", "s3://test-bucket/a/../../x", "s3://test-bucket/a\\b"],
)
def test_unload_and_copy_never_leave_the_bucket_folder(
    run: Run, buckets: dict[str, Path], location: str
) -> None:
    _table(run)
    with pytest.raises(WarehouseError, match="invalid S3 location"):
        run(f"unload ('select 1 as a') to '{location}' {ROLE} csv")
    with pytest.raises(WarehouseError, match="invalid S3 location"):
        run(f"copy sales from '{location}' {ROLE} csv")
    assert not any(buckets["test-bucket"].parent.parent.glob("escaped-*"))


def test_copy_reads_the_objects_s3_would_list(
    run: Run, buckets: dict[str, Path], tmp_path: Path
) -> None:
    """Not an upload's unfinished file, nor what a link inside the bucket points to outside it."""
    folder = buckets["test-bucket"]
    (folder / "in").mkdir()
    (folder / "in" / "part-1.csv").write_text("1,2024-01-02,a,x\n")
    (folder / "in" / ".redstep-upload-123").write_text("2,2024-01-02,b,unfinished\n")
    outside = tmp_path / "secret"
    outside.mkdir()
    (outside / "leak.csv").write_text("3,2024-01-02,c,leaked\n")
    (folder / "in" / "linked").symlink_to(outside, target_is_directory=True)
    _table(run)
    run(f"copy sales from 's3://test-bucket/in/' {ROLE} csv")
    assert run("select id, note from sales") == [(1, "x")]
