"""redstep.toml: defaults, routing by identifier, and errors that name the file and the key."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from redstep.project import DEFAULT_WAREHOUSE, DEFAULT_WAREHOUSE_URL, ProjectError, load_project


def write_config(folder: Path, text: str) -> Path:
    path = folder / "redstep.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_folder_without_config_has_every_default(tmp_path: Path) -> None:
    project = load_project(tmp_path)
    assert project.root == tmp_path.resolve()
    assert project.state_dir == tmp_path.resolve() / ".redstep"
    assert dict(project.warehouses) == {DEFAULT_WAREHOUSE: DEFAULT_WAREHOUSE_URL}
    assert dict(project.buckets) == {}


def test_named_warehouses_route_by_cluster_or_workgroup(tmp_path: Path) -> None:
    write_config(
        tmp_path,
        """
        [warehouse]
        url = "duckdb:///:memory:"
        [warehouses.analytics]
        url = "postgresql://postgres@127.0.0.1:5432/test"
        """,
    )
    project = load_project(tmp_path)
    assert project.warehouses[DEFAULT_WAREHOUSE] == "duckdb:///:memory:"
    assert project.warehouse_name("analytics") == "analytics"
    assert project.warehouse_name("some-other-cluster") == DEFAULT_WAREHOUSE
    assert project.warehouse_name(None) == DEFAULT_WAREHOUSE


def test_buckets_resolve_against_the_project_folder(tmp_path: Path) -> None:
    write_config(tmp_path, '[buckets.sales]\npath = "data/sales"\n')
    assert load_project(tmp_path).buckets["sales"] == (tmp_path / "data" / "sales").resolve()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('[warehouse]\nurl = "mysql://x"\n', r"warehouse\.url: unknown warehouse scheme 'mysql'"),
        ('[warehouse]\nurl = "duckdbb:///x.db"\n', r"did you mean 'duckdb'\?"),
        ('[warehouse]\nurl = "not a url"\n', r"warehouse\.url: 'not a url' is not a warehouse URL"),
        ('[warehouse]\nurl = "duckdb://"\n', r"names no database file"),
        ("[warehouse]\nurl = 3\n", r"warehouse\.url must be a string"),
        ('[warehouse]\nurl = "duckdb:///:memory:"\nurll = 1\n', r"unknown key 'warehouse\.urll'"),
        ('[warehouses.a]\nurl = "duckdb:///:memory:"\nx = 1\n', r"unknown key 'warehouses\.a\.x'"),
        ('[warehousez]\nurl = "duckdb:///:memory:"\n', r"unknown key 'warehousez'"),
        ('[buckets.b]\nfolder = "x"\n', r"unknown key 'buckets\.b\.folder'"),
        ("[buckets.b]\npath = 1\n", r"buckets\.b\.path must be a folder path"),
        ('[buckets.Sales_Data]\npath = "x"\n', r"'Sales_Data' is not a bucket name S3 accepts"),
        ('[buckets.everything]\npath = "."\n', r"buckets\.everything\.path must not hold redstep"),
        ('[buckets.inner]\npath = ".redstep/x"\n', r"buckets\.inner\.path must not hold redstep"),
        ("warehouses = 1\n", r"warehouses must hold tables"),
        ("[warehouse\n", r"redstep\.toml: "),
    ],
)
def test_bad_config_names_the_file_and_the_key(tmp_path: Path, text: str, expected: str) -> None:
    path = write_config(tmp_path, text)
    with pytest.raises(ProjectError, match=expected) as raised:
        load_project(tmp_path)
    assert str(path) in str(raised.value)


def test_a_missing_project_folder_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ProjectError, match="no such project folder"):
        load_project(tmp_path / "absent")


OWN_STATE_SCRIPT = """
import sys
from redstep.project import ProjectInUse, load_project
try:
    load_project(sys.argv[1]).own_state()
except ProjectInUse as error:
    print(error)
    sys.exit(3)
"""


def test_one_process_owns_the_state_at_a_time(tmp_path: Path) -> None:
    ownership = load_project(tmp_path).own_state()
    assert (tmp_path / ".redstep" / "owner.lock").read_text().strip() == str(os.getpid())
    other = subprocess.run(
        [sys.executable, "-c", OWN_STATE_SCRIPT, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert other.returncode == 3, other.stderr
    assert f"in use by another redstep process (PID {os.getpid()})" in other.stdout
    ownership.release()
    again = subprocess.run(
        [sys.executable, "-c", OWN_STATE_SCRIPT, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert again.returncode == 0, again.stdout + again.stderr


def write_definition(folder: Path, text: str = '{"StartAt": "${Start}", "States": {}}') -> None:
    (folder / "flow.asl.json").write_text(text, encoding="utf-8")


def test_state_machines_read_their_definition_with_substitutions(tmp_path: Path) -> None:
    write_definition(tmp_path, '{"Comment": "${Bucket} ${Retries} ${Strict}", "x": "$.path"}')
    write_config(
        tmp_path,
        """
        [state_machines.flow]
        definition = "flow.asl.json"
        substitutions = { Bucket = "sales-data", Retries = 3, Strict = true }
        """,
    )
    machine = load_project(tmp_path).state_machines["flow"]
    assert machine.definition == '{"Comment": "sales-data 3 true", "x": "$.path"}'
    assert machine.source == (tmp_path / "flow.asl.json").resolve()
    assert machine.role_arn.startswith("arn:aws:iam::123456789012:role/")


def test_triggers_take_a_schedule_or_a_bucket(tmp_path: Path) -> None:
    write_definition(tmp_path, "{}")
    write_config(
        tmp_path,
        """
        [buckets.landing]
        path = "landing"
        [state_machines.flow]
        definition = "flow.asl.json"
        [triggers.nightly]
        state_machine = "flow"
        schedule = "cron(0 2 * * ? *)"
        input = { run_date = 2024-01-01, tries = 2 }
        catch_up = true
        [triggers.upload]
        state_machine = "flow"
        bucket = "landing"
        prefix = "incoming/"
        [triggers.text]
        state_machine = "flow"
        schedule = "rate(1 hour)"
        input = '{"a": [1, 2]}'
        """,
    )
    triggers = load_project(tmp_path).triggers
    assert triggers["nightly"].input == '{"run_date": "2024-01-01", "tries": 2}'
    assert (triggers["nightly"].schedule, triggers["nightly"].catch_up) == (
        "cron(0 2 * * ? *)",
        True,
    )
    assert (triggers["upload"].bucket, triggers["upload"].prefix) == ("landing", "incoming/")
    assert triggers["upload"].input is None, "without input, the event is the input"
    assert triggers["text"].input == '{"a": [1, 2]}'


FLOW = '[state_machines.flow]\ndefinition = "flow.asl.json"\n'
TRIGGER = FLOW + "substitutions = { Start = 'A' }\n[triggers.t]\n"
HOURLY = "state_machine = 'flow'\nschedule = 'rate(1 hour)'\n"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            '[state_machines.flow]\ndefinition = "absent.json"\n',
            r"state_machines\.flow\.definition: cannot read",
        ),
        (
            "[state_machines.flow]\ndefinition = 3\n",
            r"state_machines\.flow\.definition must be the path",
        ),
        (FLOW, r"state_machines\.flow\.substitutions: nothing given for \$\{Start\}"),
        (FLOW + "substitutions = { Start = [1] }\n", r"substitutions must map names to strings"),
        (FLOW + "role = 'x'\n", r"unknown key 'state_machines\.flow\.role'"),
        (
            TRIGGER + "state_machine = 'other'\nschedule = 'rate(1 hour)'\n",
            r"triggers\.t\.state_machine must name a \[state_machines\.<name>\] table "
            r"\(declared: flow\)",
        ),
        (
            TRIGGER + "state_machine = 'flow'\n",
            r"triggers\.t needs either `schedule` or `bucket`, not both",
        ),
        (
            TRIGGER + "state_machine = 'flow'\nbucket = 'nowhere'\n",
            r"triggers\.t\.bucket must name a \[buckets\.<name>\] table",
        ),
        (
            TRIGGER + HOURLY + "input = '{oops'\n",
            r"triggers\.t\.input is not JSON",
        ),
        (
            TRIGGER + HOURLY + "prefix = 'x/'\n",
            r"triggers\.t\.prefix belongs to bucket triggers",
        ),
    ],
)
def test_bad_state_machines_and_triggers_name_the_key(
    tmp_path: Path, text: str, expected: str
) -> None:
    write_definition(tmp_path)
    write_config(tmp_path, text)
    with pytest.raises(ProjectError, match=expected):
        load_project(tmp_path)
