"""Building the centre's facts: its name's forms, hours and closures, emergency numbers, workshops."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, time
from typing import Any

from bot.core import centre_name
from bot.core.errors import FlowError
from bot.core.flowmodel import EmergencyNumber, WorkshopDef, WorkshopSettings
from bot.core.flows.fields import file_of, line_of, require, texts_of, wordlists
from bot.core.hours import WEEKDAYS, Closure, Schedule, parse_slot
from bot.core.yamlfile import Node


def centre_names(centre: Node, languages: tuple[str, ...]) -> dict[str, dict[str, str]]:
    """The forms of the centre's name per language: a plain text each, or {plain, de, a}."""
    raw = centre.get("name")
    if isinstance(raw, str):
        raw = dict.fromkeys(languages, raw)
    if not isinstance(raw, dict):
        raise FlowError(file_of(centre), line_of(centre), "'name' is missing: the centre's name per language")
    found = {}
    for lang in languages:
        value = raw.get(lang)
        if isinstance(value, dict):
            stray = [str(key) for key in value if key not in centre_name.FORMS]
            if stray:
                raise FlowError(file_of(value), line_of(value), f"the centre's name ({lang}) has the form "
                                f"'{stray[0]}', which is not known; the forms are plain, de and a")
            if not str(value.get("plain") or "").strip():
                raise FlowError(file_of(value), line_of(value), f"the centre's name ({lang}) has no plain form, "
                                "like plain: \"le CPAS de Saint-Gilles\"")
        elif not str(value or "").strip():
            raise FlowError(file_of(raw), line_of(raw), f"the centre's name has no text in {lang}")
        found[lang] = centre_name.forms(value if isinstance(value, dict) else str(value), lang)
    return found


def workshops(doc: Node | None, languages: tuple[str, ...]) -> dict[str, WorkshopDef]:
    """The workshops of workshops.yml by key."""
    found: dict[str, WorkshopDef] = {}
    if doc is None:
        return found
    raw_all = doc.get("workshops") or {}
    if not isinstance(raw_all, dict):
        raise FlowError(doc.file, doc.line, "'workshops' must list workshops by key")
    for key, raw in raw_all.items():
        key = str(key)
        if not isinstance(raw, dict):
            raise FlowError(doc.file, doc.line, f"workshop '{key}' must have title, date, time, place, seats")
        where, line = file_of(raw), line_of(raw)
        day = raw.get("date")
        if not isinstance(day, date):
            raise FlowError(where, line, f"workshop '{key}' needs a date like 2026-12-03")
        try:
            start, end = _workshop_time(str(raw.get("time") or ""))
        except ValueError:
            raise FlowError(where, line, f"workshop '{key}' needs a time like \"14:00-16:00\" "
                            "or \"14:00\"") from None
        seats = raw.get("seats")
        if not isinstance(seats, int) or isinstance(seats, bool) or seats < 1:
            raise FlowError(where, line, f"workshop '{key}' needs a number of seats (1 or more)")
        found[key] = WorkshopDef(key, texts_of(require(raw, "title", dict), languages, f"workshop '{key}' title"),
                                 day, start, end,
                                 texts_of(require(raw, "place", dict), languages, f"workshop '{key}' place"),
                                 seats, where, line, wordlists(raw.get("keywords")))
    return found


def _workshop_time(text: str) -> tuple[time, time | None]:
    if "-" in text:
        start, end = parse_slot(text)
        return start, end
    return time.fromisoformat(text.strip()), None


def workshop_settings(doc: Node | None) -> WorkshopSettings:
    """How long a freed seat is held, and the quiet hours."""
    raw: Any = doc.get("workshop_settings") if doc is not None else None
    raw = raw or {}
    settings = WorkshopSettings()
    try:
        if "offer_hours" in raw:
            settings = replace(settings, offer_hours=float(raw["offer_hours"]))
        if "quiet_hours" in raw:
            start, end = (time.fromisoformat(part.strip()) for part in str(raw["quiet_hours"]).split("-"))
            settings = replace(settings, quiet_start=start, quiet_end=end)
    except (ValueError, TypeError):
        raise FlowError(getattr(raw, "file", "workshops.yml"), getattr(raw, "line", None),
                        "workshop_settings: offer_hours is a number of hours, quiet_hours like "
                        "\"21:00-08:00\"") from None
    return settings


def schedule(doc: Node, centre: Node) -> Schedule:
    """The weekly hours and closures of centre.yml."""
    hours = require(doc, "hours", dict)
    weekly = {}
    for index, day in enumerate(WEEKDAYS):
        try:
            weekly[index] = tuple(parse_slot(str(s)) for s in hours.get(day) or ())
        except ValueError as exc:
            raise FlowError(hours.file, hours.line, f"hours of {day}: {exc}; write 09:00-12:30") from None
    closures = []
    for raw in doc.get("closures") or ():
        start, end = raw.get("from"), raw.get("to", raw.get("from"))
        if not isinstance(start, date) or not isinstance(end, date) or end < start:
            raise FlowError(raw.file, raw.line, "a closure needs 'from' and 'to' dates like 2026-12-24")
        closures.append(Closure(start, end, dict(raw.get("reason") or {})))
    return Schedule(
        timezone=str(centre.get("timezone", "Europe/Brussels")),
        weekly=weekly,
        country=str(centre.get("country", "BE")).upper(),
        subdivision=centre.get("subdivision"),
        closures=tuple(closures),
    )


def emergency(raw: dict[str, Any], languages: tuple[str, ...]) -> dict[str, tuple[EmergencyNumber, ...]]:
    """The emergency numbers per country."""
    return {
        country.upper(): tuple(
            EmergencyNumber(str(e["number"]), texts_of(e["label"], languages, f"emergency {e['number']}"),
                            tuple(e.get("languages") or ()))
            for e in entries
        )
        for country, entries in raw.items()
    }
