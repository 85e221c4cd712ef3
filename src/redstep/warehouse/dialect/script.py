"""Splitting a Redshift script into statements.

The split runs on sqlglot's Redshift tokenizer, so a `;` inside a string, a quoted identifier, a
comment or a `$$ … $$` / `$tag$ … $tag$` body never ends a statement. Each statement comes back as
written, trimmed; fragments holding nothing but blanks or comments are dropped.
"""

from __future__ import annotations

from sqlglot.dialects.redshift import Redshift
from sqlglot.errors import TokenError
from sqlglot.tokenizer_core import Token, TokenType

_DIALECT = Redshift()


class ScriptError(ValueError):
    """A script could not be tokenized (for instance, a string literal is never closed)."""


def tokenize(sql: str) -> list[Token]:
    """Redshift tokens of `sql`; a script that cannot be tokenized raises ScriptError."""
    try:
        return list(_DIALECT.tokenize(sql))
    except TokenError as error:
        raise ScriptError(f"syntax error in SQL script: {error}") from error


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
