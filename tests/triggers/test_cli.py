"""`redstep triggers list`: each trigger, its state machine, schedule or bucket, next fire."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from click.testing import CliRunner, Result

from redstep.cli.triggers import triggers
from redstep.triggers import STATE_FILE, ScheduleState, save_states

CONFIG = """
[buckets.sales-data]
path = "data/sales"

[state_machines.sales_data_pipeline]
definition = "pipeline.asl.json"

[triggers.nightly]
state_machine = "sales_data_pipeline"
input = { run_date = "2024-01-01" }
schedule = "cron(0 2 1 1 ? 2199)"

[triggers.hourly]
state_machine = "sales_data_pipeline"
schedule = "rate(1 hour)"

[triggers.retired]
state_machine = "sales_data_pipeline"
schedule = "cron(0 0 1 1 ? 2000-2010)"

[triggers.on-upload]
state_machine = "sales_data_pipeline"
bucket = "sales-data"
prefix = "incoming/"
"""

DEFINITION = {"StartAt": "Done", "States": {"Done": {"Type": "Pass", "End": True}}}


def make_project(folder: Path) -> Path:
    (folder / "redstep.toml").write_text(CONFIG, encoding="utf-8")
    (folder / "pipeline.asl.json").write_text(json.dumps(DEFINITION), encoding="utf-8")
    return folder


def run(*args: str) -> Result:
    return CliRunner().invoke(triggers, list(args))


def test_list_as_json_shows_every_trigger_and_its_next_fire(tmp_path: Path) -> None:
    project = make_project(tmp_path)
    # The hourly rate was first run at 10:03 on some day: it fires at three past each hour.
    since = datetime(2024, 11, 27, 10, 3, 27, tzinfo=UTC)
    save_states(
        tmp_path / ".redstep" / STATE_FILE, {"hourly": ScheduleState("rate(1 hour)", since)}
    )
    result = run("list", "--project", str(project), "--output", "json")
    assert result.exit_code == 0, result.output
    listed = json.loads(result.output)
    hourly = next(row for row in listed if row["name"] == "hourly")
    assert hourly["next_fire_utc"].endswith(":03:00Z")
    assert datetime.fromisoformat(hourly["next_fire_utc"]) > datetime.now(UTC)
    assert [row for row in listed if row["name"] != "hourly"] == [
        {
            "name": "nightly",
            "state_machine": "sales_data_pipeline",
            "kind": "schedule",
            "source": "cron(0 2 1 1 ? 2199)",
            "next_fire_utc": "2199-01-01T02:00:00Z",
        },
        {
            "name": "on-upload",
            "state_machine": "sales_data_pipeline",
            "kind": "bucket",
            "source": "s3://sales-data/incoming/",
            "next_fire_utc": None,
        },
        {
            "name": "retired",
            "state_machine": "sales_data_pipeline",
            "kind": "schedule",
            "source": "cron(0 0 1 1 ? 2000-2010)",
            "next_fire_utc": None,
        },
    ]


def test_list_as_a_table_by_default(tmp_path: Path) -> None:
    result = run("list", "--project", str(make_project(tmp_path)))
    assert result.exit_code == 0, result.output
    assert "next_fire_utc" in result.output
    assert "2199-01-01T02:00:00Z" in result.output
    assert "s3://sales-data/incoming/" in result.output
    assert "(4 rows)" in result.output


def test_listing_writes_nothing(tmp_path: Path) -> None:
    run("list", "--project", str(make_project(tmp_path)))
    assert not (tmp_path / ".redstep").exists()


def test_a_project_without_triggers_lists_none(tmp_path: Path) -> None:
    result = run("list", "--project", str(tmp_path), "--output", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == []


def test_a_bad_schedule_is_a_clean_error_naming_the_file_and_key(tmp_path: Path) -> None:
    project = make_project(tmp_path)
    config = project / "redstep.toml"
    config.write_text(
        config.read_text(encoding="utf-8").replace("cron(0 2 1 1 ? 2199)", "cron(0 2 * * * *)"),
        encoding="utf-8",
    )
    result = run("list", "--project", str(project))
    assert result.exit_code == 1
    assert result.output.startswith("Error: ")
    assert (
        "redstep.toml: triggers.nightly.schedule: Parameter ScheduleExpression is not valid."
        in (result.output)
    )
    assert "Traceback" not in result.output
