"""`redstep example generate`: a deterministic workload for the sales pipeline, made in SQL.

Each test works on a fresh copy of examples/sales_data_pipeline, at a small scale (0.01: 10,000
sales). Rows are read back through the Data API, so values compare alike on every backend.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from redstep.api.local_endpoint import open_services
from redstep.cli.example import example
from redstep.cli.init import create_project
from redstep.cli.sql import run_sql
from redstep.dataapi import DataApiService
from redstep.project import load_project

SCALE = "0.01"
SALES, ITEMS, ADDRESSES, CUSTOMERS = 10_000, 50, 200, 400
"""What scale 0.01 generates: a sale per row, an item per 200, an address per 50, a customer
per 25."""
GENERATED = {
    "stg_store_sales": "select * from stg_store_sales order by ss_ticket_number",
    "stg_item": "select * from stg_item order by i_item_id",
    "stg_customer_address": "select * from stg_customer_address order by ca_address_id",
    "customer": "select * from customer order by c_customer_sk",
}
"""Every table generation writes, and its rows in a total order."""
PIPELINE_SECONDS = 120.0


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return create_project(tmp_path / "sales", example="sales")


def generate(project: Path, *args: str) -> Result:
    return CliRunner().invoke(example, ["generate", "--project", str(project), *args])


def generated(project: Path, *args: str) -> Result:
    """Generate, and insist that it worked."""
    result = generate(project, "--scale", SCALE, *args)
    assert result.exit_code == 0, result.output
    return result


def query(project: Path, sql: str) -> list[list[Any]]:
    with DataApiService(load_project(project)) as service:
        result = run_sql(service, sql)
    assert result is not None
    return [list(row) for row in result.rows]


def dump(project: Path) -> dict[str, list[list[Any]]]:
    with DataApiService(load_project(project)) as service:
        tables = {name: run_sql(service, sql) for name, sql in GENERATED.items()}
    return {name: [list(row) for row in rows.rows] for name, rows in tables.items() if rows}


def test_generates_the_scale_and_proportionate_dimensions(project: Path) -> None:
    result = generated(project)

    assert re.search(r"stg_store_sales\s+10,000\n", result.output)
    assert re.search(r"stg_item\s+50\n", result.output)
    assert re.search(r"stg_customer_address\s+200\n", result.output)
    assert re.search(r"customer \(generated\)\s+400\n", result.output)
    assert re.search(r"in \d+\.\d\d s \(setup \d+\.\d\d s, generation \d+\.\d\d s\)", result.output)
    counts = query(
        project,
        "select (select count(*) from stg_store_sales), (select count(*) from stg_item),"
        " (select count(*) from stg_customer_address),"
        " (select count(*) from customer where c_customer_id like 'GEN%'),"
        " (select count(*) from customer where c_customer_id not like 'GEN%')",
    )
    assert counts == [[SALES, ITEMS, ADDRESSES, CUSTOMERS, 4]]  # the 4 sample customers stay


def test_every_sale_is_on_the_run_date_with_plausible_values(project: Path) -> None:
    generated(project, "--run-date", "2003-01-05")

    (summary,) = query(
        project,
        "select min(sold_date), max(sold_date), min(ss_quantity), max(ss_quantity),"
        " min(ss_net_paid), max(ss_net_paid), count(distinct ss_ticket_number),"
        " count(distinct i_item_id), count(distinct c_customer_id),"
        " count(distinct ca_address_id) from stg_store_sales",
    )
    first, last, low_quantity, high_quantity, low_paid, high_paid, tickets, *referred = summary
    assert (first, last) == ("2003-01-05", "2003-01-05")
    assert 1 <= low_quantity <= high_quantity <= 100
    assert 0 < float(low_paid) <= float(high_paid) < 100_000  # within numeric(7,2)
    assert tickets == SALES
    assert referred == [ITEMS, CUSTOMERS, ADDRESSES]  # the sales spread over every one


def test_every_sale_refers_to_generated_rows(project: Path) -> None:
    generated(project)

    orphans = query(
        project,
        "select"
        " (select count(*) from stg_store_sales s where not exists"
        "   (select 1 from stg_item i where i.i_item_id = s.i_item_id)),"
        " (select count(*) from stg_store_sales s where not exists"
        "   (select 1 from customer c where c.c_customer_id = s.c_customer_id)),"
        " (select count(*) from stg_store_sales s where not exists"
        "   (select 1 from stg_customer_address a where a.ca_address_id = s.ca_address_id))",
    )
    assert orphans == [[0, 0, 0]]


def test_the_pipeline_loads_every_generated_sale(project: Path) -> None:
    generated(project, "--run-date", "2003-01-03")

    with open_services(load_project(project)) as services:
        arn = services.engine.region.state_machine_arn("sales_data_pipeline")
        started = services.engine.start_execution(
            {"stateMachineArn": arn, "input": '{"run_date": "2003-01-03"}'}
        )
        described = services.engine.wait(started["executionArn"], PIPELINE_SECONDS)
    assert described["status"] == "SUCCEEDED", described
    loaded = query(
        project,
        "select count(*), count(ss_item_sk), count(ss_customer_sk), count(ss_addr_sk),"
        " count(distinct ss_ticket_number)"
        " from store_sales join date_dim on d_date_sk = ss_sold_date_sk"
        " where d_date = '2003-01-03'",
    )
    assert loaded == [[SALES, SALES, SALES, SALES, SALES]]  # every key found


def test_the_same_seed_generates_the_same_rows_and_another_seed_others(project: Path) -> None:
    generated(project, "--seed", "7")
    first = dump(project)
    generated(project, "--seed", "7")
    again = dump(project)
    generated(project, "--seed", "8")
    other = dump(project)

    assert again == first
    assert len(other["stg_store_sales"]) == len(first["stg_store_sales"])
    for table in GENERATED:
        assert other[table] != first[table], table
    # Ids are numbered whatever the seed; what the seed changes is the values.
    assert [row[0] for row in other["stg_item"]] == [row[0] for row in first["stg_item"]]


@pytest.fixture
def postgres_project(tmp_path: Path, postgres_url: str) -> Path:
    return create_project(tmp_path / "sales-postgres", example="sales", warehouse_url=postgres_url)


def test_duckdb_and_postgresql_generate_the_same_rows(
    project: Path, postgres_project: Path
) -> None:
    generated(project, "--seed", "12345", "--run-date", "2003-01-04")
    generated(postgres_project, "--seed", "12345", "--run-date", "2003-01-04")

    duckdb_rows, postgres_rows = dump(project), dump(postgres_project)
    for table in GENERATED:
        assert unpadded(postgres_rows[table]) == unpadded(duckdb_rows[table]), table


def unpadded(rows: list[list[Any]]) -> list[list[Any]]:
    """Rows with their strings' trailing blanks dropped: redstep's DuckDB backend does not pad
    what a CHAR(n) column stores (customer's names), where PostgreSQL and Redshift do; that gap
    is tests/examples/test_sales_pipeline.py's to watch, not the generator's."""
    return [[v.rstrip(" ") if isinstance(v, str) else v for v in row] for row in rows]


def test_a_missing_project_is_an_error(tmp_path: Path) -> None:
    result = generate(tmp_path / "nowhere", "--scale", SCALE)

    assert result.exit_code == 1
    assert "no such project folder" in result.output


def test_a_project_without_setup_sql_is_an_error(tmp_path: Path) -> None:
    result = generate(tmp_path, "--scale", SCALE)

    assert result.exit_code == 1
    assert f"no {Path('sql') / 'setup.sql'} in {tmp_path}" in result.output


def test_a_sql_error_names_the_script_and_changes_nothing(project: Path) -> None:
    generated(project)
    script = project / "sql" / "generate.sql"
    script.write_text(
        script.read_text(encoding="utf-8").replace("select run_date,", "select run_date / 0,", 1),
        encoding="utf-8",
    )

    result = generate(project, "--scale", SCALE, "--seed", "1")

    assert result.exit_code == 1
    assert "Error: sql/generate.sql: ERROR: " in result.output
    # The script is one transaction: the earlier generation is still there, whole.
    assert query(project, "select count(*) from stg_store_sales") == [[SALES]]


def test_a_run_date_date_dim_does_not_hold_is_an_error(project: Path) -> None:
    result = generate(project, "--scale", SCALE, "--run-date", "2004-02-29")

    assert result.exit_code == 1
    assert "2004-02-29 is not a day of date_dim, which holds 2003-01-01 to 2003-01-07" in (
        result.output
    )


@pytest.mark.parametrize("scale", ["0", "-1", "0.0000001", "101"])
def test_a_scale_out_of_range_is_a_usage_error(project: Path, scale: str) -> None:
    result = generate(project, "--scale", scale)

    assert result.exit_code == 2
    assert "--scale" in result.output
