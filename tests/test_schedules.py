"""EventBridge schedule expressions: what is refused (in EventBridge's words), when each fires."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from redstep.schedules import (
    INVALID,
    CronSchedule,
    RateSchedule,
    RateUnit,
    ScheduleError,
    parse_schedule,
)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def fires(expression: str, after: str, count: int = 4) -> list[str]:
    schedule = parse_schedule(expression)
    moments: list[str] = []
    moment: datetime | None = at(after)
    while len(moments) < count:
        assert moment is not None
        moment = schedule.next_after(moment)
        if moment is None:
            break
        moments.append(moment.strftime("%a %Y-%m-%d %H:%M"))
    return moments


# -- refused -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "reason"),
    [
        ("every day", r"expected cron\(fields\) or rate\(value unit\)"),
        ("cron(0 2 * * ?)", r"found 5 fields; cron expressions have six required fields"),
        ("cron(0 2 * * * *)", r"you can't specify the Day-of-month and Day-of-week fields"),
        ("cron(0 2 ? * ? *)", r"you must use a \? \(question mark\) in the other"),
        ("cron(0 2 5 * MON *)", r"you can't specify the Day-of-month and Day-of-week fields"),
        ("cron(60 2 * * ? *)", r"Minutes: '60' is not one of its values \(0-59;"),
        ("cron(0 24 * * ? *)", r"Hours: '24' is not one of its values \(0-23;"),
        ("cron(0 0 32 * ? *)", r"Day-of-month: '32' is not one of its values \(1-31;"),
        ("cron(0 0 1 13 ? *)", r"Month: '13' is not one of its values \(1-12 or JAN-DEC;"),
        ("cron(0 0 ? * 0 *)", r"Day-of-week: '0' is not one of its values \(1-7 or SUN-SAT;"),
        ("cron(0 0 ? * FUN *)", r"Day-of-week: 'FUN' is not one of its values"),
        ("cron(0 0 1 1 ? 1969)", r"Year: '1969' is not one of its values \(1970-2199;"),
        ("cron(0 0 1 1 ? 2200)", r"Year: '2200' is not one of its values \(1970-2199;"),
        ("cron(*/60 * * * ? *)", r"the increment 60 is not between 1 and 59"),
        ("cron(0/0 * * * ? *)", r"the increment 0 is not between 1 and 59"),
        ("cron(0 0 5-1 * ? *)", r"the range 5-1 runs backwards"),
        (
            "cron(0 0 L * ? L)",
            r"Year: 'L' is not one of its values \(1970-2199; wildcards , - \* /\)",
        ),
        (
            "cron(0 0 1 L ? *)",
            r"Month: 'L' is not one of its values \(1-12 or JAN-DEC; wildcards , - \* /\)",
        ),
        ("cron(0 0 ? * 3#1,6#3 *)", r"you can define only one expression in the day-of-week field"),
        ("cron(0 0 ? * 2#6 *)", r"the instance after # must be 1-5"),
        ("cron(0 0 L,15 * ? *)", r"L, LW and nW .* stand alone in the field"),
        ("cron(0 0 1-5W * ? *)", r"L, LW and nW .* stand alone in the field"),
        ("cron(0 0 ? * 6L,2 *)", r"L and nL stand alone in the field"),
        ("cron(0 0 30 FEB ? *)", r"Day-of-month 30 is not a day of any month the Month field"),
        ("cron(0 0 ,1 * ? *)", r"'' is not a value, range or increment"),
        ("rate(5)", r"rate expressions have two required fields: rate\(value unit\)"),
        ("rate(0 minutes)", r"the value '0' is not a positive whole number"),
        ("rate(1.5 hours)", r"the value '1.5' is not a positive whole number"),
        ("rate(-5 minutes)", r"the value '-5' is not a positive whole number"),
        ("rate(2 weeks)", r"the unit 'weeks' is not one of minute \| minutes \| hour"),
        ("rate(1 hours)", r"if the value is equal to 1, then the unit must be singular"),
        ("rate(5 hour)", r"if the value is greater than 1, the unit must be plural"),
    ],
)
def test_refused_expressions_say_why_in_eventbridges_words(expression: str, reason: str) -> None:
    with pytest.raises(ScheduleError, match=reason) as raised:
        parse_schedule(expression)
    assert str(raised.value).startswith(f"{INVALID} {expression}: ")
    assert raised.value.code == "ValidationException"
    assert raised.value.expression == expression


def test_a_schedule_error_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="Parameter ScheduleExpression is not valid"):
        parse_schedule("cron()")


# -- cron --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "after", "expected"),
    [
        # AWS's own examples
        (
            "cron(0 10 * * ? *)",
            "2024-11-27T10:00",
            ["Thu 2024-11-28 10:00", "Fri 2024-11-29 10:00"],
        ),
        (
            "cron(0 18 ? * MON-FRI *)",
            "2024-11-29T18:00",
            ["Mon 2024-12-02 18:00", "Tue 2024-12-03 18:00"],
        ),
        (
            "cron(0 8 1 * ? *)",
            "2024-11-27T00:00",
            ["Sun 2024-12-01 08:00", "Wed 2025-01-01 08:00"],
        ),
        (
            "cron(0/10 * ? * MON-FRI *)",
            "2024-11-29T23:45",
            ["Fri 2024-11-29 23:50", "Mon 2024-12-02 00:00", "Mon 2024-12-02 00:10"],
        ),
        (
            "cron(0 9 ? * 2#1 *)",  # the first Monday of each month
            "2024-11-27T00:00",
            ["Mon 2024-12-02 09:00", "Mon 2025-01-06 09:00", "Mon 2025-02-03 09:00"],
        ),
        (
            "cron(15 10 ? * 6L 2019-2022)",  # the last Friday of each month, 2019 to 2022
            "2022-10-01T00:00",
            ["Fri 2022-10-28 10:15", "Fri 2022-11-25 10:15", "Fri 2022-12-30 10:15"],
        ),
        # 1/10: every tenth minute from the first
        (
            "cron(1/10 * * * ? *)",
            "2024-11-27T10:45",
            ["Wed 2024-11-27 10:51", "Wed 2024-11-27 11:01"],
        ),
        # L: the last day of the month, including February of a leap year
        (
            "cron(0 0 L * ? *)",
            "2024-01-31T00:00",
            ["Thu 2024-02-29 00:00", "Sun 2024-03-31 00:00", "Tue 2024-04-30 00:00"],
        ),
        # LW: the last weekday of the month (November 2024 ends on a Saturday)
        (
            "cron(0 0 LW * ? *)",
            "2024-11-01T00:00",
            ["Fri 2024-11-29 00:00", "Tue 2024-12-31 00:00"],
        ),
        # L in Day-of-week: the last day of the week, Saturday
        ("cron(0 0 ? * L *)", "2024-11-27T00:00", ["Sat 2024-11-30 00:00", "Sat 2024-12-07 00:00"]),
        # 15W: the 15th, or the nearest weekday (Sunday 15 Dec -> Monday; Saturday 15 Feb -> Friday)
        (
            "cron(0 0 15W * ? *)",
            "2024-11-27T00:00",
            ["Mon 2024-12-16 00:00", "Wed 2025-01-15 00:00", "Fri 2025-02-14 00:00"],
        ),
        # 1W never leaves the month: Saturday 1 Feb 2025 -> Monday the 3rd
        (
            "cron(0 0 1W * ? *)",
            "2025-01-15T00:00",
            ["Mon 2025-02-03 00:00", "Mon 2025-03-03 00:00", "Tue 2025-04-01 00:00"],
        ),
        # 30W in a month ending on Sunday the 30th goes back to Friday; February has no 30th
        (
            "cron(0 0 30W * ? *)",
            "2025-11-01T00:00",
            ["Fri 2025-11-28 00:00", "Tue 2025-12-30 00:00", "Fri 2026-01-30 00:00"],
        ),
        ("cron(0 0 30W 2 ? *)", "2024-01-01T00:00", []),
        # Day names and month names, any case
        (
            "cron(30 6 ? jan,jul sun *)",
            "2025-01-20T00:00",
            ["Sun 2025-01-26 06:30", "Sun 2025-07-06 06:30"],
        ),
        # 2/2 in Day-of-week: Monday, Wednesday, Friday (it stops at Saturday: no Sunday)
        (
            "cron(0 0 ? * 2/2 *)",
            "2024-11-30T00:00",
            ["Mon 2024-12-02 00:00", "Wed 2024-12-04 00:00", "Fri 2024-12-06 00:00"],
        ),
        # */2 in Day-of-week: 1, 3, 5, 7 = Sunday, Tuesday, Thursday, Saturday
        (
            "cron(0 0 ? * */2 *)",
            "2024-11-27T00:00",
            ["Thu 2024-11-28 00:00", "Sat 2024-11-30 00:00", "Sun 2024-12-01 00:00"],
        ),
        # 29 February only in leap years
        (
            "cron(0 0 29 FEB ? *)",
            "2024-03-01T00:00",
            ["Tue 2028-02-29 00:00", "Sun 2032-02-29 00:00"],
        ),
        # the fifth Monday of February: once in 28 years at most
        ("cron(0 0 ? 2 MON#5 *)", "2020-01-01T00:00", ["Mon 2044-02-29 00:00"]),
    ],
)
def test_cron_fires_at_the_times_it_names(expression: str, after: str, expected: list[str]) -> None:
    assert fires(expression, after, count=len(expected) or 1) == expected


@pytest.mark.parametrize(
    ("expression", "after", "expected"),
    [
        (
            "cron(0 0 1 1 ? 2030,2040)",
            "2024-06-01T00:00",
            ["Tue 2030-01-01 00:00", "Sun 2040-01-01 00:00"],
        ),
        (
            "cron(0 12 31 DEC ? 2025/5)",
            "2024-06-01T00:00",
            ["Wed 2025-12-31 12:00", "Tue 2030-12-31 12:00", "Mon 2035-12-31 12:00"],
        ),
        ("cron(0 0 1 1 ? 2000-2010)", "2024-06-01T00:00", []),
        ("cron(59 23 31 12 ? 2199)", "2199-12-31T23:58", ["Tue 2199-12-31 23:59"]),
        ("cron(* * * * ? *)", "2199-12-31T23:59", []),
    ],
)
def test_the_year_field_limits_the_fires(expression: str, after: str, expected: list[str]) -> None:
    assert fires(expression, after, count=3) == expected


def test_a_cron_limited_to_past_years_has_no_next_fire() -> None:
    schedule = parse_schedule("cron(0 0 1 1 ? 2000-2010)")
    assert schedule.next_after(at("2024-01-01T00:00")) is None
    assert schedule.last_at_or_before(at("2024-01-01T00:00")) == at("2010-01-01T00:00")


def test_next_after_is_strictly_after_and_last_at_or_before_includes_the_moment() -> None:
    schedule = parse_schedule("cron(0 2 * * ? *)")
    assert schedule.next_after(at("2024-11-27T02:00")) == at("2024-11-28T02:00")
    assert schedule.next_after(at("2024-11-27T01:59:59.999")) == at("2024-11-27T02:00")
    assert schedule.last_at_or_before(at("2024-11-27T02:00")) == at("2024-11-27T02:00")
    assert schedule.last_at_or_before(at("2024-11-27T01:59:59")) == at("2024-11-26T02:00")


def test_last_at_or_before_keeps_to_the_year_and_w_rules() -> None:
    assert parse_schedule("cron(0 0 15W * ? 2024)").last_at_or_before(at("2025-06-01T00:00")) == at(
        "2024-12-16T00:00"
    )
    assert parse_schedule("cron(0 0 1 1 ? 2030)").last_at_or_before(at("2029-01-01T00:00")) is None


def test_fires_between_is_open_at_the_start_and_closed_at_the_end() -> None:
    schedule = parse_schedule("cron(0 2 * * ? *)")
    assert list(schedule.fires_between(at("2024-11-27T02:00"), at("2024-11-29T02:00"))) == [
        at("2024-11-28T02:00"),
        at("2024-11-29T02:00"),
    ]


def test_moments_in_other_zones_are_read_as_the_instants_they_are() -> None:
    schedule = parse_schedule("cron(0 2 * * ? *)")
    paris = timezone(timedelta(hours=1))
    assert schedule.next_after(datetime(2024, 11, 27, 3, 30, tzinfo=paris)) == at(
        "2024-11-28T02:00"
    )


def test_a_moment_without_a_timezone_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        parse_schedule("cron(0 2 * * ? *)").next_after(datetime(2024, 11, 27))


def test_a_cron_is_handed_to_cronsim_in_cron_terms() -> None:
    schedule = parse_schedule("cron(0 9 ? * MON-FRI *)")
    assert isinstance(schedule, CronSchedule)
    assert schedule.cron == "0 9 * * 1,2,3,4,5"


# -- rate --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "value", "unit", "interval"),
    [
        ("rate(1 minute)", 1, RateUnit.MINUTE, timedelta(minutes=1)),
        ("rate(5 minutes)", 5, RateUnit.MINUTE, timedelta(minutes=5)),
        ("rate(1 hour)", 1, RateUnit.HOUR, timedelta(hours=1)),
        ("rate(12 hours)", 12, RateUnit.HOUR, timedelta(hours=12)),
        ("rate(1 day)", 1, RateUnit.DAY, timedelta(days=1)),
        ("rate(7 days)", 7, RateUnit.DAY, timedelta(days=7)),
    ],
)
def test_rates(expression: str, value: int, unit: RateUnit, interval: timedelta) -> None:
    schedule = parse_schedule(expression)
    assert schedule == RateSchedule(expression, value, unit)
    assert schedule.interval == interval


def test_a_rate_counts_from_its_anchor() -> None:
    schedule = parse_schedule("rate(5 minutes)")
    assert isinstance(schedule, RateSchedule)
    anchored = schedule.anchored_at(at("2024-11-27T10:03"))
    assert anchored.next_after(at("2024-11-27T10:03")) == at("2024-11-27T10:08")
    assert anchored.next_after(at("2024-11-27T10:09:30")) == at("2024-11-27T10:13")
    assert anchored.last_at_or_before(at("2024-11-27T10:13")) == at("2024-11-27T10:13")
    assert list(anchored.fires_between(at("2024-11-27T10:03"), at("2024-11-27T10:18"))) == [
        at("2024-11-27T10:08"),
        at("2024-11-27T10:13"),
        at("2024-11-27T10:18"),
    ]


def test_an_unanchored_rate_counts_from_the_epoch() -> None:
    assert parse_schedule("rate(1 hour)").next_after(at("2024-11-27T10:03")) == at(
        "2024-11-27T11:00"
    )
