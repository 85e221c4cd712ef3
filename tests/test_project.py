"""redstep.toml: defaults, routing by identifier, and errors that name the file and the key."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from redstep.project import (
    DEFAULT_WAREHOUSE,
    DEFAULT_WAREHOUSE_URL,
    FunctionConfig,
    ProjectError,
    load_project,
)


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


SETUP_SQL = """\
-- Tables first.
create table if not exists t (a int, note varchar(20));  -- a trailing remark
/* Sample rows:
   only into an empty table. */
insert into t
  select 1, 'it''s; fine'   -- a `;` in a string or a comment ends nothing
  where not exists (select 1 from t);
select cast(:run_date as date)
-- the end
"""


def test_a_statements_substitution_is_a_sql_files_statements(tmp_path: Path) -> None:
    (tmp_path / "sql").mkdir()
    (tmp_path / "sql" / "setup.sql").write_text(SETUP_SQL, encoding="utf-8")
    write_definition(
        tmp_path,
        '{"Sqls": "${SetupSqls}", "Db": "${Database}", "Note": "${Database}-${Retries}"}',
    )
    write_config(
        tmp_path,
        """
        [state_machines.flow]
        definition = "flow.asl.json"
        [state_machines.flow.substitutions]
        SetupSqls = { statements = "sql/setup.sql" }
        Database = "dev"
        Retries = 3
        """,
    )
    definition = json.loads(load_project(tmp_path).state_machines["flow"].definition)
    assert definition == {
        "Sqls": [
            "create table if not exists t (a int, note varchar(20))",
            "insert into t\n  select 1, 'it''s; fine'   -- a `;` in a string or a comment ends "
            "nothing\n  where not exists (select 1 from t)",
            "select cast(:run_date as date)",
        ],
        "Db": "dev",
        "Note": "dev-3",
    }


STATEMENTS = (
    '[state_machines.flow]\ndefinition = "flow.asl.json"\n[state_machines.flow.substitutions]\n'
)


@pytest.mark.parametrize(
    ("files", "definition", "text", "expected"),
    [
        (
            {},
            '{"Sqls": "${S}"}',
            STATEMENTS + "S = { statements = 'sql/absent.sql' }\n",
            r"state_machines\.flow\.substitutions\.S\.statements: cannot read .*absent\.sql",
        ),
        (
            {"sql/empty.sql": "-- nothing yet\n;\n"},
            '{"Sqls": "${S}"}',
            STATEMENTS + "S = { statements = 'sql/empty.sql' }\n",
            r"state_machines\.flow\.substitutions\.S\.statements: no SQL statement in "
            r".*empty\.sql",
        ),
        (
            {"sql/open.sql": "select 'unterminated"},
            '{"Sqls": "${S}"}',
            STATEMENTS + "S = { statements = 'sql/open.sql' }\n",
            r"substitutions\.S\.statements: .*open\.sql: unterminated quoted string",
        ),
        (
            {"sql/x.sql": "select 1"},
            '{"Comment": "runs ${S}"}',
            STATEMENTS + "S = { statements = 'sql/x.sql' }\n",
            r"state_machines\.flow\.substitutions\.S: a statements list must replace a whole "
            r"JSON string \(\"\$\{S\}\"\) in flow\.asl\.json",
        ),
        (
            {"sql/x.sql": "select 1"},
            '{"Sqls": "${S}"}',
            STATEMENTS + "S = { statements = 'sql/x.sql', split = true }\n",
            r"unknown key 'state_machines\.flow\.substitutions\.S\.split'",
        ),
        (
            {},
            '{"Sqls": "${S}"}',
            STATEMENTS + "S = { statement = 'sql/x.sql' }\n",
            r"unknown key 'state_machines\.flow\.substitutions\.S\.statement' "
            r"\(expected one of: statements\)",
        ),
        (
            {},
            '{"Sqls": "${S}"}',
            STATEMENTS + "S = { statements = 3 }\n",
            r"substitutions\.S\.statements must be the path of a SQL file",
        ),
    ],
)
def test_bad_statements_substitutions_name_the_file_and_the_key(
    tmp_path: Path, files: dict[str, str], definition: str, text: str, expected: str
) -> None:
    for name, content in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(content, encoding="utf-8")
    write_definition(tmp_path, definition)
    path = write_config(tmp_path, text)
    with pytest.raises(ProjectError, match=expected) as raised:
        load_project(tmp_path)
    assert str(path) in str(raised.value)


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


def write_handlers(folder: Path) -> None:
    (folder / "functions").mkdir(parents=True)
    (folder / "functions" / "app.py").write_text("def handler(event, context): ...\n")
    (folder / "package").mkdir()
    (folder / "package" / "__init__.py").write_text("def go(event, context): ...\n")
    (folder / "package" / "handlers.py").write_text("def run(event, context): ...\n")
    (folder / "lambda_function.py").write_text("def lambda_handler(event, context): ...\n")


def test_functions_name_a_handler_and_take_lambdas_defaults(tmp_path: Path) -> None:
    write_handlers(tmp_path)
    write_config(
        tmp_path,
        """
        [functions.redshift_batch_data_api]
        handler = "functions/app.py:handler"
        timeout = 60
        memory = 256
        environment = { SCRIPTS_BUCKET = "sales-scripts" }
        [functions.by-module]
        handler = "package.handlers:run"
        [functions.lambda_style]
        handler = "lambda_function.lambda_handler"
        [functions.package_itself]
        handler = "package.go"
        [functions.with_a_path]
        handler = "package/handlers.run"
        """,
    )
    functions = load_project(tmp_path).functions
    root = tmp_path.resolve()
    assert functions["redshift_batch_data_api"] == FunctionConfig(
        name="redshift_batch_data_api",
        handler="functions/app.py:handler",
        timeout=60,
        memory=256,
        environment={"SCRIPTS_BUCKET": "sales-scripts"},
        source=root / "functions" / "app.py",
    )
    spelt = {
        name: (f.handler_module, f.handler_function, f.is_file_handler, f.source)
        for name, f in functions.items()
    }
    assert spelt == {
        "redshift_batch_data_api": ("app", "handler", True, root / "functions" / "app.py"),
        "by-module": ("package.handlers", "run", False, root / "package" / "handlers.py"),
        "lambda_style": ("lambda_function", "lambda_handler", False, root / "lambda_function.py"),
        "package_itself": ("package", "go", False, root / "package" / "__init__.py"),
        "with_a_path": ("package.handlers", "run", False, root / "package" / "handlers.py"),
    }
    defaults = functions["by-module"]
    assert (defaults.timeout, defaults.memory, dict(defaults.environment)) == (3, 128, {})


FUNCTION = '[functions.f]\nhandler = "functions/app.py:handler"\n'
RESERVED = (
    r"functions\.f\.environment: Lambda was unable to configure your environment variables "
    r"because the environment variables you have provided contains reserved keys that are "
    r"currently not supported for modification\. Reserved keys used in this request: "
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("functions = 1\n", r"functions must hold tables"),
        (
            '[functions."bad name"]\nhandler = "functions/app.py:handler"\n',
            r"functions\.bad name: 'bad name' is not a function name Lambda accepts",
        ),
        (
            f'[functions.{"f" * 65}]\nhandler = "functions/app.py:handler"\n',
            r"is not a function name Lambda accepts \(1 to 64 letters",
        ),
        (FUNCTION + "runtime = 'python3.12'\n", r"unknown key 'functions\.f\.runtime'"),
        ("[functions.f]\ntimeout = 3\n", r"functions\.f\.handler must be a string: a file"),
        ("[functions.f]\nhandler = 3\n", r"functions\.f\.handler must be a string"),
        (
            '[functions.f]\nhandler = "functions/absent.py:handler"\n',
            r"functions\.f\.handler: no file functions/absent\.py in the project folder",
        ),
        (
            '[functions.f]\nhandler = "../outside.py:handler"\n',
            r"functions\.f\.handler: \.\./outside\.py is not inside the project folder",
        ),
        (
            '[functions.f]\nhandler = "functions/app.py:my-handler"\n',
            r"'my-handler' in 'functions/app\.py:my-handler' is not a function name",
        ),
        (
            '[functions.f]\nhandler = "functions/app.py"\n',
            r"'functions/app\.py' names a file but no function: write functions/app\.py:handler",
        ),
        ('[functions.f]\nhandler = "handler"\n', r"'handler' names no module"),
        (
            '[functions.f]\nhandler = "my-app.handler"\n',
            r"'my-app' is neither a Python module nor a file ending in \.py",
        ),
        (
            '[functions.f]\nhandler = "package/handlers:run"\n',
            r"'package/handlers' is neither a Python module",
        ),
        (
            '[functions.f]\nhandler = "absent.handler"\n',
            r"module 'absent' is not in the project folder "
            r"\(looked for absent\.py and absent/__init__\.py\)",
        ),
        (FUNCTION + "timeout = 0\n", r"functions\.f\.timeout must be a whole number from 1 to 900"),
        (FUNCTION + "timeout = 901\n", r"functions\.f\.timeout must be a whole number"),
        (FUNCTION + "timeout = 1.5\n", r"functions\.f\.timeout must be a whole number"),
        (FUNCTION + "timeout = true\n", r"functions\.f\.timeout must be a whole number"),
        (FUNCTION + "timeout = '3'\n", r"functions\.f\.timeout must be a whole number"),
        (FUNCTION + "memory = 127\n", r"functions\.f\.memory must be a whole number from 128"),
        (FUNCTION + "memory = 10241\n", r"functions\.f\.memory must be a whole number"),
        (FUNCTION + "environment = 1\n", r"functions\.f\.environment must map names to strings"),
        (FUNCTION + "environment = { A_B = 1 }\n", r"environment must map names to strings"),
        (
            FUNCTION + "environment = { 1A = 'x' }\n",
            r"functions\.f\.environment: '1A' is not a variable name Lambda accepts",
        ),
        (FUNCTION + "environment = { A = 'x' }\n", r"'A' is not a variable name Lambda accepts"),
        (FUNCTION + "environment = { AWS_REGION = 'x' }\n", RESERVED + "AWS_REGION$"),
        (
            FUNCTION + "environment = { LAMBDA_TASK_ROOT = 'x', AWS_SESSION_TOKEN = 'y' }\n",
            RESERVED + "AWS_SESSION_TOKEN, LAMBDA_TASK_ROOT$",
        ),
        (
            FUNCTION + f"environment = {{ BIG = '{'x' * 4096}' }}\n",
            r"functions\.f\.environment: Lambda was unable to configure your environment "
            r"variables because the environment variables you have provided exceeded the 4KB "
            r'limit\. String measured: \{"BIG":"xxx',
        ),
    ],
)
def test_bad_functions_name_the_file_and_the_key(tmp_path: Path, text: str, expected: str) -> None:
    project = tmp_path / "project"
    write_handlers(project)
    (tmp_path / "outside.py").write_text("def handler(event, context): ...\n")
    path = write_config(project, text)
    with pytest.raises(ProjectError, match=expected) as raised:
        load_project(project)
    assert str(path) in str(raised.value)
