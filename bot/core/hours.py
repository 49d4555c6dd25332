"""Opening hours: is the centre open, when does it open next. Pure functions, no I/O.

Weekly slots, public holidays (the `holidays` package) and exceptional closures come
from `flows/centre.yml`; times are local to the centre's timezone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays as holidays_lib

from bot.core.text import WEEKDAY_NAMES

WEEKDAYS = WEEKDAY_NAMES["en"]  # as centre.yml names the days of its weekly slots
LOOKAHEAD_DAYS = 90
_SLOT = re.compile(r"(\d{1,2}:\d{2})-(\d{1,2}:\d{2})")


@dataclass(frozen=True)
class Closure:
    """An exceptional closure, both ends included, with its reason per language."""

    start: date
    end: date
    reason: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Schedule:
    """A centre's weekly slots, public holidays and closures."""

    timezone: str
    weekly: dict[int, tuple[tuple[time, time], ...]]
    country: str | None = None
    subdivision: str | None = None
    closures: tuple[Closure, ...] = ()

    @property
    def tz(self) -> ZoneInfo:
        """The centre's timezone."""
        return ZoneInfo(self.timezone)


@dataclass(frozen=True)
class DayHours:
    """What a given day looks like: its slots, or why it is closed."""

    day: date
    slots: tuple[tuple[time, time], ...]
    holiday: str | None = None
    closure: Closure | None = None


def parse_slot(text: str) -> tuple[time, time]:
    """Parse '09:00-12:30' into two times; raise ValueError when malformed or reversed."""
    match = _SLOT.fullmatch(text.replace(" ", ""))
    if not match:
        raise ValueError(f"slot {text!r} is not like 09:00-12:30")
    start, end = time.fromisoformat(match[1].zfill(5)), time.fromisoformat(match[2].zfill(5))
    if end <= start:
        raise ValueError(f"slot {text!r} ends before it starts")
    return start, end


@lru_cache(maxsize=64)
def _holidays(country: str, subdivision: str | None, year: int) -> dict[date, str]:
    return dict(holidays_lib.country_holidays(country, subdiv=subdivision, years=year))


def holiday_name(schedule: Schedule, day: date) -> str | None:
    """The public holiday's name on that day, or None."""
    if not schedule.country:
        return None
    return _holidays(schedule.country, schedule.subdivision, day.year).get(day)


def day_hours(schedule: Schedule, day: date) -> DayHours:
    """The slots of one day, empty when a holiday or a closure falls on it."""
    for closure in schedule.closures:
        if closure.start <= day <= closure.end:
            return DayHours(day, (), closure=closure)
    holiday = holiday_name(schedule, day)
    if holiday:
        return DayHours(day, (), holiday=holiday)
    return DayHours(day, schedule.weekly.get(day.weekday(), ()))


def local(schedule: Schedule, now: datetime) -> datetime:
    """now in the centre's timezone (naive datetimes are taken as UTC)."""
    if now.tzinfo is None:
        now = now.replace(tzinfo=ZoneInfo("UTC"))
    return now.astimezone(schedule.tz)


def open_until(schedule: Schedule, now: datetime) -> datetime | None:
    """When the current slot ends if the centre is open at now, else None."""
    now = local(schedule, now)
    for start, end in day_hours(schedule, now.date()).slots:
        if start <= now.time() < end:
            return datetime.combine(now.date(), end, schedule.tz)
    return None


def next_opening(schedule: Schedule, now: datetime) -> datetime | None:
    """The start of the next slot strictly after now, or None within the lookahead."""
    now = local(schedule, now)
    for offset in range(LOOKAHEAD_DAYS):
        day = now.date() + timedelta(days=offset)
        for start, _end in day_hours(schedule, day).slots:
            moment = datetime.combine(day, start, schedule.tz)
            if moment > now:
                return moment
    return None
