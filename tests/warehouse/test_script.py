"""The script splitter: statements split at `;` tokens only, as written."""

from __future__ import annotations

import pytest

from redstep.warehouse.dialect import split_script
from redstep.warehouse.dialect.script import ScriptError


def test_splits_at_semicolons_and_trims() -> None:
    assert split_script("  select 1 ;\n select 2;select 3  ") == [
        "select 1",
        "select 2",
        "select 3",
    ]


def test_semicolon_in_string_does_not_split() -> None:
    assert split_script("select 'a;b'; select 'it''s;'") == ["select 'a;b'", "select 'it''s;'"]


def test_semicolon_in_quoted_identifier_does_not_split() -> None:
    assert split_script('select 1 as "x;y"; select 2') == ['select 1 as "x;y"', "select 2"]


def test_semicolon_in_comments_does_not_split() -> None:
    script = "select 1 -- one; two\n; /* three; four */ select 2"
    assert split_script(script) == ["select 1 -- one; two", "/* three; four */ select 2"]


def test_dollar_quoted_bodies_do_not_split() -> None:
    script = "select $$ a; b $$; select $tag$ c; d $tag$; select 3"
    assert split_script(script) == ["select $$ a; b $$", "select $tag$ c; d $tag$", "select 3"]


def test_empty_and_comment_only_fragments_are_dropped() -> None:
    assert split_script(";; -- nothing\n; /* x */ ;select 1;\n-- trailing\n") == ["select 1"]
    assert split_script("") == []
    assert split_script("  \n-- only a comment") == []


def test_statement_text_is_returned_as_written() -> None:
    statement = "SELECT  A ,\n  'x'::varchar  FROM   T"
    assert split_script(statement + ";") == [statement]


@pytest.mark.parametrize(
    ("script", "message"),
    [
        ("select 'abc; select 2", 'unterminated quoted string at or near "\'abc; select 2"'),
        ('select "abc', 'unterminated quoted identifier at or near ""abc"'),
        ("select $$ body; more", 'unterminated dollar-quoted string at or near "$$ body; more"'),
        ("select 1 /* open", 'unterminated /* comment at or near "/* open"'),
    ],
)
def test_an_unterminated_script_is_a_redshift_syntax_error(script: str, message: str) -> None:
    with pytest.raises(ScriptError) as raised:
        split_script(script)
    assert (raised.value.message, raised.value.sqlstate) == (message, "42601")
