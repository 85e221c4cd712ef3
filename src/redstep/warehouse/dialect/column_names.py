"""Result column names: an unnamed select item is named as Redshift names it.

Redshift names columns as PostgreSQL 8 did: a column by its name, a cast of a column by the
column, a cast of anything else by the type, a function call by the function's name as written
(lower case), `?column?` for any other expression. sqlglot turns many Redshift functions into
its own classes (`dateadd` is `TsOrDsAdd`), so the name is read from the statement's text: the
parser records where each function's name token lies, and `translate` stores the parsed text in
`expression.meta[SOURCE_TEXT]`.
"""

from __future__ import annotations

import re

from sqlglot import exp

SOURCE_TEXT = "redstep_source_text"
"""Key of the root expression's `meta` holding the text it was parsed from."""

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_$]*\Z")
_CALL = re.compile(r"\s*\(")

# Names for the nodes the parser records no name position for.
_NODE_NAMES: dict[type[exp.Expr], str] = {
    exp.CurrentDate: "date",
    exp.CurrentTimestamp: "timestamp",
    exp.Case: "case",
    exp.ApproxDistinct: "count",
    exp.DecodeCase: "decode",
    exp.Extract: "date_part",  # `extract(…)` and `date_part(…)`: PostgreSQL 8 calls date_part
}

_CAST_COLUMN_NAMES: dict[exp.DType, str] = {
    exp.DType.SMALLINT: "int2",
    exp.DType.INT: "int4",
    exp.DType.BIGINT: "int8",
    exp.DType.DECIMAL: "numeric",
    exp.DType.FLOAT: "float4",
    exp.DType.DOUBLE: "float8",
    exp.DType.BOOLEAN: "bool",
    exp.DType.CHAR: "bpchar",
    exp.DType.VARCHAR: "varchar",
    exp.DType.TEXT: "text",
    exp.DType.DATE: "date",
    exp.DType.TIMESTAMP: "timestamp",
    exp.DType.TIMESTAMPTZ: "timestamptz",
}


def _name_as_written(node: exp.Expr, source: str | None) -> str | None:
    """The function name of call `node` as written in `source`, lower case, if it was recorded."""
    start, end = node.meta.get("start"), node.meta.get("end")
    if source is None or not isinstance(start, int) or not isinstance(end, int):
        return None
    name = source[start : end + 1]
    if _NAME.match(name) is None or _CALL.match(source, end + 1) is None:
        return None
    return name.lower()


def unwrapped(node: exp.Expr) -> exp.Expr:
    """`node` without parentheses, and a WITHIN GROUP or OVER clause's function."""
    while isinstance(node, exp.Paren | exp.WithinGroup | exp.Window):
        node = node.this
    return node


def _redshift_column_name(node: exp.Expr, source: str | None) -> str | None:
    """The name Redshift gives an unnamed select item, or None where the engines agree already."""
    node = unwrapped(node)
    if isinstance(node, exp.Column | exp.Star | exp.Dot):
        return None
    if isinstance(node, exp.Cast):
        inner = node.this
        if isinstance(inner, exp.Column) and not isinstance(inner.this, exp.Star):
            return inner.name
        return _CAST_COLUMN_NAMES.get(node.to.this, "?column?")
    if isinstance(node, exp.Func):
        written = _name_as_written(node, source)
        if written is not None:
            return written
    for kind, name in _NODE_NAMES.items():
        if isinstance(node, kind):
            return name
    if isinstance(node, exp.Anonymous):
        return node.name.lower()
    if isinstance(node, exp.Func):
        return node.sql_name().lower()
    return "?column?"


def name_columns_as_redshift(expression: exp.Expr) -> exp.Expr:
    """Give unnamed select items the names Redshift reports (`?column?`, `count`, `dateadd`).

    Keeps the Data API's ColumnMetadata names as Redshift gives them: the engines name
    `select 7/2` `(7 // 2)` (DuckDB), and both name functions after their own rewrites.
    Runs first, before any rule replaces a node.
    """
    source = expression.meta.get(SOURCE_TEXT)
    text = source if isinstance(source, str) else None
    for select in expression.find_all(exp.Select):
        for index, item in enumerate(select.expressions):
            if isinstance(item, exp.Alias):
                continue
            name = _redshift_column_name(item, text)
            if name is not None:
                select.expressions[index] = exp.alias_(item, name, quoted=True)
    return expression
