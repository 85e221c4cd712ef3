"""Rewrite rules that both local engines need, one small named function per REDSHIFT.md line.

A rule takes the parsed Redshift statement and returns it rewritten; `COMMON_RULES` lists them in
the order they run, before the target's own rules (`rules_duckdb`, `rules_postgres`).
`strip_storage_clauses` is the one rule that runs on tokens, before parsing, because sqlglot
cannot parse every Redshift storage clause (column `DISTKEY`, `SORTKEY AUTO`, `INTERLEAVED`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from sqlglot import exp
from sqlglot.tokenizer_core import Token, TokenType

Rule = Callable[[exp.Expr], exp.Expr]

# --- before parsing -------------------------------------------------------------------------

_CODEC_SKIPPED = {"ENCODE", "DISTSTYLE", "BACKUP"}  # keyword + one word
_SORT_STYLES = {"COMPOUND", "INTERLEAVED"}


def _closing_paren(tokens: Sequence[Token], opening: int) -> int:
    depth = 0
    for index in range(opening, len(tokens)):
        if tokens[index].token_type == TokenType.L_PAREN:
            depth += 1
        elif tokens[index].token_type == TokenType.R_PAREN:
            depth -= 1
            if depth == 0:
                return index
    return len(tokens) - 1


def _before_query(tokens: Sequence[Token]) -> Sequence[Token]:
    """The tokens before a CREATE TABLE … AS's query, where storage clauses can appear."""
    depth = 0
    for index, token in enumerate(tokens):
        if token.token_type == TokenType.L_PAREN:
            depth += 1
        elif token.token_type == TokenType.R_PAREN:
            depth -= 1
        elif depth == 0 and token.token_type == TokenType.ALIAS:
            return tokens[:index]
    return tokens


def strip_storage_clauses(sql: str, tokens: Sequence[Token]) -> str:
    """Keep "ENCODE, DISTSTYLE, DISTKEY, SORTKEY, BACKUP are accepted and ignored".

    Drops, from a CREATE TABLE, column `ENCODE codec`, column `DISTKEY` / `SORTKEY`, and table
    `DISTSTYLE x`, `DISTKEY(col)`, `[COMPOUND|INTERLEAVED] SORTKEY(cols)`, `SORTKEY AUTO`,
    `BACKUP YES|NO`. A keyword in a column-name position (after `(` or `,`) is a column name and
    stays.
    """
    if not tokens or tokens[0].token_type != TokenType.CREATE:
        return sql
    if not any(token.token_type == TokenType.TABLE for token in tokens[1:5]):
        return sql
    tokens = _before_query(tokens)
    spans: list[tuple[int, int]] = []
    index = 0
    while index < len(tokens):
        word = tokens[index].text.upper()
        previous = tokens[index - 1].token_type if index else None
        is_name_position = previous in (TokenType.L_PAREN, TokenType.COMMA)
        following = tokens[index + 1] if index + 1 < len(tokens) else None
        if word in _SORT_STYLES and following is not None and following.text.upper() == "SORTKEY":
            word, first = "SORTKEY", index
            index += 1
            following = tokens[index + 1] if index + 1 < len(tokens) else None
        else:
            first = index
        if is_name_position or word not in (*_CODEC_SKIPPED, "DISTKEY", "SORTKEY"):
            index += 1
            continue
        last = index
        if following is not None and following.token_type == TokenType.L_PAREN:
            last = _closing_paren(tokens, index + 1)
        elif word in _CODEC_SKIPPED or (
            following is not None and following.text.upper() == "AUTO" and word == "SORTKEY"
        ):
            last = min(index + 1, len(tokens) - 1)
        spans.append((tokens[first].start, tokens[last].end + 1))
        index = last + 1
    if not spans:
        return sql
    pieces, position = [], 0
    for start, end in spans:
        pieces.append(sql[position:start])
        pieces.append(" ")
        position = end
    pieces.append(sql[position:])
    return "".join(pieces)


# --- common rules -----------------------------------------------------------------------------

_INFORMATIONAL = (
    exp.PrimaryKey,
    exp.PrimaryKeyColumnConstraint,
    exp.UniqueColumnConstraint,
    exp.ForeignKey,
    exp.Reference,
)


def _is_informational(node: exp.Expr) -> bool:
    if isinstance(node, exp.ColumnConstraint):
        return isinstance(node.args.get("kind"), _INFORMATIONAL)
    if isinstance(node, exp.Constraint):
        return all(_is_informational(part) for part in node.expressions)
    return isinstance(node, _INFORMATIONAL)


def drop_informational_constraints(expression: exp.Expr) -> exp.Expr:
    """Keep "PRIMARY KEY, UNIQUE and FOREIGN KEY are informational" (NOT NULL stays).

    Removes them from CREATE TABLE (table and column forms) and from ALTER TABLE ADD CONSTRAINT;
    an ALTER left with no action is reported IGNORED by `translate`.
    """
    if isinstance(expression, exp.Create) and isinstance(expression.this, exp.Schema):
        schema = expression.this
        schema.set("expressions", [e for e in schema.expressions if not _is_informational(e)])
        for column in schema.find_all(exp.ColumnDef):
            constraints = column.args.get("constraints") or []
            column.set("constraints", [c for c in constraints if not _is_informational(c)])
    elif isinstance(expression, exp.Alter):
        actions = []
        for action in expression.args.get("actions") or []:
            if isinstance(action, exp.AddConstraint):
                kept = [c for c in action.expressions if not _is_informational(c)]
                if not kept:
                    continue
                action.set("expressions", kept)
            actions.append(action)
        expression.set("actions", actions)
    return expression


def fold_identifiers_to_lower_case(expression: exp.Expr) -> exp.Expr:
    """Keep "Unquoted identifiers fold to lower case".

    Redshift folds quoted identifiers too (unless `enable_case_sensitive_identifier` is on), so
    every identifier is lowered: result column names come back lower case, as Redshift's do.
    """
    for identifier in expression.find_all(exp.Identifier):
        if isinstance(identifier.this, str) and not identifier.this.islower():
            identifier.set("this", identifier.this.lower())
    return expression


def rename_hash_temp_tables(expression: exp.Expr) -> exp.Expr:
    """Keep "`#name` temporary tables": `#name` is the temporary table `name`."""
    for identifier in expression.find_all(exp.Identifier):
        name = identifier.this
        if isinstance(name, str) and name.startswith("#"):
            identifier.set("this", name[1:])
            table = identifier.parent
            if (
                isinstance(table, exp.Table)
                and table.this is identifier
                and isinstance(table.parent, exp.Schema | exp.Create)
                and isinstance(expression, exp.Create)
                and table.find_ancestor(exp.Create) is expression
                and (expression.this is table or expression.this is table.parent)
            ):
                _make_temporary(expression)
    return expression


def _make_temporary(create: exp.Create) -> None:
    properties = create.args.get("properties")
    if properties is None:
        properties = exp.Properties(expressions=[])
        create.set("properties", properties)
    if not any(isinstance(p, exp.TemporaryProperty) for p in properties.expressions):
        properties.append("expressions", exp.TemporaryProperty())


def text_is_varchar_256(expression: exp.Expr) -> exp.Expr:
    """Keep "`text` (Redshift: varchar(256))": a TEXT or bare VARCHAR column is varchar(256)."""
    for column in expression.find_all(exp.ColumnDef):
        kind = column.args.get("kind")
        if isinstance(kind, exp.DataType) and (
            kind.this == exp.DType.TEXT or (kind.this == exp.DType.VARCHAR and not kind.expressions)
        ):
            column.set("kind", exp.DataType.build("VARCHAR(256)"))
    return expression


_STRING_TYPES = {
    exp.DType.CHAR,
    exp.DType.BPCHAR,
    exp.DType.VARCHAR,
    exp.DType.NVARCHAR,
    exp.DType.NCHAR,
    exp.DType.TEXT,
}
_STRING_FUNCTIONS = (
    exp.Upper,
    exp.Lower,
    exp.Trim,
    exp.Concat,
    exp.DPipe,
    exp.Substring,
    exp.Left,
    exp.Right,
    exp.MD5,
    exp.Initcap,
    exp.Pad,
    exp.SplitPart,
)


def is_char_cast(node: exp.Expr) -> bool:
    """Whether `node` is a cast to CHAR(n) / BPCHAR, whose trailing blanks are padding."""
    return isinstance(node, exp.Cast) and node.to.this in (exp.DType.CHAR, exp.DType.BPCHAR)


def is_string_typed(node: exp.Expr) -> bool:
    """Whether `node` is certainly a string: a literal, a string cast, a string function."""
    if isinstance(node, exp.Paren):
        return is_string_typed(node.this)
    if isinstance(node, exp.Literal):
        return bool(node.is_string)
    if isinstance(node, exp.Cast):
        return node.to.this in _STRING_TYPES
    return isinstance(node, _STRING_FUNCTIONS)


_COMPARISONS = (exp.EQ, exp.NEQ, exp.LT, exp.LTE, exp.GT, exp.GTE)


def _without_trailing_blanks(node: exp.Expr) -> exp.Expr:
    if isinstance(node, exp.Literal) and node.is_string:
        return exp.Literal.string(node.this.rstrip(" "))
    if isinstance(node, exp.Func | exp.Cast | exp.DPipe) and not isinstance(node, exp.Trim):
        return exp.func("RTRIM", node.copy())
    return node


def ignore_trailing_blanks_in_comparisons(expression: exp.Expr) -> exp.Expr:
    """Keep "Trailing blanks are insignificant when strings are compared" (`'ab' = 'ab  '`).

    Without a catalog only operands known to be strings are rewritten: string literals lose their
    trailing blanks, and string-typed expressions (casts, string functions) are wrapped in
    `rtrim` when the other side is a string too. Columns of unknown type are left alone, so a
    numeric or date comparison never turns into a string comparison.
    """

    def rewrite(node: exp.Expr) -> exp.Expr:
        if isinstance(node, _COMPARISONS):
            left, right = node.this, node.expression
            if is_string_typed(left) and is_string_typed(right):
                node.set("this", _without_trailing_blanks(left))
                node.set("expression", _without_trailing_blanks(right))
            else:
                for key, side in (("this", left), ("expression", right)):
                    if isinstance(side, exp.Literal) and side.is_string:
                        node.set(key, _without_trailing_blanks(side))
        elif isinstance(node, exp.In):
            node.set(
                "expressions",
                [
                    _without_trailing_blanks(e) if isinstance(e, exp.Literal) else e
                    for e in node.expressions
                ],
            )
        return node

    return expression.transform(rewrite, copy=False)


def _is_numeric(node: exp.Expr) -> bool:
    if isinstance(node, exp.Paren):
        return _is_numeric(node.this)
    if isinstance(node, exp.Literal):
        return not node.is_string
    if isinstance(node, exp.Cast):
        return node.to.is_type(*exp.DataType.NUMERIC_TYPES)
    return isinstance(node, exp.Binary) and isinstance(node, exp.Add | exp.Sub | exp.Mul | exp.Div)


def trunc_timestamp_to_date(expression: exp.Expr) -> exp.Expr:
    """Keep "`trunc(<timestamp>)` a date": one-argument `trunc` of a non-number is a date cast.

    `trunc(3.7)`, `trunc(x, 2)` and `trunc` of a numeric cast or arithmetic stay numeric.
    """

    def rewrite(node: exp.Expr) -> exp.Expr:
        if (
            isinstance(node, exp.Trunc)
            and node.args.get("decimals") is None
            and not _is_numeric(node.this)
        ):
            return exp.cast(node.this, exp.DType.DATE)
        return node

    return expression.transform(rewrite, copy=False)


def aggregate_strings_in_order(expression: exp.Expr) -> exp.Expr:
    """Keep "`listagg … within group`": `LISTAGG([DISTINCT] x, sep) WITHIN GROUP (ORDER BY …)`.

    Becomes the engines' ordered aggregate `string_agg(x, sep ORDER BY …)`; the value is cast to
    text, as Redshift accepts any type there.
    """

    def rewrite(node: exp.Expr) -> exp.Expr:
        order = None
        if isinstance(node, exp.WithinGroup) and isinstance(node.this, exp.GroupConcat):
            order = node.expression
            node = node.this
        if not isinstance(node, exp.GroupConcat) or isinstance(node.this, exp.Order):
            return node
        value, separator = node.this, node.args.get("separator")
        is_distinct = isinstance(value, exp.Distinct)
        if isinstance(value, exp.Distinct):
            parts = value.expressions
            value = parts[0]
            separator = parts[1] if len(parts) > 1 else separator
        original = value
        value = value if is_string_typed(value) else exp.cast(value, exp.DType.VARCHAR)
        if is_distinct:
            value = exp.Distinct(expressions=[value])
        if isinstance(order, exp.Order):
            keys = order.expressions
            if is_distinct and value.expressions[0] is not original:
                # PostgreSQL: with DISTINCT, ORDER BY must sort by the aggregated expression.
                cast = value.expressions[0]
                keys = [
                    key.transform(lambda n: cast.copy() if n == original else n) for key in keys
                ]
            value = exp.Order(this=value, expressions=keys)
        return exp.GroupConcat(this=value, separator=separator or exp.Literal.string(""))

    return expression.transform(rewrite, copy=False)


def replace_all_regexp_matches(expression: exp.Expr) -> exp.Expr:
    """Keep "`regexp_replace`": Redshift replaces every match, the engines only the first."""
    for node in expression.find_all(exp.RegexpReplace):
        if node.args.get("modifiers") is None and node.args.get("occurrence") is None:
            if node.args.get("replacement") is None:
                node.set("replacement", exp.Literal.string(""))
            if node.args.get("position") is None:
                node.set("modifiers", exp.Literal.string("g"))
    return expression


def sysdate_is_transaction_start_utc(expression: exp.Expr) -> exp.Expr:
    """Keep "`sysdate` is the start of the current transaction (timestamp without time zone)".

    `sysdate` becomes `now() AT TIME ZONE 'UTC'` (both engines' `now()` is the transaction
    start). `getdate()` and `current_timestamp` are handled per target.
    """

    def rewrite(node: exp.Expr) -> exp.Expr:
        if isinstance(node, exp.CurrentTimestamp) and node.args.get("sysdate"):
            return exp.AtTimeZone(
                this=exp.Anonymous(this="NOW", expressions=[]), zone=exp.Literal.string("UTC")
            )
        return node

    return expression.transform(rewrite, copy=False)


_SPECIAL_COLUMN_NAMES: dict[type[exp.Expr], str] = {
    exp.CurrentDate: "date",
    exp.CurrentTimestamp: "timestamp",
    exp.Case: "case",
    exp.ApproxDistinct: "count",
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


def _redshift_column_name(node: exp.Expr) -> str | None:
    """The name Redshift gives an unnamed select item, or None where the engines agree already."""
    if isinstance(node, exp.Column | exp.Star | exp.Dot):
        return None
    if isinstance(node, exp.Cast):
        inner = node.this
        if isinstance(inner, exp.Column) and not isinstance(inner.this, exp.Star):
            return inner.name
        return _CAST_COLUMN_NAMES.get(node.to.this, "?column?")
    if isinstance(node, exp.Window):
        return _redshift_column_name(node.this)
    for kind, name in _SPECIAL_COLUMN_NAMES.items():
        if isinstance(node, kind):
            return name
    if isinstance(node, exp.Anonymous):
        return node.name.lower()
    if isinstance(node, exp.Func):
        return node.sql_name().lower()
    return "?column?"


def name_columns_as_redshift(expression: exp.Expr) -> exp.Expr:
    """Give unnamed select items the names Redshift reports (`?column?`, `count`, `date`).

    The engines name `select 7/2` `(7 // 2)` (DuckDB) or by their own rewritten function names;
    a Data API caller reads ColumnMetadata names as Redshift gives them, as PostgreSQL 8 did:
    a function's name, a cast column's name, and `?column?` for any other expression.
    """
    for select in expression.find_all(exp.Select):
        for index, item in enumerate(select.expressions):
            if isinstance(item, exp.Alias):
                continue
            name = _redshift_column_name(item)
            if name is not None:
                select.expressions[index] = exp.alias_(item, name, quoted=True)
    return expression


COMMON_RULES: tuple[Rule, ...] = (
    name_columns_as_redshift,
    drop_informational_constraints,
    rename_hash_temp_tables,
    fold_identifiers_to_lower_case,
    text_is_varchar_256,
    ignore_trailing_blanks_in_comparisons,
    trunc_timestamp_to_date,
    aggregate_strings_in_order,
    replace_all_regexp_matches,
    sysdate_is_transaction_start_utc,
)
"""Rules both targets run, in order, after parsing."""
