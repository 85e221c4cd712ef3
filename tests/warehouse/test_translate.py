"""translate: classification, parameters, and golden Redshift → DuckDB / PostgreSQL pairs."""

from __future__ import annotations

from pathlib import Path

import pytest

from redstep.warehouse.base import WarehouseError
from redstep.warehouse.dialect import (
    StatementKind,
    Target,
    session_setup,
    translate,
    translator,
)
from redstep.warehouse.dialect.script import tokenize
from redstep.warehouse.dialect.translate import replace_parameters

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.mark.parametrize(
    ("statement", "kind"),
    [
        ("begin", StatementKind.BEGIN),
        ("BEGIN TRANSACTION", StatementKind.BEGIN),
        ("start transaction", StatementKind.BEGIN),
        ("commit", StatementKind.COMMIT),
        ("end", StatementKind.COMMIT),
        ("END TRANSACTION", StatementKind.COMMIT),
        ("rollback", StatementKind.ROLLBACK),
        ("abort", StatementKind.ROLLBACK),
        ("analyze t", StatementKind.IGNORED),
        ("analyze compression t", StatementKind.IGNORED),
        ("vacuum delete only t to 75 percent", StatementKind.IGNORED),
        ("set query_group to 'etl'", StatementKind.IGNORED),
        ("truncate t", StatementKind.TRUNCATE),
        ("select 1", StatementKind.QUERY),
        ("-- comment only", StatementKind.IGNORED),
        ("alter table etl.t alter diststyle key distkey c", StatementKind.IGNORED),
        ("alter table t alter column c encode zstd", StatementKind.IGNORED),
        ("alter table t alter encode auto", StatementKind.IGNORED),
        ("alter table t alter column c type varchar(20)", StatementKind.QUERY),
        ("alter table t add column sortkey int", StatementKind.QUERY),
        ("alter table t alter column c encode zstd, add column d int", StatementKind.QUERY),
    ],
)
@pytest.mark.parametrize("target", list(Target))
def test_statement_kinds(statement: str, kind: StatementKind, target: Target) -> None:
    assert translate(statement, target).kind == kind


def test_parameters_in_target_style() -> None:
    statement = "select :a as a, :b as b, :a as c, ':c' as d, x::int as f, '%' as e -- :d"
    duck = translate(statement, Target.DUCKDB)
    pg = translate(statement, Target.POSTGRES)
    assert duck.parameter_names == pg.parameter_names == ("a", "b")
    assert duck.statements == (
        "SELECT $a AS a, $b AS b, $a AS c, ':c' AS d, CAST(x AS INT) AS f, '%' AS e /* :d */",
    )
    assert pg.statements == (
        "SELECT %(a)s AS a, %(b)s AS b, %(a)s AS c, ':c' AS d, CAST(x AS INT) AS f, "
        "'%%' AS e /* :d */",
    )


def test_parameters_in_statements_passed_through() -> None:
    text = "grant select on t to :who -- 5% :not"
    assert replace_parameters(text, tokenize(text), Target.POSTGRES) == (
        "grant select on t to %(who)s -- 5%% :not",
        ("who",),
    )


def test_alter_table_adding_only_informational_constraints_is_ignored() -> None:
    statement = "alter table t add constraint pk primary key (a)"
    assert translate(statement, Target.DUCKDB).kind == StatementKind.IGNORED


def test_session_setup_makes_duckdb_divide_like_redshift() -> None:
    assert "SET integer_division = true" in session_setup(Target.DUCKDB)
    # PostgreSQL's UTC is a startup option, which resetting a pooled connection keeps.
    assert session_setup(Target.POSTGRES) == ()


def test_unload_to_a_missing_bucket_is_an_error() -> None:
    with pytest.raises(WarehouseError, match="'missing'"):
        translate("unload ('select 1') to 's3://missing/x' iam_role 'r'", Target.DUCKDB)


def _golden_pairs() -> list[tuple[str, Target, str, str]]:
    """Fixture files hold blocks: a Redshift line, then `duckdb: …` and `postgres: …` lines."""
    pairs = []
    for path in sorted(FIXTURES.glob("*.sql")):
        blocks = path.read_text().strip().split("\n\n")
        for block in blocks:
            lines = [line for line in block.splitlines() if not line.startswith("#")]
            redshift, *expected = lines
            for line in expected:
                name, _, sql = line.partition(": ")
                pairs.append((path.stem, Target(name), redshift, sql))
    return pairs


@pytest.mark.parametrize(("source", "target", "redshift", "expected"), _golden_pairs())
def test_golden_translations(source: str, target: Target, redshift: str, expected: str) -> None:
    assert " ; ".join(translate(redshift, target).statements) == expected


@pytest.mark.parametrize("target", list(Target))
def test_a_translator_remembers_translations_but_not_transfers(
    target: Target, tmp_path: Path
) -> None:
    """A backend's translator translates a statement once; a COPY's translation lists the files
    in its bucket folder, so it is made again each time."""
    translate_one = translator(target, buckets={"b": tmp_path})
    first = translate_one("select count(*) from sales where day = :day")
    assert translate_one("select count(*) from sales where day = :day") is first
    assert first == translate("select count(*) from sales where day = :day", target)
    (tmp_path / "in_1.csv").write_text("1\n")
    copy = "copy t from 's3://b/in_' iam_role default csv"
    before = translate_one(copy)
    (tmp_path / "in_2.csv").write_text("2\n")
    after = translate_one(copy)
    assert before.kind is after.kind is StatementKind.TRANSFER
    assert before != after
    assert after == translate(copy, target, buckets={"b": tmp_path})
