"""The warehouse contract: what every backend promises the Data API, run on each backend.

The `warehouse` fixture parametrises these over DuckDB, PostgreSQL (skipped, with its reason,
when no server is configured) and Redshift through the Data API (a redstep endpoint over DuckDB,
so what DuckDB's engine decides, it decides there too: `engine_name`). Backend-specific checks
(URLs, file locks, each backend's error map) follow the contract.
"""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import duckdb
import psycopg
import pytest
from psycopg import errors as pg_errors

from redstep.warehouse import (
    Connection,
    QueryCancelled,
    Warehouse,
    WarehouseError,
    WarehouseOptions,
    WarehouseUnavailable,
    duckdb_errors,
    open_warehouse,
)
from redstep.warehouse import postgres as postgres_backend
from redstep.warehouse.dialect.script import ScriptError

LONG_QUERIES = {
    "duckdb": "select count(*) from range(10000000000)",
    "postgresql": "select pg_sleep(30)",
    # DuckDB counts a bare range in under a second, before the Data API's cancel could come:
    # the endpoint's DuckDB gets a filter to check on every row (minutes of work).
    "redshift": "select count(*) from range(100000000000) t(i) where i % 7 = 3",
}


@pytest.fixture
def session(connect: Callable[[], Connection]) -> Connection:
    return connect()


def count(connection: Connection, table: str) -> int:
    ((value,),) = connection.execute(f"select count(*) from {table}").rows
    assert isinstance(value, int)
    return value


# -- results and types --------------------------------------------------------------------------


def test_round_trip_keeps_values_and_names_redshift_types(session: Connection) -> None:
    session.execute(
        "create table typed (a int2, b int4, c int8, d numeric(10,2), e float8, f float4, "
        "g boolean, h varchar(20), i text, j date, k timestamp, l timestamptz)"
    )
    session.execute(
        "insert into typed values (1, 2, 3000000000, 12.34, 1.5, 2.5, true, 'hello', 'ab', "
        "'2024-01-02', '2024-01-02 03:04:05', '2024-01-02 03:04:05+00')"
    )
    result = session.execute("select * from typed")
    assert [c.name for c in result.columns] == list("abcdefghijkl")
    assert [c.type_name for c in result.columns] == [
        "int2", "int4", "int8", "numeric", "float8", "float4", "bool", "varchar", "varchar",
        "date", "timestamp", "timestamptz",
    ]  # fmt: skip
    numeric = result.columns[3]
    assert (numeric.precision, numeric.scale) == (10, 2)
    (row,) = result.rows
    assert row[:4] == (1, 2, 3000000000, Decimal("12.34"))
    assert row[4:8] == (1.5, 2.5, True, "hello")
    assert row[8] == "ab"
    assert row[9] == dt.date(2024, 1, 2)
    assert row[10] == dt.datetime(2024, 1, 2, 3, 4, 5)
    assert isinstance(row[11], dt.datetime)
    assert row[11].astimezone(dt.UTC) == dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.UTC)


def test_char_columns_report_char(
    engine_name: str, session: Connection, request: pytest.FixtureRequest
) -> None:
    if engine_name == "duckdb":
        request.applymarker(pytest.mark.xfail(reason="DuckDB has no CHAR type; it is VARCHAR"))
    session.execute("create table padded (code char(5))")
    session.execute("insert into padded values ('ab')")
    result = session.execute("select code from padded")
    assert [c.type_name for c in result.columns] == ["char"]
    assert list(result.rows) == [("ab   ",)]


def test_dml_reports_rows_affected_without_a_result_set(session: Connection) -> None:
    created = session.execute("create table counted (id int, v int)")
    assert not created.has_result_set
    inserted = session.execute("insert into counted values (1, 0), (2, 0), (3, 0)")
    assert (inserted.has_result_set, inserted.row_count) == (False, 3)
    updated = session.execute("update counted set v = 1 where id >= 2")
    assert (updated.has_result_set, updated.row_count) == (False, 2)
    deleted = session.execute("delete from counted where id = 1")
    assert (deleted.has_result_set, deleted.row_count) == (False, 1)
    selected = session.execute("select id from counted order by id")
    assert (selected.has_result_set, list(selected.rows)) == (True, [(2,), (3,)])


def test_integer_division_truncates(session: Connection) -> None:
    assert list(session.execute("select 7/2 as q").rows) == [(3,)]


# -- transactions -------------------------------------------------------------------------------


def test_auto_commit_is_visible_to_other_sessions(connect: Callable[[], Connection]) -> None:
    writer, reader = connect(), connect()
    writer.execute("create table seen (id int)")
    writer.execute("insert into seen values (1)")
    assert not writer.in_transaction
    assert count(reader, "seen") == 1


def test_explicit_transaction_rolls_back_and_commits(connect: Callable[[], Connection]) -> None:
    writer, reader = connect(), connect()
    writer.execute("create table tx (id int)")
    writer.begin()
    assert writer.in_transaction
    writer.execute("insert into tx values (1)")
    assert count(reader, "tx") == 0
    writer.rollback()
    assert not writer.in_transaction
    assert count(reader, "tx") == 0
    writer.begin()
    writer.execute("insert into tx values (2)")
    writer.commit()
    assert count(reader, "tx") == 1


def test_transaction_statements_in_sql_behave_as_on_redshift(session: Connection) -> None:
    session.execute("create table stmts (id int)")
    session.execute("commit")  # outside a transaction: no error
    session.execute("begin")
    session.execute("begin")  # already open: no error
    assert session.in_transaction
    session.execute("insert into stmts values (1)")
    session.execute("rollback")
    assert not session.in_transaction
    assert count(session, "stmts") == 0
    session.execute("start transaction")
    session.execute("insert into stmts values (2)")
    session.execute("end")
    assert not session.in_transaction
    session.execute("begin")
    session.execute("insert into stmts values (3)")
    session.execute("abort")
    assert list(session.execute("select id from stmts").rows) == [(2,)]


def test_truncate_commits_its_transaction(connect: Callable[[], Connection]) -> None:
    session, reader = connect(), connect()
    session.execute("create table kept (id int)")
    session.execute("create table emptied (id int)")
    session.execute("insert into emptied values (1), (2)")
    session.begin()
    session.execute("insert into kept values (1)")
    session.execute("truncate emptied")
    assert session.in_transaction  # later statements run in a new transaction
    session.execute("insert into kept values (2)")
    session.rollback()
    assert count(reader, "emptied") == 0  # the truncate was not undone
    assert list(reader.execute("select id from kept").rows) == [(1,)]  # committed by the truncate


def test_failed_statement_in_a_transaction_rolls_back_with_it(session: Connection) -> None:
    session.execute("create table failing (id int)")
    session.begin()
    session.execute("insert into failing values (1)")
    with pytest.raises(WarehouseError):
        session.execute("select * from missing_table")
    assert session.in_transaction
    session.rollback()
    assert count(session, "failing") == 0
    assert list(session.execute("select 1 as one").rows) == [(1,)]


def test_ignored_statements_return_no_result(warehouse: Warehouse, session: Connection) -> None:
    session.execute("create table maintained (id int)")
    assert session.execute("analyze maintained").has_result_set is False
    # The Data API reports ResultRows 0 for a statement that touched no rows.
    assert session.execute("vacuum").row_count == (0 if warehouse.name == "redshift" else -1)


# -- cancel -------------------------------------------------------------------------------------


def run_cancelled(connection: Connection, sql: str) -> float:
    """Run a long statement, cancelling it from another thread until it ends; return its time."""
    finished = threading.Event()

    def keep_cancelling() -> None:
        deadline = time.monotonic() + 20
        while not finished.wait(0.2) and time.monotonic() < deadline:
            connection.cancel()

    canceller = threading.Thread(target=keep_cancelling)
    canceller.start()
    started = time.monotonic()
    try:
        with pytest.raises(QueryCancelled):
            connection.execute(sql)
    finally:
        finished.set()
        canceller.join()
    return time.monotonic() - started


def test_cancel_interrupts_a_running_query(warehouse: Warehouse, session: Connection) -> None:
    assert warehouse.capabilities.supports_cancel
    assert run_cancelled(session, LONG_QUERIES[warehouse.name]) < 5
    assert list(session.execute("select 1 as one").rows) == [(1,)]


def test_cancel_inside_a_transaction_rolls_it_back(
    warehouse: Warehouse, session: Connection
) -> None:
    session.execute("create table cancelled (id int)")
    session.begin()
    session.execute("insert into cancelled values (1)")
    run_cancelled(session, LONG_QUERIES[warehouse.name])
    assert not session.in_transaction
    assert count(session, "cancelled") == 0


def test_cancel_ends_a_wait_for_another_writer(connect: Callable[[], Connection]) -> None:
    holder, waiter = connect(), connect()
    holder.execute("create table held (v int)")
    holder.execute("insert into held values (0)")
    holder.begin()
    holder.execute("update held set v = 1")
    assert run_cancelled(waiter, "update held set v = 2") < 5
    holder.commit()
    assert list(waiter.execute("select v from held").rows) == [(1,)]


# -- concurrency --------------------------------------------------------------------------------


def run_in_threads(work: Callable[[], None], threads: int) -> list[BaseException]:
    errors: list[BaseException] = []

    def guarded() -> None:
        try:
            work()
        except BaseException as error:
            errors.append(error)

    workers = [threading.Thread(target=guarded) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=50)
    assert not any(worker.is_alive() for worker in workers)
    return errors


def test_transactions_writing_the_same_table_both_succeed(
    connect: Callable[[], Connection],
) -> None:
    setup = connect()
    setup.execute("create table contended (id int, v int)")
    setup.execute("insert into contended values (1, 0)")
    sessions = iter([connect(), connect()])
    lock = threading.Lock()

    def write() -> None:
        with lock:
            connection = next(sessions)
        connection.begin()
        connection.execute("update contended set v = v + 1 where id = 1")
        time.sleep(0.2)  # hold the write so that the other transaction overlaps it
        connection.execute("insert into contended values (2, 0)")
        connection.commit()

    assert run_in_threads(write, 2) == []
    assert list(setup.execute("select v from contended where id = 1").rows) == [(2,)]
    assert count(setup, "contended") == 3


def test_writers_of_different_tables_do_not_wait_for_each_other(
    connect: Callable[[], Connection],
) -> None:
    setup = connect()
    setup.execute("create table first_dimension (v int)")
    setup.execute("create table second_dimension (v int)")
    setup.execute("insert into first_dimension values (0)")
    reader, first, second = connect(), connect(), connect()
    reader.begin()
    reader.execute("select count(*) from second_dimension")  # an idle reader blocks no one
    first.begin()
    first.execute("update first_dimension set v = 1")
    finished = threading.Event()

    def write_second() -> None:
        second.begin()
        second.execute("insert into second_dimension values (1)")
        second.commit()
        finished.set()

    writer = threading.Thread(target=write_second)
    writer.start()
    assert finished.wait(10), "a writer of another table waited for an open transaction"
    writer.join()
    first.commit()
    reader.commit()
    assert list(setup.execute("select v from first_dimension").rows) == [(1,)]
    assert list(setup.execute("select v from second_dimension").rows) == [(1,)]


def test_auto_commit_writers_of_one_row_all_succeed(connect: Callable[[], Connection]) -> None:
    setup = connect()
    setup.execute("create table counter (id int, v int)")
    setup.execute("insert into counter values (1, 0)")
    holder = connect()
    holder.begin()
    holder.execute("update counter set v = v + 100 where id = 1")
    sessions = iter([connect() for _ in range(4)])
    lock = threading.Lock()

    def write() -> None:
        with lock:
            connection = next(sessions)
        for _ in range(5):
            connection.execute("update counter set v = v + 1 where id = 1")

    release = threading.Timer(0.3, holder.commit)
    release.start()
    errors = run_in_threads(write, 4)
    release.join()
    assert errors == []
    assert list(setup.execute("select v from counter").rows) == [(120,)]


def test_temp_tables_belong_to_their_session(connect: Callable[[], Connection]) -> None:
    owner, other = connect(), connect()
    owner.execute("create temp table scratch (id int)")
    owner.execute("insert into scratch values (1)")
    assert count(owner, "scratch") == 1
    with pytest.raises(WarehouseError, match='relation "scratch" does not exist'):
        other.execute("select * from scratch")


def test_each_session_has_its_own_stable_pid(connect: Callable[[], Connection]) -> None:
    first, second = connect(), connect()
    for connection in (first, second):  # a Data API session has a pid once it has run something
        connection.execute("select 1 as one")
    pid = first.backend_pid
    first.execute("select 2 as two")
    assert first.backend_pid == pid != 0
    assert pid != second.backend_pid


# -- parameters ---------------------------------------------------------------------------------


def test_string_parameters_compare_with_typed_columns(session: Connection) -> None:
    session.execute("create table params (id int, run_date date, name varchar(10))")
    session.execute(
        "insert into params values (:id, :run_date, :name)",
        {"id": "3", "run_date": "2024-01-02", "name": "y"},
    )
    session.execute("insert into params values (4, '2024-01-03', 'x')")
    by_id = session.execute("select run_date, name from params where id = :id", {"id": "3"})
    assert list(by_id.rows) == [(dt.date(2024, 1, 2), "y")]
    by_date = session.execute(
        "select id from params where run_date = :run_date", {"run_date": "2024-01-03"}
    )
    assert list(by_date.rows) == [(4,)]


def test_a_null_parameter_binds_null_where_the_wire_can_carry_it(
    warehouse: Warehouse, session: Connection
) -> None:
    session.execute("create table nulls (id int, name varchar(10))")
    insert = "insert into nulls values (:id, :name)"
    if warehouse.name == "redshift":  # a SqlParameter's value is a non-empty string
        with pytest.raises(WarehouseError, match="parameter :name is NULL"):
            session.execute(insert, {"id": "1", "name": None})
        return
    session.execute(insert, {"id": "1", "name": None})
    assert list(session.execute("select id, name from nulls").rows) == [(1, None)]


def test_a_colon_name_inside_a_literal_is_not_a_parameter(session: Connection) -> None:
    result = session.execute("select ':id' as literal, :id as bound, '50%' as pct", {"id": "7"})
    assert list(result.rows) == [(":id", "7", "50%")]


def test_a_missing_parameter_is_an_error(session: Connection) -> None:
    with pytest.raises(WarehouseError, match="id"):
        session.execute("select :id as bound", {})


# -- errors -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sql", "message"),
    [
        ("select 1/0", "division by zero"),
        ("select 1/count(1) from empty_table", "division by zero"),
        ("select * from no_such_table", 'relation "no_such_table" does not exist'),
        ("select no_such_column from empty_table", 'column "no_such_column" does not exist'),
        ("selec 1", 'syntax error at or near "selec"'),
        (
            "insert into empty_table (name) values ('x')",
            'null value in column "id" of relation "empty_table" violates not-null constraint',
        ),
    ],
)
def test_errors_read_as_redshift_words_them(session: Connection, sql: str, message: str) -> None:
    session.execute("create table empty_table (id int not null, name varchar(10))")
    with pytest.raises(WarehouseError) as raised:
        session.execute(sql)
    assert str(raised.value) == message
    assert not str(raised.value).startswith("ERROR")


# -- COPY and UNLOAD ----------------------------------------------------------------------------


def test_copy_and_unload_go_through_the_buckets(
    session: Connection, buckets: dict[str, Path]
) -> None:
    folder = buckets["test-bucket"]
    (folder / "in").mkdir()
    (folder / "in" / "part-0.csv").write_text("id,name\n1,a\n2,b\n")
    session.execute("create table loaded (id int, name varchar(10))")
    copied = session.execute(
        "copy loaded from 's3://test-bucket/in/' iam_role 'arn:aws:iam::1:role/r' "
        "format as csv ignoreheader 1"
    )
    assert copied.row_count == 2
    assert list(session.execute("select id, name from loaded order by id").rows) == [
        (1, "a"),
        (2, "b"),
    ]
    session.execute(
        "unload ('select id from loaded order by id') to 's3://test-bucket/out/part_' "
        "iam_role 'arn:aws:iam::1:role/r' format as csv parallel off"
    )
    written = [path for path in folder.rglob("*") if "out" in path.parts and path.is_file()]
    assert written
    assert "2" in written[0].read_text()


# -- catalog ------------------------------------------------------------------------------------


def test_catalog_lists_databases_schemas_tables(warehouse: Warehouse, session: Connection) -> None:
    session.execute("create table public.listed (id int not null, amount numeric(12,3))")
    session.execute("create view listed_view as select id from listed")
    session.execute("create schema other")
    session.execute("create table other.elsewhere (id int)")
    database = warehouse.database
    assert database in warehouse.list_databases()
    schemas = warehouse.list_schemas(database)
    assert {"public", "information_schema", "pg_catalog", "other"} <= set(schemas)
    tables = [(t.schema, t.name, t.type) for t in warehouse.list_tables(database)]
    assert tables == [
        ("other", "elsewhere", "TABLE"),
        ("public", "listed", "TABLE"),
        ("public", "listed_view", "VIEW"),
    ]
    assert [t.name for t in warehouse.list_tables(database, "other")] == ["elsewhere"]
    assert warehouse.list_schemas("no_such_database") == []


def test_describe_table_gives_columns_in_order(warehouse: Warehouse, session: Connection) -> None:
    session.execute(
        "create table described (id int not null, amount numeric(12,3), name varchar(30), "
        "created date default '2024-01-01')"
    )
    columns = warehouse.describe_table(warehouse.database, "public", "described")
    assert [(c.name, c.type_name, c.nullable) for c in columns] == [
        ("id", "int4", False),
        ("amount", "numeric", True),
        ("name", "varchar", True),
        ("created", "date", True),
    ]
    assert (columns[1].precision, columns[1].scale) == (12, 3)
    assert columns[3].default is not None
    assert "2024-01-01" in columns[3].default
    assert warehouse.describe_table(warehouse.database, "public", "no_such_table") == []


# -- DuckDB specifics ---------------------------------------------------------------------------


def test_duckdb_relative_url_creates_folders_under_the_root(tmp_path: Path) -> None:
    warehouse = open_warehouse("duckdb:///state/data/w.duckdb", WarehouseOptions(root=tmp_path))
    try:
        assert warehouse.database == "dev"
        assert (tmp_path / "state" / "data" / "w.duckdb").exists()
    finally:
        warehouse.close()


def test_duckdb_auto_commit_retries_a_lost_write_conflict() -> None:
    warehouse = open_warehouse("duckdb:///:memory:")
    try:
        holder, writer = warehouse.connect(), warehouse.connect()
        holder.execute("create table retried (v int)")
        holder.execute("insert into retried values (0)")
        holder.begin()
        holder.execute("update retried set v = v + 100")
        release = threading.Timer(0.3, holder.commit)
        release.start()
        writer.execute("update retried set v = v + 1")  # conflicts until the holder commits
        release.join()
        assert list(writer.execute("select v from retried").rows) == [(101,)]
    finally:
        warehouse.close()


def test_duckdb_replays_a_transaction_that_lost_a_write_conflict() -> None:
    warehouse = open_warehouse("duckdb:///:memory:")
    try:
        holder, writer = warehouse.connect(), warehouse.connect()
        holder.execute("create table ledger (id int, v int)")
        holder.execute("create table audit (note varchar(20))")
        holder.execute("insert into ledger values (1, 0)")
        holder.begin()
        holder.execute("update ledger set v = v + 100 where id = 1")
        writer.begin()
        writer.execute("insert into audit values ('before')")
        release = threading.Timer(0.3, holder.commit)
        release.start()
        writer.execute("update ledger set v = v + 1 where id = 1")  # replays the insert first
        writer.commit()
        release.join()
        assert list(writer.execute("select v from ledger").rows) == [(101,)]
        assert list(writer.execute("select note from audit").rows) == [("before",)]
    finally:
        warehouse.close()


def test_duckdb_streams_rows_and_reports_an_error_in_a_late_one() -> None:
    """DuckDB hands rows over as they are read: a query whose 900,001st row fails to cast returns
    from `execute`, yields rows, then fails in Redshift's words."""
    warehouse = open_warehouse("duckdb:///:memory:")
    # One thread runs the query, and only as far as its result buffer allows (about 100,000 rows
    # ahead of the reader): a worker thread of its own may run ahead to the failing row before
    # any row is handed over (seen in CI). DuckDB's own setting, set past the session, whose
    # Redshift SQL has no `threads` to set.
    with warehouse.open_cursor() as cursor:
        cursor.execute("SET threads = 1")
    session = warehouse.connect()
    assert list(session.execute("select current_setting('threads') as t").rows) == [(1,)]
    result = session.execute(
        "select (case when i = 900000 then 'x' else i::varchar end)::int as n "
        "from range(1000000) t(i)"
    )
    read: list[object] = []
    with pytest.raises(WarehouseError, match='invalid input syntax for type integer: "x"'):
        read.extend(row[0] for row in result.rows)
    assert 0 < len(read) < 1000000
    assert list(session.execute("select 1 as one").rows) == [(1,)]  # the session goes on
    warehouse.close()


def test_duckdb_a_cancel_while_rows_are_read_rolls_the_transaction_back() -> None:
    """As a cancel during the query's run does (Redshift aborts the transaction), so that the
    session goes on rather than finding DuckDB's transaction aborted."""
    warehouse = open_warehouse("duckdb:///:memory:")
    session = warehouse.connect()
    session.execute("create table kept (id int)")
    session.begin()
    session.execute("insert into kept values (1)")
    rows = iter(session.execute("select i from range(10000000) t(i)").rows)
    next(rows)
    session.cancel()
    with pytest.raises(QueryCancelled):
        sum(1 for _ in rows)
    assert not session.in_transaction
    assert list(session.execute("select count(*) from kept").rows) == [(0,)]
    warehouse.close()


def test_duckdb_memory_database_is_shared_by_sessions() -> None:
    warehouse = open_warehouse("duckdb:///:memory:")
    try:
        first, second = warehouse.connect(), warehouse.connect()
        first.execute("create table shared (id int)")
        first.execute("insert into shared values (1)")
        assert count(second, "shared") == 1
    finally:
        warehouse.close()


def test_duckdb_file_held_by_another_process_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "held.duckdb"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import duckdb, sys; c = duckdb.connect({str(path)!r}); print('ready', flush=True); "
            "sys.stdin.read()",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "ready"
        with pytest.raises(WarehouseUnavailable) as raised:
            open_warehouse(f"duckdb:///{path}")
        assert str(path) in str(raised.value)
        assert "another redstep process" in str(raised.value)
        assert "lock" not in str(raised.value).lower()
    finally:
        holder.communicate("", timeout=20)


@pytest.mark.parametrize(
    ("error", "expected_type", "message", "sqlstate"),
    [
        (duckdb.InterruptException("INTERRUPT Error: Interrupted!"), QueryCancelled,
         "Query cancelled on user's request", "57014"),
        (ScriptError('unterminated quoted string at or near "\'x"'), ScriptError,
         'unterminated quoted string at or near "\'x"', "42601"),
        (duckdb.IOException('IO Error: Could not set lock on file "/p/w.duckdb": Conflicting '
                            "lock is held in /usr/bin/python (PID 42). See also https://x"),
         WarehouseUnavailable,
         "the DuckDB file /p/w.duckdb is in use by another redstep process (PID 42); stop that "
         "process, or send work to it through the endpoint it recorded in .redstep/", "55006"),
        (duckdb.ConnectionException("Connection Error: Connection already closed!"),
         WarehouseUnavailable,
         "the DuckDB database is unavailable: Connection already closed", "08006"),
        (duckdb.InvalidInputException("Invalid Input Error: Division by zero in expression "
                                      "(1 // 0). Use TRY(...)"),
         WarehouseError, "division by zero", "22012"),
        (duckdb.CatalogException('Catalog Error: Table with name nope does not exist!\nDid you'),
         WarehouseError, 'relation "nope" does not exist', "42P01"),
        (duckdb.CatalogException('Catalog Error: Table with name "public.nope" does not exist '
                                 'because schema "public" does not exist.'),
         WarehouseError, 'relation "public.nope" does not exist', "42P01"),
        (duckdb.CatalogException("Catalog Error: View with name v does not exist!"),
         WarehouseError, 'relation "v" does not exist', "42P01"),
        (duckdb.CatalogException('Catalog Error: Table with name "t" already exists!'),
         WarehouseError, 'relation "t" already exists', "42P07"),
        (duckdb.CatalogException("Catalog Error: Schema with name nope does not exist!"),
         WarehouseError, 'schema "nope" does not exist', "3F000"),
        (duckdb.CatalogException("Catalog Error: Scalar Function with name foo does not exist!"),
         WarehouseError, "function foo does not exist", "42883"),
        (duckdb.BinderException('Binder Error: Referenced column "zz" not found in FROM clause!'),
         WarehouseError, 'column "zz" does not exist', "42703"),
        (duckdb.BinderException('Binder Error: Table "t" does not have a column with name "zz"'),
         WarehouseError, 'column "zz" of relation "t" does not exist', "42703"),
        (duckdb.ParserException('Parser Error: syntax error at or near "selec"\n\nLINE 1: selec'),
         WarehouseError, 'syntax error at or near "selec"', "42601"),
        (duckdb.ParserException("Parser Error: syntax error at end of input"),
         WarehouseError, "syntax error at end of input", "42601"),
        (duckdb.ConstraintException("Constraint Error: NOT NULL constraint failed: t.a"),
         WarehouseError,
         'null value in column "a" of relation "t" violates not-null constraint', "23502"),
        (duckdb.ConversionException("Conversion Error: Could not convert string 'x' to INT32"),
         WarehouseError, 'invalid input syntax for type integer: "x"', "22P02"),
        (duckdb.TransactionException("TransactionContext Error: Current transaction is aborted "
                                     "(please ROLLBACK)"),
         WarehouseError,
         "current transaction is aborted, commands ignored until end of transaction block",
         "25P02"),
        (duckdb.TransactionException("TransactionContext Error: Conflict on update!"),
         WarehouseError, "could not serialize access due to concurrent update", "40001"),
        (duckdb.OutOfRangeException("Out of Range Error: Overflow in addition of INT32 (1 + 2)!"),
         WarehouseError, "integer out of range", "22003"),
        (duckdb.OutOfRangeException("Out of Range Error: Overflow in multiplication of INT64!"),
         WarehouseError, "bigint out of range", "22003"),
        (duckdb.ConversionException("Conversion Error: Type INT32 with value 70000 can't be cast "
                                    "because the value is out of range for the destination type "
                                    "INT16"),
         WarehouseError, "smallint out of range", "22003"),
        (duckdb.ConversionException("Conversion Error: Could not cast value 123456 to "
                                    "DECIMAL(5,2)"),
         WarehouseError, "numeric field overflow", "22003"),
        (duckdb.ConversionException('Conversion Error: Casting value "12345.67" to type '
                                    "DECIMAL(5,2) failed: value is out of range!"),
         WarehouseError, "numeric field overflow", "22003"),
        (duckdb.ConversionException('Conversion Error: Could not convert string "abc" to '
                                    "DECIMAL(5,2)"),
         WarehouseError, 'invalid input syntax for type numeric: "abc"', "22P02"),
        (duckdb.ConstraintException('Constraint Error: CHECK constraint failed on table "t" with '
                                    "expression CHECK(CASE  WHEN ((strlen(v) > 256)) THEN "
                                    "(\"error\"('value too long for type character varying(256)'))"
                                    " ELSE true END) (Error: value too long for type character "
                                    "varying(256))"),
         WarehouseError, "value too long for type character varying(256)", "22001"),
        (duckdb.InvalidInputException("Invalid Input Error: something unforeseen!"),
         WarehouseError, "something unforeseen", None),
    ],
)  # fmt: skip
def test_duckdb_error_map(
    error: BaseException, expected_type: type[WarehouseError], message: str, sqlstate: str | None
) -> None:
    mapped = duckdb_errors.map_error(error)
    assert type(mapped) is expected_type
    assert (mapped.message, mapped.sqlstate) == (message, sqlstate)


def test_duckdb_error_map_passes_warehouse_errors_through() -> None:
    error = WarehouseError("already mapped")
    assert duckdb_errors.map_error(error) is error


# -- PostgreSQL specifics -----------------------------------------------------------------------


def test_postgres_unreachable_server_is_unavailable() -> None:
    with pytest.raises(WarehouseUnavailable, match="PostgreSQL is unavailable"):
        open_warehouse("postgresql://postgres@127.0.0.1:1/nothing")


@pytest.mark.parametrize(
    ("error", "expected_type", "message", "sqlstate"),
    [
        (pg_errors.QueryCanceled("canceling statement due to user request"), QueryCancelled,
         "Query cancelled on user's request", "57014"),
        (ScriptError('unterminated quoted string at or near "\'x"'), ScriptError,
         'unterminated quoted string at or near "\'x"', "42601"),
        (psycopg.OperationalError("connection failed: refused\nmore"), WarehouseUnavailable,
         "PostgreSQL is unavailable: connection failed: refused", None),
        (pg_errors.AdminShutdown("terminating connection"), WarehouseUnavailable,
         "PostgreSQL is unavailable: terminating connection", "57P01"),
        (psycopg.InterfaceError("the connection is closed"), WarehouseUnavailable,
         "PostgreSQL is unavailable: the connection is closed", None),
        (pg_errors.DivisionByZero("division by zero"), WarehouseError, "division by zero",
         "22012"),
        (pg_errors.UndefinedTable('relation "x" does not exist'), WarehouseError,
         'relation "x" does not exist', "42P01"),
        (ValueError("odd"), WarehouseError, "odd", None),
    ],
)  # fmt: skip
def test_postgres_error_map(
    error: BaseException, expected_type: type[WarehouseError], message: str, sqlstate: str | None
) -> None:
    mapped = postgres_backend.map_error(error)
    assert type(mapped) is expected_type
    assert (mapped.message, mapped.sqlstate) == (message, sqlstate)


def test_postgres_error_map_keeps_the_primary_message(postgres_url: str) -> None:
    with psycopg.connect(postgres_url) as connection, pytest.raises(psycopg.Error) as raised:
        connection.execute("select 1/0")
    mapped = postgres_backend.map_error(raised.value)
    assert (mapped.message, mapped.sqlstate) == ("division by zero", "22012")


def test_settings_answer_without_a_result_set(session: Connection) -> None:
    result = session.execute("set search_path to public")
    assert not result.has_result_set
    assert list(session.execute("select 1 as one").rows) == [(1,)]
