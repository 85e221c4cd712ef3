"""Rewrite rules that both local engines need, one small named function per REDSHIFT.md line.

A rule takes the parsed Redshift statement and returns it rewritten; `COMMON_RULES` lists them in
the order they run, before the target's own rules (`rules_duckdb`, `rules_postgres`); result
column names are `column_names`' rule. Two rules run on tokens, before parsing, because sqlglot
cannot parse every Redshift storage clause (column `DISTKEY`, `SORTKEY AUTO`, `INTERLEAVED`,
`ALTER DISTSTYLE`): `strip_storage_clauses` and `is_storage_alter`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from sqlglot import exp
from sqlglot.tokenizer_core import Token, TokenType

from redstep.warehouse.dialect.column_names import name_columns_as_redshift, unwrapped

Rule = Callable[[exp.Expr], exp.Expr]

# --- before parsing -------------------------------------------------------------------------

_KEYWORD_AND_WORD = {"ENCODE", "DISTSTYLE", "BACKUP"}  # `ENCODE zstd`, `DISTSTYLE all`, `BACKUP no`
_KEY_CLAUSES = {"DISTKEY", "SORTKEY"}  # `DISTKEY(a)`, `SORTKEY(a, b)`, `SORTKEY AUTO`, column form
_SORT_STYLES = {"COMPOUND", "INTERLEAVED"}  # before `SORTKEY(…)`
# A string literal or a quoted name is never a clause.
_NOT_WORDS = {TokenType.STRING, TokenType.IDENTIFIER}


def _word(tokens: Sequence[Token], index: int) -> str | None:
    """The upper-cased keyword at `index`, or None past the end or for a literal / quoted name."""
    if index >= len(tokens) or tokens[index].token_type in _NOT_WORDS:
        return None
    return tokens[index].text.upper()


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


def _storage_clause_end(tokens: Sequence[Token], index: int) -> int | None:
    """The index of the last token of the storage clause starting at `index`, or None."""
    if index > 0 and tokens[index - 1].token_type in (TokenType.L_PAREN, TokenType.COMMA):
        return None  # a column-name position: `(sortkey int, …)`
    word, following = _word(tokens, index), _word(tokens, index + 1)
    if word in _SORT_STYLES and following == "SORTKEY":
        return _storage_clause_end(tokens, index + 1)
    if word in _KEYWORD_AND_WORD:
        return min(index + 1, len(tokens) - 1)
    if word in _KEY_CLAUSES:
        if following == "(":
            return _closing_paren(tokens, index + 1)
        return index + 1 if word == "SORTKEY" and following == "AUTO" else index
    return None


def strip_storage_clauses(sql: str, tokens: Sequence[Token]) -> str:
    """Keep "ENCODE, DISTSTYLE, DISTKEY, SORTKEY, BACKUP are accepted and ignored".

    Drops, from a CREATE TABLE, column `ENCODE codec`, column `DISTKEY` / `SORTKEY`, and table
    `DISTSTYLE x`, `DISTKEY(col)`, `[COMPOUND|INTERLEAVED] SORTKEY(cols)`, `SORTKEY AUTO`,
    `BACKUP YES|NO`. Only keyword tokens start a clause: a string literal (`default 'backup'`)
    or a quoted name never does, and a keyword in a column-name position (after `(` or `,`) is a
    column name.
    """
    if not tokens or tokens[0].token_type != TokenType.CREATE:
        return sql
    if not any(token.token_type == TokenType.TABLE for token in tokens[1:5]):
        return sql
    tokens = _before_query(tokens)
    pieces, position, index = [], 0, 0
    while index < len(tokens):
        last = _storage_clause_end(tokens, index)
        if last is None:
            index += 1
            continue
        pieces.append(sql[position : tokens[index].start] + " ")
        position = tokens[last].end + 1
        index = last + 1
    return "".join(pieces) + sql[position:]


_ALTERED_STORAGE = {"DISTKEY", "SORTKEY", "DISTSTYLE", "ENCODE"}


def _is_storage_action(action: Sequence[Token]) -> bool:
    """`ALTER DISTKEY a`, `ALTER [COMPOUND] SORTKEY (…)|AUTO|NONE`, `ALTER DISTSTYLE …`,
    `ALTER ENCODE AUTO`, `ALTER COLUMN c ENCODE codec`."""
    if _word(action, 0) != "ALTER":
        return False
    second = _word(action, 1)
    if second in _SORT_STYLES:
        return _word(action, 2) == "SORTKEY"
    if second == "COLUMN":
        return len(action) == 5 and _word(action, 3) == "ENCODE"
    return second in _ALTERED_STORAGE


def is_storage_alter(tokens: Sequence[Token]) -> bool:
    """Keep "DISTSTYLE, DISTKEY, SORTKEY, ENCODE are accepted and ignored" for ALTER TABLE.

    True when every action of an `ALTER TABLE t …` changes only distribution, sort keys or
    compression, which `translate` then reports IGNORED.
    """
    if _word(tokens, 0) != "ALTER" or _word(tokens, 1) != "TABLE":
        return False
    first = next((i for i in range(3, len(tokens)) if _word(tokens, i) == "ALTER"), None)
    if first is None:
        return False
    actions: list[list[Token]] = [[]]
    depth = 0
    for token in tokens[first:]:
        depth += {TokenType.L_PAREN: 1, TokenType.R_PAREN: -1}.get(token.token_type, 0)
        if depth == 0 and token.token_type == TokenType.COMMA:
            actions.append([])
        else:
            actions[-1].append(token)
    return all(_is_storage_action(action) for action in actions)


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
    """Keep "`#name` temporary tables": `#name` is the temporary table `name`.

    The table a CREATE TABLE or a `SELECT … INTO` makes is temporary when its name starts with `#`.
    """
    for identifier in expression.find_all(exp.Identifier):
        name = identifier.this
        if not isinstance(name, str) or not name.startswith("#"):
            continue
        identifier.set("this", name[1:])
        table = identifier.parent
        if not isinstance(table, exp.Table) or table.this is not identifier:
            continue
        if isinstance(table.parent, exp.Into):
            table.parent.set("temporary", True)
        elif (
            isinstance(expression, exp.Create)
            and isinstance(table.parent, exp.Schema | exp.Create)
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


_VARCHAR_256 = exp.DataType.build("VARCHAR(256)")


def text_is_varchar_256(expression: exp.Expr) -> exp.Expr:
    """Keep "`text` (Redshift: varchar(256))": a TEXT or bare VARCHAR column is varchar(256)."""
    for column in expression.find_all(exp.ColumnDef):
        kind = column.args.get("kind")
        if isinstance(kind, exp.DataType) and (
            kind.this == exp.DType.TEXT or (kind.this == exp.DType.VARCHAR and not kind.expressions)
        ):
            column.set("kind", _VARCHAR_256.copy())
    return expression


_MAX_VARCHAR = {exp.DType.VARCHAR, exp.DType.NVARCHAR}


def _is_max(param: exp.Expr) -> bool:
    return (
        isinstance(param, exp.DataTypeParam)
        and isinstance(param.this, exp.Var)
        and param.name.upper() == "MAX"
    )


def lengths_are_numbers(expression: exp.Expr) -> exp.Expr:
    """Keep "types" for `varchar(max)`, `character varying(max)` and `varbyte(n|max)`.

    MAX is Redshift's largest VARCHAR, 65535 bytes. Neither engine's binary type (BLOB, BYTEA)
    takes a length, so a VARBYTE's length (at most 1024000 bytes on Redshift) is dropped and
    not enforced.
    """
    for data_type in expression.find_all(exp.DataType):
        params = data_type.expressions
        if data_type.this == exp.DType.VARBINARY:
            data_type.set("expressions", [])
        elif data_type.this in _MAX_VARCHAR and len(params) == 1 and _is_max(params[0]):
            data_type.set("expressions", [exp.DataTypeParam(this=exp.Literal.number(65535))])
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
    if isinstance(node, exp.Paren):
        return _without_trailing_blanks(node.this)
    if isinstance(node, exp.Trim):
        return node
    return exp.func("RTRIM", node.copy())


def ignore_trailing_blanks_in_comparisons(expression: exp.Expr) -> exp.Expr:
    """Keep "Trailing blanks are insignificant when strings are compared" (`'ab' = 'ab  '`).

    Only a comparison whose sides are all known to be strings (literals, string casts, string
    functions) is rewritten, and then both sides lose their trailing blanks. A side of unknown
    type (a column) is never rewritten, nor is the literal it is compared with: `v = 'A '` finds
    a stored `'A '` and `date_col = '2024-01-02'` stays a date comparison. The limit: without a
    catalog, a VARCHAR column holding `'ab'` does not equal `'ab  '` here, as it does on Redshift.
    """

    def rewrite(node: exp.Expr) -> exp.Expr:
        if isinstance(node, _COMPARISONS):
            left, right = node.this, node.expression
            if is_string_typed(left) and is_string_typed(right):
                node.set("this", _without_trailing_blanks(left))
                node.set("expression", _without_trailing_blanks(right))
        elif isinstance(node, exp.In) and node.expressions:
            sides = [node.this, *node.expressions]
            if all(is_string_typed(side) for side in sides):
                node.set("this", _without_trailing_blanks(node.this))
                node.set("expressions", [_without_trailing_blanks(e) for e in node.expressions])
        return node

    return expression.transform(rewrite, copy=False)


_NUMERIC_FUNCTIONS = (
    # aggregates
    exp.Sum,
    exp.Avg,
    exp.Count,
    exp.ApproxDistinct,
    exp.Stddev,
    exp.StddevPop,
    exp.StddevSamp,
    exp.Variance,
    exp.VariancePop,
    exp.Median,
    exp.PercentileCont,
    exp.PercentileDisc,
    # math
    exp.Round,
    exp.Abs,
    exp.Ceil,
    exp.Floor,
    exp.Pow,
    exp.Sqrt,
    exp.Cbrt,
    exp.Ln,
    exp.Log,
    exp.Exp,
    exp.Mod,
    exp.Sign,
    exp.Trunc,
)
_TEMPORAL_FUNCTIONS = (
    exp.CurrentDate,
    exp.CurrentTimestamp,
    exp.TsOrDsAdd,
    exp.DateAdd,
    exp.DateSub,
    exp.TimestampAdd,
    exp.TimestampTrunc,
    exp.DateTrunc,
    exp.ConvertTimezone,
    exp.AtTimeZone,
    exp.StrToDate,
    exp.StrToTime,
    exp.TsOrDsToDate,
    exp.AddMonths,
    exp.LastDay,
    exp.Interval,
)


def is_temporal(node: exp.Expr) -> bool:
    """Whether `node` is visibly a date, time or interval: a date function, a temporal cast."""
    node = unwrapped(node)
    if isinstance(node, exp.Cast):
        return node.to.is_type(*exp.DataType.TEMPORAL_TYPES)
    if isinstance(node, exp.Add | exp.Sub):
        return is_temporal(node.this) or is_temporal(node.expression)
    return isinstance(node, _TEMPORAL_FUNCTIONS)


def is_numeric(node: exp.Expr) -> bool:
    """Whether `node` is visibly a number: a numeric literal or cast, arithmetic on anything but
    dates, an aggregate (`sum`, `avg`, `count`, `median`…) or a math function (`round`, `ln`…)."""
    node = unwrapped(node)
    if isinstance(node, exp.Literal):
        return not node.is_string
    if isinstance(node, exp.Cast):
        return node.to.is_type(*exp.DataType.NUMERIC_TYPES)
    if isinstance(node, exp.Neg):
        return not is_temporal(node.this)
    if isinstance(node, exp.Add | exp.Sub):
        return not is_temporal(node)
    return isinstance(node, (exp.Mul, exp.Div, exp.IntDiv, *_NUMERIC_FUNCTIONS))


def trunc_timestamp_to_date(expression: exp.Expr) -> exp.Expr:
    """Keep "`trunc(<timestamp>)` a date": one-argument `trunc` of a non-number is a date cast.

    `trunc(x, n)` and `trunc` of anything visibly numeric (`is_numeric`: `trunc(3.7)`,
    `trunc(sum(price))`, `trunc(round(x))`, `trunc(a * b)`) stay numeric. Timestamps (`sysdate`,
    `getdate()`, date functions, temporal casts) become dates. The limit: without a catalog a
    bare column is taken for a timestamp, so `trunc(<numeric column>)` needs a cast
    (`trunc(price::numeric)`) to stay numeric.
    """

    def rewrite(node: exp.Expr) -> exp.Expr:
        if (
            isinstance(node, exp.Trunc)
            and node.args.get("decimals") is None
            and not is_numeric(node.this)
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


COMMON_RULES: tuple[Rule, ...] = (
    name_columns_as_redshift,
    drop_informational_constraints,
    rename_hash_temp_tables,
    fold_identifiers_to_lower_case,
    text_is_varchar_256,
    lengths_are_numbers,
    ignore_trailing_blanks_in_comparisons,
    trunc_timestamp_to_date,
    aggregate_strings_in_order,
    replace_all_regexp_matches,
    sysdate_is_transaction_start_utc,
)
"""Rules both targets run, in order, after parsing."""
