"""Rewrite rules for DuckDB, one small named function per REDSHIFT.md line, listed in order.

They run after `rules.COMMON_RULES`. A rule that needs a statement run before the rewritten one
(a sequence for an IDENTITY column) records it in `expression.meta[PRELUDE]`.
"""

from __future__ import annotations

from sqlglot import exp

from redstep.warehouse.dialect.rules import Rule, is_char_cast

PRELUDE = "redstep_prelude"
"""Key of `Expression.meta` holding SQL that must run before the statement itself."""

SESSION_SETUP: tuple[str, ...] = (
    # Redshift: int / int truncates, and any division by zero is an error.
    "SET integer_division = true",
    "SET TimeZone = 'UTC'",
    # Redshift's default schema is public; DuckDB's is main.
    "CREATE SCHEMA IF NOT EXISTS public",
    "SET search_path = 'public'",
)
"""What every new DuckDB connection runs before its first statement."""


def _prelude(expression: exp.Expr, sql: str) -> None:
    expression.meta.setdefault(PRELUDE, []).append(sql)


def identity_as_sequence(expression: exp.Expr) -> exp.Expr:
    """Keep "`IDENTITY(seed, step)` columns": DuckDB has no identity, so a sequence feeds it.

    The sequence `<table>_<column>_seq` is created (or replaced, so a re-created table starts
    again at `seed`) before the CREATE TABLE, in the table's schema, and becomes the column's
    default.
    """
    if not isinstance(expression, exp.Create) or not isinstance(expression.this, exp.Schema):
        return expression
    table = expression.this.this
    if not isinstance(table, exp.Table):
        return expression
    properties = expression.args.get("properties")
    is_temporary = properties is not None and any(
        isinstance(p, exp.TemporaryProperty) for p in properties.expressions
    )
    for column in expression.this.find_all(exp.ColumnDef):
        for constraint in column.args.get("constraints") or []:
            kind = constraint.args.get("kind")
            if not isinstance(kind, exp.GeneratedAsIdentityColumnConstraint):
                continue
            start = kind.args.get("start") or exp.Literal.number(1)
            step = kind.args.get("increment") or exp.Literal.number(1)
            sequence = exp.Table(
                this=exp.to_identifier(f"{table.name}_{column.name}_seq"),
                db=None if is_temporary else table.args.get("db"),
                catalog=None if is_temporary else table.args.get("catalog"),
            )
            name = sequence.sql("duckdb")
            temp = " TEMP" if is_temporary else ""
            if expression.args.get("exists"):
                create = f"CREATE{temp} SEQUENCE IF NOT EXISTS"
            else:
                create = f"CREATE OR REPLACE{temp} SEQUENCE"
            _prelude(
                expression,
                f"{create} {name} START {start.sql('duckdb')} INCREMENT {step.sql('duckdb')}",
            )
            nextval = exp.func("nextval", exp.Literal.string(name))
            constraint.set("kind", exp.DefaultColumnConstraint(this=nextval))
    return expression


def create_like_as_empty_select(expression: exp.Expr) -> exp.Expr:
    """Keep "`CREATE TABLE … (LIKE t)`": DuckDB spells it `CREATE TABLE … AS SELECT … LIMIT 0`.

    The limit: a CTAS copies column names and types only, so the new table loses the source's
    NOT NULL (and length checks, defaults) that Redshift's LIKE keeps. Copying them would need
    the source's columns from the catalog, which `translate` never reads.
    """
    if not isinstance(expression, exp.Create) or not isinstance(expression.this, exp.Schema):
        return expression
    parts = expression.this.expressions
    if len(parts) != 1 or not isinstance(parts[0], exp.LikeProperty):
        return expression
    source = parts[0].this
    query = exp.select("*").from_(source.copy()).limit(0)
    expression.set("this", expression.this.this)
    expression.set("expression", query)
    return expression


_LENGTH_TYPES = {
    exp.DType.VARCHAR: "character varying",
    exp.DType.NVARCHAR: "character varying",
    exp.DType.CHAR: "character",
    exp.DType.NCHAR: "character",
    exp.DType.BPCHAR: "character",
}


def _declared_length(kind: exp.DataType) -> int | None:
    params = kind.expressions
    if len(params) != 1:
        return None
    value = params[0].this if isinstance(params[0], exp.DataTypeParam) else params[0]
    return int(value.name) if isinstance(value, exp.Literal) and value.is_int else None


def declared_lengths_are_enforced(expression: exp.Expr) -> exp.Expr:
    """Keep "`text` (Redshift: varchar(256))" and the other declared string lengths.

    DuckDB ignores `varchar(n)`, so each CREATE TABLE column declared `varchar(n)` / `char(n)`
    (`text` and bare `varchar` are varchar(256) by now) gets a CHECK that its length in bytes,
    as Redshift counts it (`strlen`), is at most n. An over-long value fails with Redshift's
    wording raised by `error()` inside a CASE, which DuckDB evaluates only for failing rows:
    `CHECK constraint failed on table "t" with expression CHECK(…) (Error: value too long for
    type character varying(n))`. CREATE TABLE … AS and (LIKE …) have no column definitions.
    """
    if not isinstance(expression, exp.Create) or not isinstance(expression.this, exp.Schema):
        return expression
    for column in expression.this.find_all(exp.ColumnDef):
        kind = column.args.get("kind")
        type_name = _LENGTH_TYPES.get(kind.this) if isinstance(kind, exp.DataType) else None
        length = _declared_length(kind) if isinstance(kind, exp.DataType) else None
        if type_name is None or length is None:
            continue
        value = exp.column(column.this.copy())
        message = exp.Literal.string(f"value too long for type {type_name}({length})")
        too_long = exp.GT(this=exp.func("STRLEN", value), expression=exp.Literal.number(length))
        check = exp.Case(
            ifs=[exp.If(this=too_long, true=exp.Anonymous(this="error", expressions=[message]))],
            default=exp.true(),
        )
        constraint = exp.ColumnConstraint(kind=exp.CheckColumnConstraint(this=check))
        column.append("constraints", constraint)
    return expression


def super_is_json(expression: exp.Expr) -> exp.Expr:
    """Keep "`super` (JSON)": DuckDB's JSON type holds Redshift SUPER values."""
    for data_type in expression.find_all(exp.DataType):
        if data_type.this == exp.DType.SUPER:
            data_type.set("this", exp.DType.JSON)
    return expression


def char_is_blank_padded(expression: exp.Expr) -> exp.Expr:
    """Keep "`char(n)` is blank-padded" and "`len` does not count a CHAR's trailing blanks".

    DuckDB has no fixed-length type: `cast(x as char(n))` becomes `rpad(x, n)` and `len`/`length`
    of such a cast counts the value without its padding.
    """

    def rewrite(node: exp.Expr) -> exp.Expr:
        if isinstance(node, exp.Length) and is_char_cast(node.this):
            node.set("this", exp.func("RTRIM", node.this))
        elif is_char_cast(node) and isinstance(node, exp.Cast) and node.to.expressions:
            width = node.to.expressions[0]
            width = width.this if isinstance(width, exp.DataTypeParam) else width
            text = exp.cast(node.this, exp.DType.VARCHAR)
            return exp.func("RPAD", text, width, exp.Literal.string(" "))
        return node

    return expression.transform(rewrite, copy=False)


def getdate_is_utc_timestamp(expression: exp.Expr) -> exp.Expr:
    """Keep "`getdate()` the current timestamp": a UTC timestamp without time zone."""

    def rewrite(node: exp.Expr) -> exp.Expr:
        if isinstance(node, exp.CurrentTimestamp) and not isinstance(node.parent, exp.AtTimeZone):
            return exp.AtTimeZone(this=node, zone=exp.Literal.string("UTC"))
        return node

    return expression.transform(rewrite, copy=False)


DUCKDB_RULES: tuple[Rule, ...] = (
    identity_as_sequence,
    create_like_as_empty_select,
    declared_lengths_are_enforced,
    super_is_json,
    char_is_blank_padded,
    getdate_is_utc_timestamp,
)
"""DuckDB's own rules, in the order they run (after the common rules)."""
