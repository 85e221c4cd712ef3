"""EventBridge schedule expressions — `cron(…)` and `rate(…)` — and the UTC times they name.

This module owns the syntax EventBridge accepts in a rule's ScheduleExpression and the arithmetic
of its fire times. It is pure: no clock, no I/O; moments come in as timezone-aware datetimes.

Cron (`cron(minutes hours day-of-month month day-of-week year)`, six fields, UTC):

| field        | values             | wildcards          |
|--------------|--------------------|--------------------|
| Minutes      | 0-59               | `, - * /`          |
| Hours        | 0-23               | `, - * /`          |
| Day-of-month | 1-31               | `, - * ? / L W`    |
| Month        | 1-12 or JAN-DEC    | `, - * /`          |
| Day-of-week  | 1-7 or SUN-SAT     | `, - * ? / L #`    |
| Year         | 1970-2199          | `, - * /`          |

One of Day-of-month and Day-of-week must be `?` (EventBridge never ORs them, as Vixie cron does).
`L` alone is the last day of the month (Day-of-month) or of the week, Saturday (Day-of-week);
`LW` the month's last weekday; `15W` the weekday nearest the 15th, within the month; `6L` the
month's last Friday; `3#2` its second Tuesday (and then the only expression in the field).
AWS's table leaves `/` out of Day-of-week, but some of its own translations and most guides list
it; redstep accepts it rather than refuse a schedule AWS may take.

The matching is cronsim's (a maintained Vixie-cron evaluator with Quartz's L, LW, `#` and `nL`):
the fields are checked here, with EventBridge's wording, then handed over translated — `?` becomes
`*` (with a `*` on the other day field cronsim ANDs the two, which is what `?` means), and days of
the week are renumbered from EventBridge's 1-7 (SUN-SAT) to cron's 0-6 and listed out, because
cronsim's ranges run to 7 (Sunday again) and would put Sunday in a stepped range EventBridge ends
at Saturday. Two things cronsim does not know are kept here: the Year field (a set of years; a
cron limited to past years has no next fire) and `W` (cronsim is given the days around the
named one, and a fire is kept only on the day that is the nearest weekday in its month).

Rate (`rate(value unit)`): a positive whole number and `minute | hour | day`, singular for 1 and
plural otherwise. EventBridge counts a rate from when the rule was created; a `RateSchedule` counts
from its `anchor` (the Unix epoch unless `anchored_at` says otherwise), firing at
`anchor + k * interval`. Whoever runs the schedule chooses the anchor and keeps it (see
`redstep.triggers`).

A bad expression raises `ScheduleError` worded as EventBridge answers PutRule
(`ValidationException: Parameter ScheduleExpression is not valid.`), followed by the reason, taken
from EventBridge's documentation where it states one.
"""

from __future__ import annotations

import calendar
import re
from bisect import bisect_left, bisect_right
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import ClassVar

from cronsim import CronSim, CronSimError

FIRST_YEAR = 1970
LAST_YEAR = 2199
EPOCH = datetime(FIRST_YEAR, 1, 1, tzinfo=UTC)
"""Where a rate schedule counts from until it is anchored."""

INVALID = "Parameter ScheduleExpression is not valid."
"""What EventBridge's PutRule answers (ValidationException) for any bad expression."""

_SECOND = timedelta(seconds=1)
_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_DAYS = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")
_CRON = re.compile(r"cron\((?P<fields>[^()]*)\)")
_RATE = re.compile(r"rate\((?P<body>[^()]*)\)")
_TERM = re.compile(r"(?P<first>\*|[0-9A-Z]+)(?:-(?P<last>[0-9A-Z]+))?(?:/(?P<step>[0-9]+))?")
_NEAREST_WEEKDAY = re.compile(r"(?P<day>[0-9]+)W")
_LAST_OF_WEEK = re.compile(r"(?P<day>[0-9A-Z]+)L")
_NTH_OF_WEEK = re.compile(r"(?P<day>[0-9A-Z]+)#(?P<nth>[0-9]+)")


class ScheduleError(ValueError):
    """A schedule expression EventBridge would refuse; `reason` says what is wrong with it."""

    code: ClassVar[str] = "ValidationException"

    def __init__(self, expression: str, reason: str) -> None:
        super().__init__(f"{INVALID} {expression}: {reason}")
        self.expression = expression
        self.reason = reason


class CronField(StrEnum):
    """The six fields of a cron expression, named as EventBridge's documentation names them."""

    MINUTES = "Minutes"
    HOURS = "Hours"
    DAY_OF_MONTH = "Day-of-month"
    MONTH = "Month"
    DAY_OF_WEEK = "Day-of-week"
    YEAR = "Year"


class RateUnit(StrEnum):
    """A rate's unit, singular."""

    MINUTE = "minute"
    HOUR = "hour"
    DAY = "day"


@dataclass(frozen=True, slots=True)
class _FieldRule:
    low: int
    high: int
    wildcards: str
    names: tuple[str, ...] = ()
    """Names of the values from `low` up, in order."""


_RULES = {
    CronField.MINUTES: _FieldRule(0, 59, ", - * /"),
    CronField.HOURS: _FieldRule(0, 23, ", - * /"),
    CronField.DAY_OF_MONTH: _FieldRule(1, 31, ", - * ? / L W"),
    CronField.MONTH: _FieldRule(1, 12, ", - * /", _MONTHS),
    CronField.DAY_OF_WEEK: _FieldRule(1, 7, ", - * ? / L #", _DAYS),
    CronField.YEAR: _FieldRule(FIRST_YEAR, LAST_YEAR, ", - * /"),
}

_UNITS = {f"{unit}{plural}": unit for unit in RateUnit for plural in ("", "s")}
_INTERVALS = {
    RateUnit.MINUTE: timedelta(minutes=1),
    RateUnit.HOUR: timedelta(hours=1),
    RateUnit.DAY: timedelta(days=1),
}


@dataclass(frozen=True, slots=True)
class CronSchedule:
    """A `cron(…)` expression, ready to say when it fires."""

    expression: str
    cron: str
    """The first five fields in Vixie cron's terms, as cronsim evaluates them."""
    years: tuple[int, ...]
    """The years the Year field allows, ascending."""
    nearest_weekday: int | None = None
    """The day of a `nW` Day-of-month: fire only on the weekday nearest it."""

    def next_after(self, moment: datetime) -> datetime | None:
        """The first fire time strictly after `moment` (aware), or None if there is none."""
        cursor = _utc(moment)
        year = _year_from(self.years, cursor.year)
        while year is not None:
            if year > cursor.year:
                cursor = datetime(year, 1, 1, tzinfo=UTC) - _SECOND
            try:
                found = next(CronSim(self.cron, cursor))
            except StopIteration:  # cronsim found nothing in fifty years: nor will we
                return None
            if found.year not in self.years:
                year = _year_from(self.years, found.year)
                cursor = found
            elif not self._is_nearest_weekday(found.date()):
                cursor = datetime.combine(found.date(), time(23, 59, 59), UTC)
                year = found.year
            else:
                return found
        return None

    def last_at_or_before(self, moment: datetime) -> datetime | None:
        """The latest fire time at or before `moment` (aware), or None if there is none."""
        cursor = _utc(moment).replace(microsecond=0) + _SECOND
        year = _year_until(self.years, cursor.year)
        while year is not None:
            if year < cursor.year:
                cursor = datetime(year + 1, 1, 1, tzinfo=UTC)
            try:
                found = next(CronSim(self.cron, cursor, reverse=True))
            except StopIteration:
                return None
            if found.year not in self.years:
                year = _year_until(self.years, found.year)
                cursor = found
            elif not self._is_nearest_weekday(found.date()):
                cursor = datetime.combine(found.date(), time(), UTC)
                year = found.year
            else:
                return found
        return None

    def fires_between(self, start: datetime, end: datetime) -> Iterator[datetime]:
        """Every fire time `t` with `start < t <= end`, in order."""
        return _fires_between(self, start, end)

    def _is_nearest_weekday(self, day: date) -> bool:
        return self.nearest_weekday is None or day.day == _nearest_weekday(
            day.year, day.month, self.nearest_weekday
        )


@dataclass(frozen=True, slots=True)
class RateSchedule:
    """A `rate(…)` expression: every `value` units, counted from `anchor`."""

    expression: str
    value: int
    unit: RateUnit
    anchor: datetime = EPOCH

    @property
    def interval(self) -> timedelta:
        """The time between two fires."""
        return self.value * _INTERVALS[self.unit]

    def anchored_at(self, anchor: datetime) -> RateSchedule:
        """The same rate counted from `anchor` (aware): it fires at `anchor + k * interval`."""
        return replace(self, anchor=_utc(anchor))

    def next_after(self, moment: datetime) -> datetime | None:
        """The first fire time strictly after `moment` (aware)."""
        steps = (_utc(moment) - self.anchor) // self.interval
        try:
            return self.anchor + (steps + 1) * self.interval
        except OverflowError:
            return None

    def last_at_or_before(self, moment: datetime) -> datetime | None:
        """The latest fire time at or before `moment` (aware)."""
        steps = (_utc(moment) - self.anchor) // self.interval
        try:
            return self.anchor + steps * self.interval
        except OverflowError:
            return None

    def fires_between(self, start: datetime, end: datetime) -> Iterator[datetime]:
        """Every fire time `t` with `start < t <= end`, in order."""
        return _fires_between(self, start, end)


Schedule = CronSchedule | RateSchedule


def parse_schedule(text: str) -> Schedule:
    """Read an EventBridge schedule expression; raise ScheduleError if EventBridge would not."""
    if (match := _CRON.fullmatch(text)) is not None:
        return _parse_cron(text, match["fields"])
    if (match := _RATE.fullmatch(text)) is not None:
        return _parse_rate(text, match["body"])
    raise ScheduleError(text, "expected cron(fields) or rate(value unit)")


# -- rate ------------------------------------------------------------------------------------


def _parse_rate(text: str, body: str) -> RateSchedule:
    parts = body.split()
    if len(parts) != 2:
        raise ScheduleError(text, "rate expressions have two required fields: rate(value unit)")
    value_text, unit_text = parts
    if not value_text.isascii() or not value_text.isdigit() or int(value_text) == 0:
        raise ScheduleError(text, f"the value {value_text!r} is not a positive whole number")
    unit = _UNITS.get(unit_text)
    if unit is None:
        raise ScheduleError(
            text,
            f"the unit {unit_text!r} is not one of minute | minutes | hour | hours | day | days",
        )
    value = int(value_text)
    if (value == 1) != (unit_text == unit):
        raise ScheduleError(
            text,
            "if the value is equal to 1, then the unit must be singular; "
            "if the value is greater than 1, the unit must be plural",
        )
    return RateSchedule(text, value, unit)


# -- cron ------------------------------------------------------------------------------------


def _parse_cron(text: str, body: str) -> CronSchedule:
    fields = body.upper().split()
    if len(fields) != len(CronField):
        raise ScheduleError(
            text,
            f"found {len(fields)} fields; cron expressions have six required fields "
            "(Minutes Hours Day-of-month Month Day-of-week Year), separated by white space",
        )
    minutes, hours, day_of_month, month, day_of_week, year = fields
    if (day_of_month == "?") == (day_of_week == "?"):
        raise ScheduleError(
            text,
            "you can't specify the Day-of-month and Day-of-week fields in the same cron "
            "expression; if you specify a value or a * (asterisk) in one of the fields, you must "
            "use a ? (question mark) in the other",
        )
    _check_plain(text, CronField.MINUTES, minutes)
    _check_plain(text, CronField.HOURS, hours)
    _check_plain(text, CronField.MONTH, month)
    days, nearest = _day_of_month(text, day_of_month)
    weekdays = _day_of_week(text, day_of_week)
    cron = f"{minutes} {hours} {days} {month} {weekdays}"
    try:
        CronSim(cron, EPOCH)
    except CronSimError as error:
        # After the checks above, what cronsim refuses is a day no allowed month has (30 FEB).
        raise ScheduleError(
            text,
            f"Day-of-month {day_of_month} is not a day of any month the Month field allows"
            if str(error) == "Bad day-of-month"
            else f"{error} in {cron!r}",
        ) from None
    return CronSchedule(text, cron, tuple(sorted(_values(text, CronField.YEAR, year))), nearest)


def _check_plain(text: str, field: CronField, value: str) -> None:
    """A field with only `, - * /`: check it; cronsim reads it as it stands."""
    _values(text, field, value)


def _day_of_month(text: str, value: str) -> tuple[str, int | None]:
    """The Day-of-month field for cronsim, and the day a `nW` names."""
    if value == "?":
        return "*", None
    if value in ("L", "LW"):
        return value, None
    if (match := _NEAREST_WEEKDAY.fullmatch(value)) is not None:
        day = _number(text, CronField.DAY_OF_MONTH, match["day"])
        # The nearest weekday is at most two days away (1W on a Saturday is Monday the 3rd).
        return f"{max(1, day - 2)}-{min(31, day + 2)}", day
    if "L" in value or "W" in value:
        raise ScheduleError(
            text,
            f"Day-of-month {value!r}: L, LW and nW (the weekday nearest day n) stand alone in "
            "the field",
        )
    _values(text, CronField.DAY_OF_MONTH, value)
    return value, None


def _day_of_week(text: str, value: str) -> str:
    """The Day-of-week field in cron's numbering (0-6 from Sunday) for cronsim."""
    field = CronField.DAY_OF_WEEK
    if value == "?":
        return "*"
    if value == "L":
        return "6"  # the last day of the week: Saturday
    if (match := _NTH_OF_WEEK.fullmatch(value)) is not None:
        day, nth = _number(text, field, match["day"]), match["nth"]
        if not nth.isdigit() or not 1 <= int(nth) <= 5:
            raise ScheduleError(text, f"Day-of-week {value!r}: the instance after # must be 1-5")
        return f"{day - 1}#{int(nth)}"
    if "#" in value:
        raise ScheduleError(
            text,
            "if you use a '#' character, you can define only one expression in the day-of-week "
            f"field ({value!r} is more than one)",
        )
    if (match := _LAST_OF_WEEK.fullmatch(value)) is not None:
        return f"{_number(text, field, match['day']) - 1}L"
    if "L" in value:  # no day name holds an L
        raise ScheduleError(text, f"Day-of-week {value!r}: L and nL stand alone in the field")
    return ",".join(str(day - 1) for day in sorted(_values(text, field, value)))


def _values(text: str, field: CronField, value: str) -> set[int]:
    """The values a field of `, - * /` terms names; ScheduleError if it is not one."""
    rule = _RULES[field]
    values: set[int] = set()
    for term in value.split(","):
        match = _TERM.fullmatch(term)
        if match is None:
            raise ScheduleError(
                text,
                f"{field} {value!r}: {term!r} is not a value, range or increment this field "
                f"accepts ({rule.low}-{rule.high}; wildcards {rule.wildcards})",
            )
        first, last, step = match["first"], match["last"], match["step"]
        if first == "*":
            if last is not None:
                raise ScheduleError(text, f"{field} {value!r}: * can't start a range")
            low, high = rule.low, rule.high
        else:
            low = _number(text, field, first)
            high = _number(text, field, last) if last is not None else low
            if high < low:
                raise ScheduleError(text, f"{field} {value!r}: the range {term} runs backwards")
            if last is None and step is not None:
                high = rule.high  # `a/n`: from a to the end of the field
        increment = 1 if step is None else int(step)
        if not 1 <= increment <= rule.high - rule.low:
            raise ScheduleError(
                text,
                f"{field} {value!r}: the increment {step} is not between 1 and "
                f"{rule.high - rule.low}",
            )
        values.update(range(low, high + 1, increment))
    return values


def _number(text: str, field: CronField, token: str) -> int:
    """One value of a field, as a number or a name (JAN, MON…)."""
    rule = _RULES[field]
    if token in rule.names:
        return rule.low + rule.names.index(token)
    if token.isascii() and token.isdigit() and rule.low <= int(token) <= rule.high:
        return int(token)
    names = f" or {rule.names[0]}-{rule.names[-1]}" if rule.names else ""
    raise ScheduleError(
        text,
        f"{field}: {token!r} is not one of its values ({rule.low}-{rule.high}{names}; "
        f"wildcards {rule.wildcards})",
    )


# -- times -----------------------------------------------------------------------------------


def _fires_between(schedule: Schedule, start: datetime, end: datetime) -> Iterator[datetime]:
    last = _utc(end)
    moment = schedule.next_after(start)
    while moment is not None and moment <= last:
        yield moment
        moment = schedule.next_after(moment)


def _nearest_weekday(year: int, month: int, day: int) -> int | None:
    """The day of the month that `dayW` names, or None when the month is shorter than `day`.

    Quartz's rule, which EventBridge documents by example ("3W: the weekday closest to the third
    day of the month"): a Saturday moves to the Friday before and a Sunday to the Monday after,
    unless that would leave the month, in which case it goes the other way.
    """
    length = calendar.monthrange(year, month)[1]
    if day > length:
        return None
    match date(year, month, day).weekday():
        case 5:  # Saturday
            return day - 1 if day > 1 else day + 2
        case 6:  # Sunday
            return day + 1 if day < length else day - 2
        case _:
            return day


def _year_from(years: tuple[int, ...], year: int) -> int | None:
    """The first allowed year at or after `year`."""
    index = bisect_left(years, year)
    return years[index] if index < len(years) else None


def _year_until(years: tuple[int, ...], year: int) -> int | None:
    """The last allowed year at or before `year`."""
    index = bisect_right(years, year)
    return years[index - 1] if index > 0 else None


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"schedules need a timezone-aware moment, not {moment.isoformat()}")
    return moment.astimezone(UTC)
