"""Splitting a Redshift script into statements.

The split runs on sqlglot's Redshift tokenizer, so a `;` inside a string, a quoted identifier, a
comment or a `$$ … $$` / `$tag$ … $tag$` body never ends a statement. Each statement comes back as
written, trimmed; fragments holding nothing but blanks or comments are dropped.
"""

from __future__ import annotations

import re

from sqlglot.dialects.redshift import Redshift
from sqlglot.errors import TokenError
from sqlglot.tokenizer_core import Token, TokenType

from redstep.warehouse.base import WarehouseError

_DIALECT = Redshift()
_MISSING = re.compile(r"^Missing (?P<delimiter>\S+) from")
# What is left open, by the delimiter sqlglot misses, in PostgreSQL's (and Redshift's) words.
_UNTERMINATED = {"'": "quoted string", '"': "quoted identifier"}


class ScriptError(WarehouseError):
    """A script could not be tokenized: a string, quoted name, comment or `$$` body never ends.

    It is a SQL error like any other, worded as Redshift words it
    (`unterminated quoted string at or near "'abc"`).
    """

    def __init__(self, message: str) -> None:
        super().__init__(message, sqlstate="42601")


def tokenize(sql: str) -> list[Token]:
    """Redshift tokens of `sql`; a script that cannot be tokenized raises ScriptError."""
    try:
        return list(_DIALECT.tokenize(sql))
    except TokenError as error:
        raise ScriptError(_unterminated(sql, error.__cause__)) from error


def _unterminated(sql: str, cause: BaseException | None) -> str:
    """Name what `sql` leaves open, and quote it from where it opens."""
    missing = _MISSING.match(str(cause)) if isinstance(cause, TokenError) else None
    if missing is None:  # sqlglot runs off the end of an unclosed /* comment
        opening, what = "/*", "/* comment"
    else:
        opening = missing["delimiter"]
        what = _UNTERMINATED.get(opening, "dollar-quoted string")
    start = sql.rfind(opening)
    near = sql[start:] if start >= 0 else sql
    return f'unterminated {what} at or near "{near}"'


def split_script(script: str) -> list[str]:
    """Split `script` at the `;` tokens that end statements; return the statements as written.

    An unterminated string or comment raises ScriptError, since no statement boundary after it
    can be trusted.
    """
    statements: list[str] = []
    start = 0
    has_tokens = False
    for token in tokenize(script):
        if token.token_type == TokenType.SEMICOLON:
            if has_tokens:
                statements.append(script[start : token.start].strip())
            start = token.end + 1
            has_tokens = False
        else:
            has_tokens = True
    if has_tokens:
        statements.append(script[start:].strip())
    return statements
