"""REDSHIFT.md: DDL that has no local meaning, constraints, types, identifiers, DDL forms."""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal

import pytest

from redstep.warehouse.base import Warehouse, WarehouseError

Run = Callable[..., list[tuple[object, ...]]]


def test_column_encode_is_accepted_and_ignored(run: Run) -> None:
    rows = run(
        "create table t (a int encode az64, b varchar(10) encode zstd, c int encode raw,"
        " d date encode delta, e char(2) encode bytedict, f bigint encode mostly8)",
        "insert into t (a, b) values (1, 'x')",
        "select a, b from t",
    )
    assert rows == [(1, "x")]


@pytest.mark.parametrize(
    "clauses",
    [
        "diststyle all",
        "diststyle even",
        "diststyle key distkey(a)",
        "diststyle auto",
        "distkey(a) sortkey(a, b)",
        "compound sortkey(a, b)",
        "interleaved sortkey(a, b)",
        "sortkey auto",
        "backup no",
        "backup yes diststyle key distkey (a) compound sortkey (b)",
    ],
)
def test_table_distribution_sort_and_backup_clauses_are_ignored(run: Run, clauses: str) -> None:
    rows = run(
        f"create table t (a int, b int) {clauses}",
        "insert into t values (1, 2)",
        "select a, b from t",
    )
    assert rows == [(1, 2)]


def test_column_distkey_and_sortkey_are_ignored(run: Run) -> None:
    rows = run(
        "create table t (a int not null distkey, b int sortkey, sortkey int)",
        "insert into t values (1, 2, 3)",
        "select a, b, sortkey from t",
    )
    assert rows == [(1, 2, 3)]


def test_create_table_as_with_storage_clauses(run: Run) -> None:
    rows = run("create table t diststyle all sortkey(a) as select 1 as a", "select a from t")
    assert rows == [(1,)]


@pytest.mark.parametrize(
    "statement",
    [
        "analyze",
        "analyze t",
        "analyze compression t",
        "vacuum",
        "vacuum t",
        "vacuum delete only t to 75 percent",
        "vacuum full t boost",
        "vacuum sort only t",
    ],
)
def test_analyze_and_vacuum_are_accepted(run: Run, statement: str) -> None:
    assert run("create table t (a int)", statement, "select count(*) from t") == [(0,)]


def test_primary_key_unique_and_foreign_key_are_informational(run: Run) -> None:
    rows = run(
        "create table item (item int, ticket int, primary key (item, ticket))",
        "create table other (id int primary key, code varchar(5) unique,"
        " item int references item(item), unique (code),"
        " foreign key (item) references item (item))",
        "insert into item values (1, 10), (1, 10)",
        "insert into other values (1, 'a', 99), (1, 'a', 99)",
        "alter table item add constraint item_pk primary key (item)",
        "alter table other add unique (code)",
        "insert into item values (1, 10)",
        "select (select count(*) from item), (select count(*) from other)",
    )
    assert rows == [(3, 2)]


def test_not_null_is_enforced(run: Run) -> None:
    run("create table t (a int not null primary key)")
    with pytest.raises(WarehouseError, match=r"(?i)null"):
        run("insert into t values (null)")


def test_redshift_types_are_usable_in_ddl_and_casts(run: Run) -> None:
    rows = run(
        "create table t (a int2, b int4, c int8, d float4, e float8, f bpchar(3), g text,"
        " h numeric(10, 2), i decimal(5, 1), j date, k timestamp, l timestamptz, m boolean,"
        " n super, o char(4), p varchar(20), q smallint, r bigint, s double precision, u real)",
        "insert into t (a, b, c, d, e, f, g, h, i, j, k, m, o, p) values (1, 2, 3, 1.5, 2.5, 'ab',"
        " 'txt', 12.345, 1.25, '2024-02-29', '2024-02-29 10:11:12', true, 'x', 'y')",
        "select a, b, c, d, e, g, h, j, cast(k as varchar), m, p from t",
    )
    assert rows[0][:3] == (1, 2, 3)
    assert rows[0][3:5] == (1.5, 2.5)
    assert rows[0][5] == "txt"
    assert rows[0][6] == Decimal("12.35")
    assert str(rows[0][7]) == "2024-02-29"
    assert rows[0][8] == "2024-02-29 10:11:12"
    assert rows[0][9:] == (True, "y")
    casts = run(
        "select cast('7' as int2) + cast('1' as int8), cast('1.5' as float4) * 2,"
        " cast(3 as float8) / 2, cast('x' as bpchar(2)) = 'x', cast(5 as text),"
        " cast('1.5' as numeric(4, 1)), cast('1.5' as decimal(4, 1)), cast('2024-01-02' as date),"
        " cast(1 as boolean)"
    )
    assert casts == [(8, 3.0, 1.5, True, "5", Decimal("1.5"), Decimal("1.5"), casts[0][7], True)]
    assert str(casts[0][7]) == "2024-01-02"


def test_text_is_varchar_256(run: Run) -> None:
    run("create table t (a text)", "insert into t values ('" + "x" * 256 + "')")
    assert run("select len(a) from t") == [(256,)]


def test_unquoted_and_quoted_identifiers_fold_to_lower_case(run: Run, connection: object) -> None:
    rows = run(
        'create table MyTable (MyCol int, "Other" int)',
        "insert into mytable values (1, 2)",
        'select MYCOL, "OTHER", mycol as Alias from MYTABLE',
    )
    assert rows == [(1, 2, 1)]
    from redstep.warehouse.base import Connection

    assert isinstance(connection, Connection)
    columns = connection.execute('select 1 as "UpperName", 2 as Mixed').columns
    assert [c.name for c in columns] == ["uppername", "mixed"]


def test_default_schema_is_public_and_search_path_works(run: Run) -> None:
    rows = run(
        "create table t (a int)",
        "insert into public.t values (1)",
        "create schema etl",
        "create table etl.s (b int)",
        "insert into etl.s values (2)",
        "set search_path to etl, public",
        "select (select a from t), (select b from s)",
    )
    assert rows == [(1, 2)]


def test_identity_columns_count_from_seed_by_step(run: Run) -> None:
    rows = run(
        "create table t (id int identity(10, 5), name varchar(10))",
        "insert into t (name) values ('a')",
        "insert into t (name) values ('b')",
        "select id, name from t order by id",
    )
    assert rows == [(10, "a"), (15, "b")]
    again = run(
        "drop table t",
        "create table t (id bigint identity(1, 1), name varchar(10))",
        "insert into t (name) values ('c')",
        "select id from t",
    )
    assert again == [(1,)]


def test_create_table_like(run: Run) -> None:
    rows = run(
        "create table s (a int, b varchar(5))",
        "insert into s values (1, 'x')",
        "create table t (like s)",
        "insert into t values (2, 'y')",
        "select * from t",
    )
    assert rows == [(2, "y")]


def test_create_table_as(run: Run) -> None:
    rows = run("create table s as select 1 as a, 'x' as b", "select a, b from s")
    assert rows == [(1, "x")]


def test_create_temp_table_and_hash_temp_tables(run: Run) -> None:
    rows = run(
        "create temp table staging (a int)",
        "create table #work (a int identity(1, 1), b int)",
        "insert into staging values (5)",
        "insert into #work (b) select a from staging",
        "select #work.a, b from #work",
    )
    assert rows == [(1, 5)]
    assert run("select count(*) from work") == [(1,)]


@pytest.mark.parametrize("target", ["#work", "temp work", "temporary work", "temporary table work"])
def test_select_into_a_temporary_table_is_not_seen_by_other_sessions(
    warehouse: Warehouse, target: str
) -> None:
    mine, other = warehouse.connect(), warehouse.connect()
    try:
        mine.execute(f"select 1 as a into {target}")
        assert list(mine.execute("select a from work").rows) == [(1,)]
        other.execute("create table work (b int)")
        assert list(other.execute("select count(*) from work").rows) == [(0,)]
    finally:
        mine.close()
        other.close()


def test_select_into_a_plain_name_makes_a_permanent_table(warehouse: Warehouse) -> None:
    mine, other = warehouse.connect(), warehouse.connect()
    try:
        mine.execute("select 1 as a into work")
        assert list(other.execute("select a from work").rows) == [(1,)]
    finally:
        mine.close()
        other.close()


def test_storage_words_in_string_defaults_stay(run: Run) -> None:
    rows = run(
        "create table d1 (a varchar(10) default 'backup', b int)",
        "create table d2 (a varchar(10) default 'distkey' not null encode zstd, b int) sortkey(b)",
        "create table d3 (a varchar(10) default 'sortkey', b int default 1 distkey)",
        "insert into d1 (b) values (1)",
        "insert into d2 (b) values (2)",
        "insert into d3 (b) values (3)",
        "select d1.a, d2.a, d3.a, d3.b from d1, d2, d3",
    )
    assert rows == [("backup", "distkey", "sortkey", 3)]


def test_max_lengths(run: Run) -> None:
    rows = run(
        "create table t (a varchar(max), b character varying(MAX), c varbyte(max), d varbyte(8))",
        "insert into t (a, b, d) values ('" + "x" * 300 + "', 'y', null)",
        "select len(a), b, cast(b as varchar(max)), c, d from t",
    )
    assert rows == [(300, "y", "y", None, None)]


@pytest.mark.parametrize(
    "statement",
    [
        "alter table t alter distkey a",
        "alter table t alter sortkey (a, b)",
        "alter table t alter compound sortkey (a)",
        "alter table t alter sortkey auto",
        "alter table t alter sortkey none",
        "alter table t alter diststyle all",
        "alter table t alter diststyle even",
        "alter table t alter diststyle key distkey b",
        "alter table t alter diststyle auto",
        "alter table t alter column a encode zstd",
        "alter table t alter column b encode az64, alter column a encode lzo",
        "alter table t alter encode auto",
    ],
)
def test_alter_table_storage_forms_are_accepted_and_ignored(run: Run, statement: str) -> None:
    rows = run(
        "create table t (a int, b int)", statement, "insert into t values (1, 2)", "select * from t"
    )
    assert rows == [(1, 2)]


@pytest.mark.parametrize(
    ("declared", "length", "type_name"),
    [
        ("text", 256, "character varying(256)"),
        ("varchar", 256, "character varying(256)"),
        ("varchar(5)", 5, "character varying(5)"),
        ("character varying(5)", 5, "character varying(5)"),
        ("char(3)", 3, "character(3)"),
    ],
)
def test_declared_string_lengths_are_enforced(
    run: Run, declared: str, length: int, type_name: str
) -> None:
    run(f"create table t (v {declared}, n int)", f"insert into t values ('{'x' * length}', 1)")
    with pytest.raises(WarehouseError, match=rf"value too long for type {re.escape(type_name)}"):
        run(f"insert into t values ('{'x' * (length + 1)}', 2)")
    with pytest.raises(WarehouseError, match="value too long"):
        run("update t set v = v || 'y'")
    assert run("select count(*) from t") == [(1,)]


def test_a_300_character_value_does_not_fit_a_text_column(run: Run) -> None:
    run("create table t (a text)")
    with pytest.raises(WarehouseError, match="value too long"):
        run("insert into t values ('" + "x" * 300 + "')")


def test_length_checks_leave_create_as_and_like_alone(run: Run) -> None:
    rows = run(
        "create table s (v varchar(3) not null, n int)",
        "insert into s values ('abc', 1)",
        "create table c as select v, v || 'long' as w from s",
        "create table l (like s)",
        "insert into l select * from s",
        "select (select w from c), (select v from l)",
    )
    assert rows == [("abclong", "abc")]
