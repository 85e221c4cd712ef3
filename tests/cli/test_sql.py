"""`redstep sql`: Redshift answers on the embedded warehouse, printed by the one renderer."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from redstep.cli import main


def run(project: Path, *args: str) -> Result:
    return CliRunner().invoke(main, ["sql", "--project", str(project), *args])


def test_integer_division_prints_3(tmp_path: Path) -> None:
    result = run(tmp_path, "select 7/2", "--output", "csv")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[1:] == ["3"]


def test_division_by_zero_fails_with_redshifts_message(tmp_path: Path) -> None:
    result = run(tmp_path, "select 7/2, 1/0")
    assert result.exit_code != 0
    assert "division by zero" in result.output


def test_the_default_output_is_a_table_with_a_row_count(tmp_path: Path) -> None:
    result = run(tmp_path, "select 7/2 as quotient, 'cat' as animal")
    assert result.exit_code == 0, result.output
    assert "quotient" in result.output
    assert "animal" in result.output
    assert "cat" in result.output
    assert "(1 row)" in result.output


def test_csv_is_a_header_then_one_line_per_row(tmp_path: Path) -> None:
    result = run(
        tmp_path,
        "select n, case when n = 2 then null else 'x,' || n end as label "
        "from (select 1 as n union all select 2 union all select 3) order by n",
        "--output",
        "csv",
    )
    assert result.exit_code == 0, result.output
    assert list(csv.reader(io.StringIO(result.output))) == [
        ["n", "label"],
        ["1", "x,1"],
        ["2", ""],
        ["3", "x,3"],
    ]


def test_json_is_one_object_per_row(tmp_path: Path) -> None:
    result = run(tmp_path, "select 1 as a, null as b, 'z' as c", "--output", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == [{"a": 1, "b": None, "c": "z"}]


def test_several_statements_run_as_one_batch_and_print_the_last(tmp_path: Path) -> None:
    script = tmp_path / "load.sql"
    script.write_text(
        "create table t (a int encode az64) diststyle even;\n"
        "insert into t values (1), (2); -- a comment; with a semicolon\n"
        "select count(*) as n from t;\n",
        encoding="utf-8",
    )
    result = run(tmp_path, "--file", str(script), "--output", "csv")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == ["n", "2"]


def test_a_failing_batch_leaves_nothing_behind(tmp_path: Path) -> None:
    failed = run(tmp_path, "create table t (a int); insert into t values (1); select 1/0;")
    assert failed.exit_code != 0
    assert "division by zero" in failed.output
    after = run(tmp_path, "select count(*) from t")
    assert after.exit_code != 0
    assert 'relation "t" does not exist' in after.output


def test_state_lives_in_the_project_folder_between_runs(tmp_path: Path) -> None:
    assert run(tmp_path, "create table kept (a int); insert into kept values (42);").exit_code == 0
    assert (tmp_path / ".redstep" / "warehouse.duckdb").is_file()
    result = run(tmp_path, "select a from kept", "--output", "csv")
    assert result.output.splitlines() == ["a", "42"]


def test_a_statement_without_rows_prints_ok(tmp_path: Path) -> None:
    result = run(tmp_path, "create table t (a int)")
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "OK"


def test_sql_is_given_once(tmp_path: Path) -> None:
    script = tmp_path / "q.sql"
    script.write_text("select 1", encoding="utf-8")
    assert run(tmp_path, "select 1", "--file", str(script)).exit_code == 2
    assert run(tmp_path).exit_code == 2


def test_a_bad_config_is_reported_with_its_file(tmp_path: Path) -> None:
    (tmp_path / "redstep.toml").write_text('[warehouse]\nurl = "oracle://x"\n', encoding="utf-8")
    result = run(tmp_path, "select 1")
    assert result.exit_code == 1
    assert "redstep.toml" in result.output
    assert "unknown warehouse scheme 'oracle'" in result.output


@pytest.mark.timeout(120)
def test_the_console_entry_point_runs(tmp_path: Path) -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "redstep", "sql", "select 7/2", "--output", "csv"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=100,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.splitlines() == ["?column?", "3"]


def test_a_named_postgres_warehouse_answers_like_the_embedded_one(
    tmp_path: Path, postgres_url: str
) -> None:
    (tmp_path / "redstep.toml").write_text(
        f'[warehouses.analytics]\nurl = "{postgres_url}"\n', encoding="utf-8"
    )
    on_postgres = run(tmp_path, "select 7/2 as q", "--warehouse", "analytics", "--output", "csv")
    assert on_postgres.exit_code == 0, on_postgres.output
    assert on_postgres.output.splitlines() == ["q", "3"]
    failed = run(tmp_path, "select 1/0", "--warehouse", "analytics")
    assert failed.exit_code == 1
    assert "ERROR: division by zero" in failed.output
    created = run(tmp_path, "create table only_here (a int)", "--warehouse", "analytics")
    assert created.exit_code == 0, created.output
    embedded = run(tmp_path, "select * from only_here")
    assert 'relation "only_here" does not exist' in embedded.output


def test_an_unterminated_string_fails_as_redshift_says(tmp_path: Path) -> None:
    result = run(tmp_path, "select 1; select 'abc")
    assert result.exit_code == 1
    assert 'ERROR: unterminated quoted string at or near "\'abc"' in result.output


def test_a_script_that_is_not_utf8_is_reported(tmp_path: Path) -> None:
    script = tmp_path / "latin1.sql"
    script.write_bytes(b"select '\xe9t\xe9'")
    result = run(tmp_path, "--file", str(script))
    assert result.exit_code == 1
    assert f"cannot read {script}" in result.output
    assert "can't decode byte 0xe9" in result.output
