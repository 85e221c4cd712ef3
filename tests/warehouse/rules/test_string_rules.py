"""REDSHIFT.md: char padding, blank-insensitive comparison, len, and ETL string functions."""

from __future__ import annotations

from collections.abc import Callable

Run = Callable[..., list[tuple[object, ...]]]


def test_char_is_blank_padded(run: Run) -> None:
    assert run("select cast('ab' as char(5))") == [("ab   ",)]


def test_trailing_blanks_are_insignificant_in_comparisons(run: Run) -> None:
    rows = run(
        "select 'ab' = 'ab  ', 'ab  ' = 'ab', 'ab' <> 'ab ', 'ab ' < 'ab',"
        " cast('ab' as char(4)) = 'ab', cast('ab  ' as varchar(5)) = 'ab', 'ab' = ' ab'"
    )
    assert rows == [(True, True, False, False, True, True, False)]
    run("create table t (code varchar(10), n int)", "insert into t values ('ab', 1), ('cd', 2)")
    assert run("select n from t where lower(code) = 'ab   '") == [(1,)]
    assert run("select n from t where upper(code) in ('CD  ') ") == [(2,)]
    assert run("select n from t where upper(code) = 'AB ' and n = 1") == [(1,)]


def test_len_counts_trailing_blanks_of_varchar_not_char(run: Run) -> None:
    assert run("select len('cat   '), length('cat   '), len(cast('cat   ' as char(6)))") == [
        (6, 6, 3)
    ]


def test_nvl_nvl2_coalesce_decode(run: Run) -> None:
    rows = run(
        "select nvl(null, 1), nvl2(null, 'a', 'b'), nvl2(1, 'a', 'b'), coalesce(null, null, 3),"
        " decode(2, 1, 'one', 2, 'two', 'other'), decode(null, null, 'none', 'other'),"
        " decode(5, 1, 'one')"
    )
    assert rows == [(1, "b", "a", 3, "two", "none", None)]


def test_listagg_within_group(run: Run) -> None:
    run(
        "create table t (g int, s varchar(5), n int)",
        "insert into t values (1, 'b', 2), (1, 'a', 1), (1, 'c', 3), (2, 'z', 9), (1, 'a', 1)",
    )
    rows = run(
        "select g, listagg(s, ',') within group (order by s),"
        " listagg(distinct s, '-') within group (order by s desc), listagg(n) within group"
        " (order by n) from t group by g order by g"
    )
    assert rows == [(1, "a,a,b,c", "c-b-a", "1123"), (2, "z", "z", "9")]


def test_len_charindex_strpos_split_part_left_right(run: Run) -> None:
    rows = run(
        "select len('hello'), charindex('l', 'hello'), strpos('hello', 'lo'), charindex('x', 'a'),"
        " split_part('a,b,c', ',', 2), split_part('a,b', ',', 5), left('hello', 2),"
        " right('hello', 3)"
    )
    assert rows == [(5, 3, 4, 0, "b", "", "he", "llo")]


def test_regexp_replace_and_regexp_substr(run: Run) -> None:
    rows = run(
        "select regexp_replace('a1b22c', '[0-9]+', '#'), regexp_replace('aaa', 'a'),"
        " regexp_substr('abc123def', '[0-9]+'), regexp_substr('abc', '[0-9]+')"
    )
    assert rows == [("a#b#c", "", "123", "")]


def test_md5(run: Run) -> None:
    assert run("select md5('redstep')") == [("8a3dbc928fba523227d69dc6dcade4d2",)]


def test_median_percentile_cont_and_approximate_count_distinct(run: Run) -> None:
    run("create table t (a int)", "insert into t values (1), (2), (4), (4)")
    rows = run(
        "select median(a), percentile_cont(0.5) within group (order by a),"
        " approximate count(distinct a) from t"
    )
    assert [float(v) for v in rows[0][:2]] == [3.0, 3.0]
    assert rows[0][2] == 3


def test_stored_trailing_blanks_match_an_equal_literal(run: Run) -> None:
    run(
        "create table t (v varchar(10), d date)",
        "insert into t values ('A ', '2024-01-02'), ('B', '2024-01-03')",
    )
    assert run("select v from t where v = 'A '") == [("A ",)]
    assert run("select v from t where 'A ' = v and d = '2024-01-02'") == [("A ",)]
    assert run("select count(*) from t where v in ('A ', 'B')") == [(2,)]
