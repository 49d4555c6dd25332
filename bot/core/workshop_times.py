"""When workshop messages go out: the workshop's start, the quiet hours, the reminders' times. Pure.

The rule is written out in bot/services/workshops.py; this module computes it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.core import answers
from bot.core.flowmodel import Flows, WorkshopDef

QUIET_MARGIN = timedelta(minutes=30)  # reminders stop this long before the quiet hours begin
MERGE_WITHIN = timedelta(hours=2)  # two reminders closer than this: only the later one is sent


def starts_at(workshop: WorkshopDef, flows: Flows) -> datetime:
    """The workshop's start, timezone-aware, in the centre's timezone."""
    return datetime.combine(workshop.day, workshop.start, tzinfo=flows.schedule.tz)


def is_quiet(moment: datetime, flows: Flows) -> bool:
    """True when moment falls in the quiet hours (local time), when nobody is texted."""
    settings = flows.workshop_settings
    start, end = settings.quiet_start, settings.quiet_end
    local = moment.astimezone(flows.schedule.tz).time()
    if start == end:
        return False
    if start < end:
        return start <= local < end
    return local >= start or local < end


def _quiet_began(moment: datetime, flows: Flows) -> datetime:
    """The start of the quiet period that holds moment (which must be quiet)."""
    settings = flows.workshop_settings
    local = moment.astimezone(flows.schedule.tz)
    day = local.date()
    if settings.quiet_start > settings.quiet_end and local.time() < settings.quiet_end:
        day -= timedelta(days=1)
    return datetime.combine(day, settings.quiet_start, tzinfo=flows.schedule.tz)


def after_quiet(moment: datetime, flows: Flows) -> datetime:
    """moment, or the end of the quiet hours when moment falls in them."""
    if not is_quiet(moment, flows):
        return moment
    settings = flows.workshop_settings
    began = _quiet_began(moment, flows)
    day = began.date() + timedelta(days=1 if settings.quiet_start > settings.quiet_end else 0)
    return datetime.combine(day, settings.quiet_end, tzinfo=flows.schedule.tz)


def before_quiet(moment: datetime, flows: Flows) -> datetime:
    """moment, or QUIET_MARGIN before the quiet hours begin when moment is in them or that close."""
    for probe in (moment, moment + QUIET_MARGIN):
        if is_quiet(probe, flows):
            return _quiet_began(probe, flows) - QUIET_MARGIN
    return moment


def reminder_times(workshop: WorkshopDef, flows: Flows) -> dict[str, datetime | None]:
    """When each reminder of a confirmed place goes out; None: not sent (merged into the other)."""
    tz = flows.schedule.tz
    start = starts_at(workshop, flows)
    day_before = datetime.combine(workshop.day - timedelta(days=1), workshop.start, tzinfo=tz)
    two_hours = (start.astimezone(UTC) - timedelta(hours=2)).astimezone(tz)
    first, second = before_quiet(day_before, flows), before_quiet(two_hours, flows)
    if abs(second - first) < MERGE_WITHIN:
        return {"day_before": None, "two_hours": max(first, second)}
    return {"day_before": first, "two_hours": second}


def until_text(moment: datetime, now: datetime, flows: Flows, lang: str) -> str:
    """'demain à 20h', 'jeudi à 8h': a deadline as a person says it, seen from now."""
    tz = flows.schedule.tz
    local = moment.astimezone(tz)
    day = answers.fmt_day(local.date(), now.astimezone(tz).date(), flows, lang)
    return flows.text("at_time", lang).format(day=day, time=answers.fmt_time(local.time(), lang))
