"""The as-of moment and calendar arithmetic on wall-clock times.

All times the compiler reasons about are wall-clock times in the project's time
zone (naive `datetime`s; `fold` tells the two occurrences of a repeated hour apart).
Days and weeks step the calendar (so `1d` across a daylight-saving change is 23 or 25
real hours), months and years clamp to the end of shorter months (Mar 31 − 1mo =
Feb 28/29); hours, minutes and seconds are elapsed time (`24h` before 12:00 on the
day clocks went forward is 11:00 the day before).
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from segdsl import ir


@dataclass(frozen=True)
class AsOf:
    """One as-of moment: wall-clock time in `zone`, to the microsecond."""

    wall: dt.datetime  # naive
    zone: ZoneInfo

    @classmethod
    def now(cls, zone: ZoneInfo) -> AsOf:
        return cls(dt.datetime.now(zone).replace(tzinfo=None, microsecond=0), zone)

    @classmethod
    def parse(cls, text: str, zone: ZoneInfo) -> AsOf:
        """From `2025-07-01`, `2025-07-01T12:00:00` or an ISO time with an offset or `Z`."""
        text = text.strip()
        if len(text) == 10:
            return cls(dt.datetime.combine(dt.date.fromisoformat(text), dt.time()), zone)
        value = dt.datetime.fromisoformat(text.replace("Z", "+00:00").replace(" ", "T", 1))
        if value.tzinfo is not None:
            value = value.astimezone(zone).replace(tzinfo=None)
        return cls(value, zone)

    @property
    def date(self) -> dt.date:
        return self.wall.date()

    def resolve(self, anchor: ir.TimeAnchor) -> dt.datetime:
        """The wall-clock time an anchor stands for at this as-of moment."""
        match anchor:
            case ir.AsOfOffset(duration):
                if duration.unit in ELAPSED_UNITS:
                    return self.elapsed(self.wall, -duration.seconds)
                return shift(self.wall, duration, -1)
            case ir.PeriodStart(unit, offset):
                return shift_periods(period_start(self.wall, unit), unit, offset)
            case ir.FixedTime(value):
                return value
            case ir.YearsBeforeAsOfDate(years):
                return add_months(period_start(self.wall, "day"), -12 * years)

    def instant(self, wall: dt.datetime) -> dt.datetime:
        """A wall-clock time as an aware UTC instant (in a repeated hour, the one `fold`
        picks: the earlier unless the time was made from the later)."""
        return wall.replace(tzinfo=self.zone).astimezone(dt.UTC)

    def elapsed(self, wall: dt.datetime, seconds: int) -> dt.datetime:
        """The wall-clock time `seconds` of real time after `wall` (before if negative)."""
        moment = self.instant(wall) + dt.timedelta(seconds=seconds)
        return moment.astimezone(self.zone).replace(tzinfo=None)

    def __str__(self) -> str:
        return f"{self.wall.isoformat(sep=' ')} {self.zone.key}"


ELAPSED_UNITS = ("s", "min", "h")  # the rest step the calendar


def add_months(value: dt.datetime, months: int) -> dt.datetime:
    """Calendar months, clamping the day to the target month's length."""
    index = value.year * 12 + (value.month - 1) + months
    year, month = divmod(index, 12)
    day = min(value.day, calendar.monthrange(year, month + 1)[1])
    return value.replace(year=year, month=month + 1, day=day)


def shift(value: dt.datetime, duration: ir.DurationValue, sign: int) -> dt.datetime:
    """`value + sign × duration` on the wall clock."""
    amount = duration.amount * sign
    if duration.unit == "mo":
        return add_months(value, amount)
    if duration.unit == "y":
        return add_months(value, 12 * amount)
    return value + dt.timedelta(seconds=amount * ir.FIXED_UNIT_SECONDS[duration.unit])


def period_start(value: dt.datetime, unit: ir.CalendarUnit) -> dt.datetime:
    """Midnight starting the day, ISO week (Monday), month, quarter or year of `value`."""
    day = dt.datetime.combine(value.date(), dt.time())
    if unit == "day":
        return day
    if unit == "week":
        return day - dt.timedelta(days=day.weekday())
    if unit == "month":
        return day.replace(day=1)
    if unit == "quarter":
        return day.replace(month=(day.month - 1) // 3 * 3 + 1, day=1)
    return day.replace(month=1, day=1)


def shift_periods(start: dt.datetime, unit: ir.CalendarUnit, count: int) -> dt.datetime:
    """The start of the period `count` periods after the one starting at `start`."""
    if unit == "day":
        return start + dt.timedelta(days=count)
    if unit == "week":
        return start + dt.timedelta(weeks=count)
    months = {"month": 1, "quarter": 3, "year": 12}[unit]
    return add_months(start, months * count)
