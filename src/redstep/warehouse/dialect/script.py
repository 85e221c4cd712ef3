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
        # sqlglot chains the error that says what is missing (its compiled build implicitly)
        raise ScriptError(_unterminated(sql, error.__cause__ or error.__context__)) from error


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


def split_script(script: str, *, with_comments: bool = True) -> list[str]:
    """Split `script` at the `;` tokens that end statements; return the statements as written.

    `with_comments=False` gives each statement from its first token to its last: a comment
    before it (the script's commentary on what comes next) is not part of it. An unterminated
    string or comment raises ScriptError, since no statement boundary after it can be trusted.
    """
    statements: list[str] = []
    start = 0
    first: int | None = None  # where the statement's first token starts
    last = 0  # where its last token ends (inclusive)
    for token in tokenize(script):
        if token.token_type == TokenType.SEMICOLON:
            if first is not None:
                text = script[start : token.start] if with_comments else script[first : last + 1]
                statements.append(text.strip())
            start = token.end + 1
            first = None
        else:
            first = token.start if first is None else first
            last = token.end
    if first is not None:
        statements.append((script[start:] if with_comments else script[first : last + 1]).strip())
    return statements
