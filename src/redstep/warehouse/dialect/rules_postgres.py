"""Rewrite rules for PostgreSQL, one small named function per REDSHIFT.md line, listed in order.

They run after `rules.COMMON_RULES`. Everything is rewritten to built-in expressions, so nothing
is created in the user's database.
"""

from __future__ import annotations

from sqlglot import exp

from redstep.warehouse.dialect.rules import Rule

SESSION_SETUP: tuple[str, ...] = ()
"""What every new PostgreSQL connection runs before its first statement: nothing. Redshift's UTC
is a startup option of the connection (`postgres.py`), so that DISCARD ALL, which resets a pooled
connection, keeps it; a setting put here is run again after every such reset."""


def super_is_jsonb(expression: exp.Expr) -> exp.Expr:
    """Keep "`super` (JSON)": PostgreSQL's JSONB holds Redshift SUPER values."""
    for data_type in expression.find_all(exp.DataType):
        if data_type.this == exp.DType.SUPER:
            data_type.set("this", exp.DType.JSONB)
    return expression


def getdate_is_statement_start_utc(expression: exp.Expr) -> exp.Expr:
    """Keep "`getdate()` the current timestamp": the statement's start, UTC, without time zone."""

    def rewrite(node: exp.Expr) -> exp.Expr:
        if isinstance(node, exp.CurrentTimestamp):
            now = exp.Anonymous(this="STATEMENT_TIMESTAMP", expressions=[])
            return exp.AtTimeZone(this=now, zone=exp.Literal.string("UTC"))
        return node

    return expression.transform(rewrite, copy=False)


_SECONDS = {"WEEK": 604800, "DAY": 86400, "HOUR": 3600, "MINUTE": 60, "SECOND": 1}
_UNIT_ALIASES = {
    "Y": "YEAR", "YR": "YEAR", "YRS": "YEAR", "YEARS": "YEAR", "YEAR": "YEAR",
    "QTR": "QUARTER", "QTRS": "QUARTER", "QUARTERS": "QUARTER", "QUARTER": "QUARTER",
    "MON": "MONTH", "MONS": "MONTH", "MONTHS": "MONTH", "MONTH": "MONTH",
    "W": "WEEK", "WEEKS": "WEEK", "WEEK": "WEEK",
    "D": "DAY", "DAYS": "DAY", "DAY": "DAY",
    "H": "HOUR", "HR": "HOUR", "HRS": "HOUR", "HOURS": "HOUR", "HOUR": "HOUR",
    "M": "MINUTE", "MIN": "MINUTE", "MINS": "MINUTE", "MINUTES": "MINUTE", "MINUTE": "MINUTE",
    "S": "SECOND", "SEC": "SECOND", "SECS": "SECOND", "SECONDS": "SECOND", "SECOND": "SECOND",
}  # fmt: skip


def _extract(part: str, value: exp.Expr) -> exp.Expr:
    return exp.Extract(this=exp.var(part), expression=value.copy())


def _boundaries(unit: str, start: exp.Expr, end: exp.Expr) -> exp.Expr:
    """How many `unit` boundaries lie between `start` and `end`, as Redshift's datediff counts."""
    if unit in ("YEAR", "QUARTER", "MONTH"):
        years = exp.Sub(this=_extract("YEAR", end), expression=_extract("YEAR", start))
        if unit == "YEAR":
            return years
        per_year, part = (4, "QUARTER") if unit == "QUARTER" else (12, "MONTH")
        within = exp.Sub(this=_extract(part, end), expression=_extract(part, start))
        return exp.Add(
            this=exp.Mul(this=exp.paren(years), expression=exp.Literal.number(per_year)),
            expression=within,
        )
    truncated = [
        _extract("EPOCH", exp.func("DATE_TRUNC", exp.Literal.string(unit.lower()), value))
        for value in (end, start)
    ]
    return exp.Div(
        this=exp.paren(exp.Sub(this=truncated[0], expression=truncated[1])),
        expression=exp.Literal.number(_SECONDS[unit]),
    )


def datediff_counts_boundaries(expression: exp.Expr) -> exp.Expr:
    """Keep "`datediff`": Redshift counts unit boundaries crossed (Jan 31 → Feb 1 is 1 month)."""

    def rewrite(node: exp.Expr) -> exp.Expr:
        if not isinstance(node, exp.TsOrDsDiff | exp.DateDiff):
            return node
        unit_node = node.args.get("unit")
        unit = _UNIT_ALIASES.get(unit_node.name.upper() if unit_node else "DAY")
        if unit is None:
            return node
        start = exp.cast(node.expression, exp.DType.TIMESTAMP)
        end = exp.cast(node.this, exp.DType.TIMESTAMP)
        return exp.cast(_boundaries(unit, start, end), exp.DType.BIGINT)

    return expression.transform(rewrite, copy=False)


def approximate_count_is_exact(expression: exp.Expr) -> exp.Expr:
    """Keep "`approximate count(distinct …)`": PostgreSQL counts exactly, a valid approximation."""

    def rewrite(node: exp.Expr) -> exp.Expr:
        if isinstance(node, exp.ApproxDistinct):
            return exp.Count(this=exp.Distinct(expressions=[node.this]))
        return node

    return expression.transform(rewrite, copy=False)


def regexp_substr_is_builtin(expression: exp.Expr) -> exp.Expr:
    """Keep "`regexp_substr`": PostgreSQL 15's regexp_substr; no match gives '' as in Redshift."""

    def rewrite(node: exp.Expr) -> exp.Expr:
        if not isinstance(node, exp.RegexpExtract):
            return node
        arguments = [node.this, node.expression]
        for key in ("position", "occurrence"):
            if node.args.get(key) is not None:
                arguments.append(node.args[key])
        found = exp.Anonymous(this="REGEXP_SUBSTR", expressions=arguments)
        empty = exp.If(this=exp.Not(this=exp.Is(this=node.this.copy(), expression=exp.Null())))
        empty.set("true", exp.Literal.string(""))
        return exp.Coalesce(this=found, expressions=[exp.Case(ifs=[empty])])

    return expression.transform(rewrite, copy=False)


POSTGRES_RULES: tuple[Rule, ...] = (
    super_is_jsonb,
    getdate_is_statement_start_utc,
    datediff_counts_boundaries,
    approximate_count_is_exact,
    regexp_substr_is_builtin,
)
"""PostgreSQL's own rules, in the order they run (after the common rules)."""
