"""The on-call rota: who gets the SMS for an urgent case out of hours. Pure functions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any

import yaml

from bot.core import yamlfile
from bot.core.errors import FlowError
from bot.core.hours import WEEKDAYS

DEFAULT_CLAIM_MINUTES = 15


@dataclass(frozen=True)
class Person:
    """A social worker who can be on call."""

    key: str
    name: str
    phone: str


@dataclass(frozen=True)
class Shift:
    """On the given weekdays from `start` (to `end`, the next day when end <= start)."""

    days: frozenset[int]
    start: time
    end: time
    primary: Person
    backup: Person | None


@dataclass(frozen=True)
class Rota:
    """The weekly on-call rota and how long a case may wait before the backup is alerted."""

    shifts: tuple[Shift, ...]
    claim_within: timedelta
    closed_days: tuple[Person, Person | None] | None = None


@dataclass(frozen=True)
class OnCall:
    """Who is on call now, and who backs them up."""

    primary: Person
    backup: Person | None
    until: datetime


def load_rota(path: Path) -> Rota:
    """Read flows/oncall.yml; an absent file means nobody is on call. Raise FlowError with the line."""
    if not path.exists():
        return Rota((), timedelta(minutes=DEFAULT_CLAIM_MINUTES))
    try:
        tree = yamlfile.load(path.read_text(encoding="utf-8"), path.name)
    except yaml.YAMLError as exc:
        raise FlowError(path.name, yamlfile.error_line(exc), "this is not valid YAML") from None
    doc = (tree or {}).get("oncall") or {}
    people = {key: Person(key, str(p["name"]), str(p["phone"])) for key, p in (doc.get("people") or {}).items()}
    shifts = tuple(_shift(raw, people, path.name) for raw in doc.get("rota") or ())
    minutes = int(doc.get("claim_within_minutes", DEFAULT_CLAIM_MINUTES))
    closed = doc.get("closed_days")
    closed_days = None
    if closed:
        try:
            closed_days = (people[closed["primary"]], people[closed["backup"]] if closed.get("backup") else None)
        except KeyError as exc:
            raise FlowError(path.name, _line(closed), f"closed_days names someone unknown ({exc})") from None
    return Rota(shifts, timedelta(minutes=minutes), closed_days)


def _shift(raw: dict[str, Any], people: dict[str, Person], file: str) -> Shift:
    try:
        days = frozenset(WEEKDAYS.index(str(d).lower()) for d in raw["days"])
        start, end = time.fromisoformat(str(raw["from"])), time.fromisoformat(str(raw["to"]))
        primary = people[raw["primary"]]
        backup = people[raw["backup"]] if raw.get("backup") else None
    except (KeyError, ValueError) as exc:
        raise FlowError(file, _line(raw), f"a rota line is incomplete or names someone unknown ({exc})") from None
    return Shift(days, start, end, primary, backup)


def _line(node: Any) -> int | None:
    return getattr(node, "line", None)


def on_call(rota: Rota, now: datetime, closed_day: bool = False) -> OnCall | None:
    """The shift covering now (local time of now); on a closed weekday, the closed-days cover."""
    for shift in rota.shifts:
        for day_offset in (0, 1):  # a shift that started yesterday evening may cover this morning
            day = now.date() - timedelta(days=day_offset)
            if day.weekday() not in shift.days:
                continue
            begin = datetime.combine(day, shift.start, now.tzinfo)
            finish = datetime.combine(day + timedelta(days=shift.end <= shift.start), shift.end, now.tzinfo)
            if begin <= now < finish:
                return OnCall(shift.primary, shift.backup, finish)
    if closed_day and rota.closed_days:
        midnight = datetime.combine(now.date() + timedelta(days=1), time(0, 0), now.tzinfo)
        return OnCall(rota.closed_days[0], rota.closed_days[1], midnight)
    return None
