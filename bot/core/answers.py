"""Computed parts of replies: opening hours, emergency numbers, menus. Pure functions.

Steps in `flows/` use them as placeholders: {hours}, {emergency}, {centre} (and its forms
{centre_de}, {centre_a}, see bot.core.centre_name), {menu}.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING

from babel.dates import format_date

from bot.core import centre_name
from bot.core import hours as h
from bot.core.oncall import on_call
from bot.core.text import day_reference

if TYPE_CHECKING:
    from bot.core.conversation import Incoming
    from bot.core.flowmodel import Choice, Flows, WorkshopDef


SeatsLeft = Callable[[str], "int | None"]  # a workshop's key -> its free seats (None: unknown)


class Context(dict):  # type: ignore[type-arg]
    """Placeholder values for one reply, computed only when a text uses them."""

    seats_left: SeatsLeft | None = None  # counted in SQL by the caller; None: the seats of the YAML

    def __init__(self, flows: Flows, lang: str, now: datetime, message: Incoming,
                 data: dict[str, str] | None = None) -> None:
        super().__init__()
        self.flows, self.lang, self.now, self.message = flows, lang, now, message
        self.data = data if data is not None else {}

    def __missing__(self, key: str) -> str:
        if key in self.data:
            return self.data[key]
        if key.startswith("workshop_"):
            # an action's value (the sign-up it cancelled) wins over the step's saved pick
            workshop = self.flows.workshops.get(self.get("workshop") or self.data.get("workshop", ""))
            return workshop_field(workshop, key, self) if workshop else ""
        centre = centre_name.value(key, self.flows.centre_forms.get(self.lang)
                                   or centre_name.derive(self.flows.name[self.lang], self.lang))
        if centre is not None:
            return centre
        if key == "hours":
            return hours_answer(self.flows, self.lang, self.now, self.message.text)
        if key == "emergency":
            return emergency_lines(self.flows, self.lang, self.message.country)
        if key == "next_open":
            return next_open(self.flows, self.lang, self.now)
        if key == "reference":
            return self.message.reference
        if key == "human_eta":
            return human_eta(self.flows, self.lang, self.now)
        if key == "media":
            return media_sentence(self.flows, self.lang, self.now, self.message.media)
        if key == "menu":
            return menu_lines(self.flows.steps[self.flows.start].choices, self)
        return "{" + key + "}"


def menu_lines(choices: tuple[Choice, ...], ctx: Context, human: bool = True) -> str:
    """'1 Horaires', '2 Demarches', ..., then '0 Parler a quelqu'un' (unless already there)."""
    lines = [f"{i} {c.label[ctx.lang]}" for i, c in enumerate(choices, start=1)]
    if human:
        lines.append(ctx.flows.text("human_choice", ctx.lang))
    return "\n".join(lines)


def workshop_field(workshop: WorkshopDef, key: str, ctx: Context) -> str:
    """{workshop_title}, {workshop_when} ('jeudi 3 décembre à 14h'), {workshop_place}, {workshop_seats}."""
    if key == "workshop_title":
        return workshop.title[ctx.lang]
    if key == "workshop_place":
        return workshop.place[ctx.lang]
    if key == "workshop_when":
        return workshop_when(workshop, ctx.lang)
    if key == "workshop_seats":
        return seats_text(workshop, ctx)
    return ""


def seats_text(workshop: WorkshopDef, ctx: Context) -> str:
    """'Places libres : 4.' or 'Complet ...' (texts workshop_seats_left, workshop_full); '' without them."""
    left = ctx.seats_left(workshop.key) if ctx.seats_left else None
    left = workshop.seats if left is None else left
    key = "workshop_seats_left" if left > 0 else "workshop_full"
    if key not in ctx.flows.texts:
        return ""
    return ctx.flows.text(key, ctx.lang).format(number=left)


def workshop_when(workshop: WorkshopDef, lang: str) -> str:
    """'jeudi 3 décembre, 14h' / 'donderdag 3 december, 14u' / 'Thursday 3 December, 2pm'."""
    day = format_date(workshop.day, "EEEE d MMMM", locale=lang)
    return f"{day}, {fmt_time(workshop.start, lang)}"


def pick_lines(keys: list[str], ctx: Context) -> str:
    """'1 Faire son CV - jeudi 3 décembre, 14h', one line per workshop shown."""
    lines = []
    for number, key in enumerate(keys, start=1):
        workshop = ctx.flows.workshops.get(key)
        if workshop is not None:
            lines.append(f"{number} {workshop.title[ctx.lang]} - {workshop_when(workshop, ctx.lang)}")
    return "\n".join(lines)


def emergency_lines(flows: Flows, lang: str, country: str | None) -> str:
    """The emergency numbers for the caller's country (else the centre's), one a line."""
    entries = flows.emergency.get((country or "").upper()) or flows.emergency.get(flows.country, ())
    return "\n".join(f"{e.number} : {e.label[lang]}" for e in entries if not e.languages or lang in e.languages)


def fmt_time(moment: time, lang: str) -> str:
    """9h / 13h30 in French, 9u / 13u30 in Dutch, 9am / 1:30pm in English."""
    if lang == "en":
        hour = moment.hour % 12 or 12
        suffix = "am" if moment.hour < 12 else "pm"
        return f"{hour}{suffix}" if not moment.minute else f"{hour}:{moment.minute:02d}{suffix}"
    mark = "u" if lang == "nl" else "h"
    return f"{moment.hour}{mark}" if not moment.minute else f"{moment.hour}{mark}{moment.minute:02d}"


def fmt_day(day: date, today: date, flows: Flows, lang: str) -> str:
    """'aujourd'hui', 'demain', 'lundi', or 'lundi 4 janvier' when more than a week away."""
    if day == today:
        return flows.text("today", lang)
    if day == today + timedelta(days=1):
        return flows.text("tomorrow", lang)
    pattern = "EEEE" if day - today < timedelta(days=7) else "EEEE d MMMM"
    return format_date(day, pattern, locale=lang)


def fmt_slots(slots: tuple[tuple[time, time], ...], flows: Flows, lang: str) -> str:
    """'de 9h a 12h et de 13h30 a 16h30'."""
    parts = [flows.text("slot", lang).format(start=fmt_time(a, lang), end=fmt_time(b, lang))
             for a, b in slots]
    return flows.text("and", lang).join(parts)


def hours_answer(flows: Flows, lang: str, now: datetime, question: str) -> str:
    """The answer to 'are you open (on that day)?', with the next opening when closed."""
    schedule = flows.schedule
    local_now = h.local(schedule, now)
    today = local_now.date()
    asked = day_reference(question, today)
    if asked is not None and asked != today:
        return _day_answer(flows, lang, local_now, asked)
    until = h.open_until(schedule, local_now)
    if until is not None:
        first = flows.text("hours_open_now", lang).format(until=fmt_time(until.time(), lang))
    else:
        first = _closed_now(flows, lang, local_now)
    return "\n".join([first, _week(flows, lang)])


def _closed_now(flows: Flows, lang: str, now: datetime) -> str:
    today = h.day_hours(flows.schedule, now.date())
    reason = _closed_reason(today, flows, lang)
    text = flows.text("hours_closed_now", lang) + (f" ({reason})." if reason else ".")
    return " ".join([text, _next(flows, lang, now)])


def _day_answer(flows: Flows, lang: str, now: datetime, day: date) -> str:
    info = h.day_hours(flows.schedule, day)
    label = fmt_day(day, now.date(), flows, lang)
    label = label[:1].upper() + label[1:]
    if info.slots:
        return flows.text("hours_day_open", lang).format(day=label, slots=fmt_slots(info.slots, flows, lang))
    reason = _closed_reason(info, flows, lang)
    text = flows.text("hours_day_closed", lang).format(day=label) + (f" ({reason})." if reason else ".")
    start_of_day = datetime.combine(day, time(0, 0), flows.schedule.tz)
    return " ".join([text, _next(flows, lang, now, search_from=max(start_of_day, now))])


def _closed_reason(info: h.DayHours, flows: Flows, lang: str) -> str:
    if info.closure:
        return info.closure.reason.get(lang) or flows.text("closure", lang)
    if info.holiday:
        return flows.text("holiday", lang)
    return ""


def next_open(flows: Flows, lang: str, now: datetime) -> str:
    """'today' wording when open now, else 'lundi a 9h': when a human can answer."""
    if h.open_until(flows.schedule, now) is not None:
        return flows.text("open_now_short", lang)
    moment = h.next_opening(flows.schedule, now)
    if moment is None:
        return flows.text("hours_no_next", lang)
    return _when(flows, lang, now, moment)


def human_eta(flows: Flows, lang: str, now: datetime) -> str:
    """An honest sentence on when a person will answer an urgent case: now, on call, or later."""
    if h.open_until(flows.schedule, now) is not None:
        return flows.text("eta_open", lang)
    local = h.local(flows.schedule, now)
    day = h.day_hours(flows.schedule, local.date())
    if on_call(flows.rota, local, closed_day=bool(day.holiday or day.closure)) is not None:
        return flows.text("eta_oncall", lang)
    return flows.text("eta_next", lang).format(when=next_open(flows, lang, now))


def media_sentence(flows: Flows, lang: str, now: datetime, kinds: tuple[str, ...]) -> str:
    """Who will listen to or look at what the person sent, and when ('... lundi à 9h')."""
    key = f"media_{kinds[0]}" if len(kinds) == 1 else "media_several"
    if key not in flows.texts:
        key = "media_several"
    if key not in flows.texts:  # flows written before media were answered
        return ""
    return flows.text(key, lang).format(when=next_open(flows, lang, now))


def _when(flows: Flows, lang: str, now: datetime, moment: datetime) -> str:
    today = h.local(flows.schedule, now).date()
    return flows.text("at_time", lang).format(
        day=fmt_day(moment.date(), today, flows, lang), time=fmt_time(moment.time(), lang))


def _next(flows: Flows, lang: str, now: datetime, search_from: datetime | None = None) -> str:
    """'Nous rouvrons lundi a 9h', the day named from today even when the search starts later."""
    moment = h.next_opening(flows.schedule, search_from or now)
    if moment is None:
        return flows.text("hours_no_next", lang)
    return flows.text("hours_next", lang).format(when=_when(flows, lang, now, moment))


def _week(flows: Flows, lang: str) -> str:
    """'lun-ven: 9h-12h, 13h30-16h30' grouping days that share the same slots."""
    weekly = flows.schedule.weekly
    monday = date(2024, 1, 1)  # any Monday: only the day names are used
    groups: list[tuple[int, int]] = []
    for day in range(7):
        if not weekly.get(day):
            continue
        if groups and groups[-1][1] == day - 1 and weekly[groups[-1][0]] == weekly[day]:
            groups[-1] = (groups[-1][0], day)
        else:
            groups.append((day, day))
    parts = []
    for first, last in groups:
        names = [format_date(monday + timedelta(days=d), "EEE", locale=lang).rstrip(".")
                 for d in (first, last)]
        days = names[0] if first == last else f"{names[0]}-{names[1]}"
        slots = ", ".join(f"{fmt_time(a, lang)}-{fmt_time(b, lang)}" for a, b in weekly[first])
        parts.append(f"{days} {slots}")
    return flows.text("hours_week", lang).format(week="; ".join(parts))
