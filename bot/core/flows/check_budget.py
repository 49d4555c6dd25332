"""Check 8, the SMS budget: each reply rendered as the person receives it, per language.

The placeholders get the longest realistic values (the centre's name, the longest {hours}
answer of the coming week, the longest {emergency} list, the real {menu}, the longest
workshop, a 6-character reference, ...), the numbered lines are appended as the engine
does, and the steps said in the same turn are joined. After the GSM-7 conversion of
bot.core.sms.prepare, a reply over `max_segments` segments is an error; a character that
forces UCS-2 (emoji, ...) is a warning.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from bot.core import answers, engine
from bot.core.flowmodel import Flows, Step
from bot.core.flows.paths import get, line_of, name_of, text_paths
from bot.core.flows.report import Check
from bot.core.flows.walk import roots, said_after
from bot.core.lists import pick_list
from bot.core.sms import GSM7_BASIC, GSM7_EXTENSION, prepare, segment_info

REFERENCE = "K7M2QX"  # a case reference as people get it: 6 characters
SAMPLE_ANSWER = "je voudrais un rendez-vous svp"  # a typical free-text answer kept by `ask`


def _now() -> datetime:
    return datetime.now(UTC)


class _Sample(answers.Context):
    """Placeholder values as a person would get them, the longest realistic ones."""

    def __init__(self, flows: Flows, lang: str, now: datetime, samples: dict[str, str],
                 data: dict[str, str]) -> None:
        super().__init__(flows, lang, now, engine.Incoming(text="", reference=REFERENCE), data)
        self.samples = samples

    def __missing__(self, key: str) -> str:
        if key in self.data:
            return self.data[key]
        if key in self.samples:
            return self.samples[key]
        return super().__missing__(key)


@dataclass
class Budget:
    """SMS segments of each reply, and characters that force UCS-2."""

    check: Check
    flows: Flows
    now: datetime = field(default_factory=_now)
    _values: dict[str, dict[str, str]] = field(default_factory=dict)

    def run(self) -> None:
        """Record every reply and text over the SMS limit, and every UCS-2 character."""
        self._ucs2()
        limit = self.check.max_segments
        over_alone: set[str] = set()
        for step in self.flows.steps.values():
            counts = {lang: self.segments(self.own_text(step, lang)) for lang in self.flows.languages}
            over = {lang: n for lang, n in counts.items() if n > limit}
            if over:
                over_alone.add(step.name)
                first = next(iter(over))
                self.check.error(step.file, self.check.step_line(step, "say", first) if step.say else step.line,
                                 f"step '{step.name}' takes {_count(over)} on a basic phone; the limit is "
                                 f"{limit}: shorten it")
        for name in sorted(self._entries()):
            step = self.flows.steps[name]
            notice = "flow_changed" if name == self.flows.start else None
            worst: dict[str, tuple[int, list[str]]] = {}
            for lang in self.flows.languages:
                for path, text in self.replies(name, lang, notice):
                    segments = self.segments(text)
                    if segments > worst.get(lang, (0, []))[0]:
                        worst[lang] = (segments, path)
            over = {lang: n for lang, (n, path) in worst.items()
                    if n > limit and not set(path) & over_alone}
            if over:
                path = worst[next(iter(over))][1]
                after = ", ".join(f"'{p}'" for p in path[1:]) or "the notice that the menu changed"
                self.check.error(step.file, step.line, f"the reply that step '{name}' starts (with {after} "
                                 f"said after it) takes {_count(over)} on a basic phone; the limit is "
                                 f"{limit}: shorten one of them")
        self._texts(limit)

    def _entries(self) -> set[str]:
        """Steps a reply can start at: every target except those only reached by next/results."""
        flows = self.flows
        found = roots(flows)
        for step in flows.steps.values():
            found |= {c.goto for c in step.choices}
            if step.ask:
                found.add(step.ask.goto)
            if step.pick:
                found.add(step.pick.goto)
        return {name for name in found if name in flows.steps}

    def segments(self, text: str) -> int:
        """The SMS segments a reply bills after the GSM-7 conversion (cut like the engine does)."""
        return sum(segment_info(prepare(chunk, "sms")).segments for chunk in engine.split_reply(text))

    def values(self, lang: str) -> dict[str, str]:
        """The longest realistic value of each computed placeholder, in lang."""
        if lang not in self._values:
            self._values[lang] = self._compute_values(lang)
        return self._values[lang]

    def _moments(self) -> list[datetime]:
        tz = self.flows.schedule.tz
        today = self.now.astimezone(tz).date()
        return [datetime.combine(today + timedelta(days=d), time(hour), tz)
                for d in range(7) for hour in (10, 17, 23)]

    def _compute_values(self, lang: str) -> dict[str, str]:
        flows, moments = self.flows, self._moments()

        def longest(texts: Any) -> str:
            return max(texts, key=len, default="")

        def safe(compute: Any) -> str:
            try:
                return str(compute())
            except (KeyError, ValueError, IndexError):
                return ""

        values = {
            "hours": longest(safe(lambda m=m: answers.hours_answer(flows, lang, m, "")) for m in moments),
            "next_open": longest(safe(lambda m=m: answers.next_open(flows, lang, m)) for m in moments),
            "human_eta": longest(safe(lambda m=m: answers.human_eta(flows, lang, m)) for m in moments),
            "media": longest(safe(lambda m=m, k=k: answers.media_sentence(flows, lang, m, (k,)))
                             for m in moments for k in ("audio", "image", "video", "document", "location", "")),
            "emergency": longest(answers.emergency_lines(flows, lang, country) for country in flows.emergency),
            "reference": REFERENCE,
            "position": "12",
            "until": "16h30" if lang != "en" else "4:30pm",
            "slots": safe(lambda: answers.fmt_slots(max(flows.schedule.weekly.values(), key=len, default=()),
                                                    flows, lang)),
            "reason": longest(c.reason.get(lang, "") for c in flows.schedule.closures),
            "week": "",
            "start": "13h30", "end": "16h30", "time": "13h30", "number": "0800 32 123",
        }
        values["when"] = longest(safe(lambda m=m: answers._when(flows, lang, m, m + timedelta(days=8)))
                                 for m in moments[:3])
        values["offer_until"] = values["when"]
        values["day"] = longest(_day_label(d, lang) for d in range(7))
        values["label"] = longest(e.label.get(lang, "") for entries in flows.emergency.values() for e in entries)
        values["name"] = flows.name.get(lang, "")
        workshop = max(flows.workshops.values(), default=None,
                       key=lambda w: len(w.title[lang]) + len(w.place[lang]) + len(answers.workshop_when(w, lang)))
        for key in ("workshop_title", "workshop_when", "workshop_place", "workshop_seats"):
            values[key] = ""
        values["workshop_seats"] = longest(flows.text(key, lang).format(number=max(
            (w.seats for w in flows.workshops.values()), default=12)) for key in ("workshop_seats_left", "workshop_full")
            if key in flows.texts)
        if workshop is not None:
            values.update(workshop_title=workshop.title[lang], workshop_place=workshop.place[lang],
                          workshop_when=answers.workshop_when(workshop, lang), workshop=workshop.key)
        values.update(self._answers())
        return values

    def _answers(self) -> dict[str, str]:
        """What `ask` keeps: the longest choice a step offers, else a typical typed answer."""
        found: dict[str, str] = {}
        for step in self.flows.steps.values():
            if step.ask and step.ask.save not in found:
                options = [c.value or c.label[self.flows.default_language] for c in step.choices]
                found[step.ask.save] = max(options, key=len) if options else SAMPLE_ANSWER
            if step.pick and step.pick.save not in found and step.pick.save != "workshop":
                found[step.pick.save] = max(self.flows.workshops, key=len, default="")
        return found

    def _context(self, lang: str, data: dict[str, str] | None = None) -> _Sample:
        return _Sample(self.flows, lang, self.now, self.values(lang), dict(data or {}))

    def _shown(self, step: Step) -> list[str]:
        """The workshops a `pick` step lists: the upcoming ones (a person's sign-ups: up to 3)."""
        assert step.pick is not None
        upcoming = pick_list(replace(step, pick=replace(step.pick, source="workshops")), self.flows, self.now)
        return upcoming[:3] if step.pick.source == "signups" else upcoming

    def own_text(self, step: Step, lang: str) -> str:
        """What step alone says in lang, with its numbered lines."""
        data = {engine.PICKED: ",".join(self._shown(step))} if step.pick else {}
        try:
            return engine._render(step, self._context(lang, data))
        except (ValueError, KeyError, IndexError, AttributeError):
            return ""

    def replies(self, name: str, lang: str, notice: str | None = None) -> Iterator[tuple[list[str], str]]:
        """Every reply a turn starting at step name can give: (steps said, text)."""
        first = [self.flows.text(notice, lang)] if notice in self.flows.texts else []
        yield from self._walk(name, lang, first, [])

    def _walk(self, name: str, lang: str, parts: list[str], path: list[str]) -> Iterator[tuple[list[str], str]]:
        step = self.flows.steps.get(name)
        if step is None or len(path) >= engine.MAX_CHAIN:
            yield path, "\n".join(p for p in parts if p)
            return
        if step.pick and step.pick.empty and not self._shown(step):
            yield from self._walk(step.pick.empty, lang, parts, [*path, name])
            return
        parts, path = [*parts, self.own_text(step, lang)], [*path, name]
        following = [t for t in said_after(step) if not step.pick or t != step.pick.empty]
        if not following:
            yield path, "\n".join(p for p in parts if p)
        for target in following:
            yield from self._walk(target, lang, parts, path)

    def _texts(self, limit: int) -> None:
        for file, doc in self.check.docs.items():
            for key in doc.get("texts") or {}:
                over = {}
                for lang in self.flows.languages:
                    try:
                        text = self.flows.text(key, lang).format_map(self._context(lang))
                    except (ValueError, KeyError, IndexError, AttributeError):
                        continue
                    if self.segments(text) > limit:
                        over[lang] = self.segments(text)
                if over:
                    self.check.error(file, line_of(doc, ["texts", key, next(iter(over))]), f"text '{key}' takes "
                                     f"{_count(over)} on a basic phone; the limit is {limit}: shorten it")

    def _ucs2(self) -> None:
        for file, doc in self.check.docs.items():
            for path in text_paths(doc):
                node = get(doc, path)
                variants = node if isinstance(node, dict) else {"": node}
                for lang, text in _flat(variants):
                    odd = sorted({c for c in prepare(str(text or ""), "sms")
                                  if c not in GSM7_BASIC and c not in GSM7_EXTENSION})
                    if odd:
                        where = f"{name_of(path)} ({lang})" if lang else name_of(path)
                        line = line_of(doc, [*path, lang] if lang else path)
                        shown = " ".join(odd[:5])
                        self.check.warning(file, line, f"{where} has {shown}, which a basic phone cannot get "
                                           "in a normal SMS: the whole message goes as UCS-2 (70 characters "
                                           "a segment instead of 160, so it costs more); remove them")


def _flat(variants: dict[Any, Any]) -> Iterator[tuple[str, Any]]:
    """(lang, text) pairs; a language given as forms (the centre's name) yields each form."""
    for lang, text in variants.items():
        if isinstance(text, dict):
            yield from ((lang, form_text) for form_text in text.values())
        else:
            yield lang, text


def _day_label(offset: int, lang: str) -> str:
    """A weekday with its date ('Mercredi 2 décembre'), the longest form of a day label."""
    from babel.dates import format_date

    return format_date(date(2026, 11, 30) + timedelta(days=offset), "EEEE d MMMM", locale=lang).capitalize()


def _count(over: dict[str, int]) -> str:
    return ", ".join(f"{n} SMS in {lang}" for lang, n in over.items())
