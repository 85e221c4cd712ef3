"""Rewriting one Redshift statement for a local engine.

`translate` classifies the statement from its first words (transaction control, maintenance that
has no local meaning, COPY/UNLOAD, TRUNCATE, an ALTER TABLE of storage settings only), strips
Redshift's storage clauses, parses it with sqlglot's Redshift dialect, runs the named rules
(`rules.COMMON_RULES`, then the target's), and generates the target's SQL with Data API
parameters in the target's placeholder style.
Statements sqlglot cannot parse are passed through as written, with their parameters replaced,
so the engine reports its own syntax error.
"""

from __future__ import annotations

import itertools
import logging
import re
from collections.abc import Callable, Mapping, Sequence
from functools import lru_cache
from pathlib import Path

import sqlglot
from sqlglot import exp
from sqlglot.dialects.dialect import Dialect
from sqlglot.errors import ErrorLevel, ParseError
from sqlglot.tokenizer_core import Token, TokenType

from redstep.warehouse.dialect import rules_duckdb, rules_postgres
from redstep.warehouse.dialect.column_names import SOURCE_TEXT
from redstep.warehouse.dialect.model import StatementKind, Target, Translation
from redstep.warehouse.dialect.rules import (
    COMMON_RULES,
    Rule,
    is_storage_alter,
    strip_storage_clauses,
)
from redstep.warehouse.dialect.script import tokenize

# sqlglot logs a warning for every construct it cannot carry over ("Unsupported property") and
# for every statement it keeps as an opaque command; the rules deal with both, so the log is noise.
logging.getLogger("sqlglot").setLevel(logging.ERROR)

_TARGET_RULES: dict[Target, tuple[Rule, ...]] = {
    Target.DUCKDB: COMMON_RULES + rules_duckdb.DUCKDB_RULES,
    Target.POSTGRES: COMMON_RULES + rules_postgres.POSTGRES_RULES,
}
_SESSION_SETUP: dict[Target, tuple[str, ...]] = {
    Target.DUCKDB: rules_duckdb.SESSION_SETUP,
    Target.POSTGRES: rules_postgres.SESSION_SETUP,
}
# Dialect instances, looked up once rather than by name on every parse and generation.
REDSHIFT = Dialect.get_or_raise("redshift")
SQLGLOT_DIALECTS: dict[Target, Dialect] = {
    Target.DUCKDB: Dialect.get_or_raise("duckdb"),
    Target.POSTGRES: Dialect.get_or_raise("postgres"),
}

_CONTROL: dict[str, StatementKind] = {
    "BEGIN": StatementKind.BEGIN,
    "START": StatementKind.BEGIN,
    "COMMIT": StatementKind.COMMIT,
    "END": StatementKind.COMMIT,
    "ROLLBACK": StatementKind.ROLLBACK,
    "ABORT": StatementKind.ROLLBACK,
    "ANALYZE": StatementKind.IGNORED,
    "VACUUM": StatementKind.IGNORED,
}
TRANSLATIONS_KEPT = 512
"""How many translations a `translator` remembers, the least recently used going first."""
LONGEST_KEPT = 16_384
"""The longest statement a `translator` remembers: a longer one (a bulk INSERT … VALUES) is
rarely sent twice, and would hold its text and its translation."""
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_SENTINEL = "__redstep_parameter_{}__"


def session_setup(target: Target) -> tuple[str, ...]:
    """The SQL a backend runs on every new connection before anything else, in order."""
    return _SESSION_SETUP[target]


def translator(target: Target, *, buckets: Mapping[str, Path]) -> Callable[[str], Translation]:
    """`translate` for one target and one set of buckets, remembering its latest translations.

    Workflows send the same statements again and again (a poll, each run of a pipeline), and a
    translation costs sqlglot a parse and a generation (0.2 to 2 ms) while depending on the
    statement alone; a backend keeps one translator for its life. A COPY or UNLOAD (TRANSFER) is
    translated afresh each time: its translation lists the files in its bucket folder.
    """

    @lru_cache(maxsize=TRANSLATIONS_KEPT)
    def remembered(statement: str) -> Translation | None:
        translation = translate(statement, target, buckets=buckets)
        return None if translation.kind is StatementKind.TRANSFER else translation

    def translate_remembering(statement: str) -> Translation:
        kept = remembered(statement) if len(statement) <= LONGEST_KEPT else None
        return translate(statement, target, buckets=buckets) if kept is None else kept

    return translate_remembering


def translate(
    statement: str, target: Target, *, buckets: Mapping[str, Path] | None = None
) -> Translation:
    """Rewrite one Redshift statement (already split from its script) for `target`.

    `buckets` maps S3 bucket names to local folders, for COPY and UNLOAD.
    """
    tokens = tokenize(statement)
    if not tokens:
        return Translation(StatementKind.IGNORED)
    first = tokens[0].text.upper()
    if first in _CONTROL and tokens[0].token_type not in (TokenType.STRING, TokenType.IDENTIFIER):
        return Translation(_CONTROL[first])
    if first in ("COPY", "UNLOAD"):
        # Imported here: the transfer module imports this package's model.
        from redstep.warehouse.transfer import translate_transfer

        return translate_transfer(statement, target, buckets=buckets or {})
    if first in ("SET", "RESET"):
        return _translate_setting(statement, tokens, target)
    if is_storage_alter(tokens):
        return Translation(StatementKind.IGNORED)
    kind = StatementKind.TRUNCATE if first == "TRUNCATE" else StatementKind.QUERY
    text = strip_storage_clauses(statement, tokens)
    try:
        expression = sqlglot.parse_one(text, read=REDSHIFT)
    except ParseError:
        return _pass_through(text, target, kind)
    if isinstance(expression, exp.Command):
        return _pass_through(text, target, kind)
    expression.meta[SOURCE_TEXT] = text
    for rule in _TARGET_RULES[target]:
        expression = rule(expression)
    if isinstance(expression, exp.Alter) and not expression.args.get("actions"):
        return Translation(StatementKind.IGNORED)
    prelude = tuple(expression.meta.get(rules_duckdb.PRELUDE, ()))
    sql, names = _generate(expression, target)
    return Translation(kind, statements=(*prelude, sql), parameter_names=names)


def _generate(expression: exp.Expr, target: Target) -> tuple[str, tuple[str, ...]]:
    """The target's SQL for `expression`, and the parameter names it uses in order."""
    names: list[str] = []
    for placeholder in list(expression.find_all(exp.Placeholder, bfs=False)):
        name = placeholder.name
        if not name:
            continue
        if name not in names:
            names.append(name)
        placeholder.replace(exp.var(_SENTINEL.format(names.index(name))))
    sql = expression.sql(dialect=SQLGLOT_DIALECTS[target], unsupported_level=ErrorLevel.IGNORE)
    if target == Target.POSTGRES:
        sql = sql.replace("%", "%%")
    for index, name in enumerate(names):
        sql = sql.replace(_SENTINEL.format(index), _placeholder(name, target))
    return sql, tuple(names)


def _placeholder(name: str, target: Target) -> str:
    return f"${name}" if target == Target.DUCKDB else f"%({name})s"


def _pass_through(text: str, target: Target, kind: StatementKind) -> Translation:
    """`text` as written, with `:name` parameters replaced by the target's placeholders."""
    sql, names = replace_parameters(text, tokenize(text), target)
    return Translation(kind, statements=(sql,), parameter_names=names)


def replace_parameters(
    text: str, tokens: Sequence[Token], target: Target
) -> tuple[str, tuple[str, ...]]:
    """Replace `:name` tokens in `text` (never inside strings, quoted names or comments).

    On PostgreSQL every other `%` is doubled, since the backend always passes a mapping.
    """
    names: list[str] = []
    pieces: list[str] = []
    position = 0

    def copy_until(end: int) -> None:
        chunk = text[position:end]
        pieces.append(chunk.replace("%", "%%") if target == Target.POSTGRES else chunk)

    for colon, name in itertools.pairwise(tokens):
        is_parameter = (
            colon.token_type == TokenType.COLON
            and name.start == colon.end + 1
            and name.token_type not in (TokenType.STRING, TokenType.IDENTIFIER)
            and _NAME.match(name.text) is not None
        )
        if not is_parameter:
            continue
        copy_until(colon.start)
        if name.text not in names:
            names.append(name.text)
        pieces.append(_placeholder(name.text, target))
        position = name.end + 1
    copy_until(len(text))
    return "".join(pieces), tuple(names)


def _translate_setting(statement: str, tokens: Sequence[Token], target: Target) -> Translation:
    """`SET search_path` is kept (in DuckDB's spelling there); other Redshift settings
    (query_group, statement_timeout, wlm_query_slot_count, datestyle…) have no local meaning."""
    if len(tokens) < 2 or tokens[1].text.lower() != "search_path":
        return Translation(StatementKind.IGNORED)
    if target == Target.POSTGRES:
        return _pass_through(statement, target, StatementKind.QUERY)
    if tokens[0].text.upper() == "RESET":
        return Translation(StatementKind.QUERY, statements=("SET search_path = 'public'",))
    values = tokens[2:]
    if values and values[0].text.upper() in ("TO", "="):
        values = values[1:]
    schemas = [
        token.text.lower() if token.token_type != TokenType.IDENTIFIER else token.text
        for token in values
        if token.token_type != TokenType.COMMA and token.text != "$user"
    ]
    path = ",".join(schemas).replace("'", "''") or "public"
    return Translation(StatementKind.QUERY, statements=(f"SET search_path = '{path}'",))
