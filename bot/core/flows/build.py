"""Building the Flows from parsed flow files (bot.core.yamlfile trees), one section at a time.

The checker (bot.core.flows.validate) has looked at the files first; what is left to find
here are the shapes only building reveals, raised as FlowError with the file and line.
"""

from __future__ import annotations

import string
from dataclasses import replace
from datetime import date, time
from typing import Any

from bot.core import centre_name
from bot.core.errors import FlowError
from bot.core.flowmodel import (
    ACTIONS,
    PICK_SOURCES,
    PLACEHOLDERS,
    Ask,
    Choice,
    EmergencyNumber,
    Flows,
    IntentRoute,
    Keyword,
    Pick,
    Step,
    WorkshopDef,
    WorkshopSettings,
)
from bot.core.hours import WEEKDAYS, Closure, Schedule, parse_slot
from bot.core.lang import LANGUAGES
from bot.core.yamlfile import Node

# Names some shared texts fill in themselves (see bot.core.answers).
BUILDING_BLOCKS = frozenset({"until", "when", "day", "slots", "time", "reason", "week", "start", "end",
                             "number", "label", "name"})


def build(docs: dict[str, Node], version: str) -> Flows:
    """The flows from parsed files (file name -> tree); raise FlowError on a shape it cannot use."""
    centre_doc = docs.get("centre.yml")
    if centre_doc is None:
        raise FlowError("centre.yml", None, "centre.yml is missing: it holds the centre's name and hours")
    centre = _require(centre_doc, "centre", dict)
    languages = tuple(centre.get("languages") or LANGUAGES)
    default_language = centre.get("default_language", languages[0])
    steps: dict[str, Step] = {}
    texts: dict[str, dict[str, str]] = {}
    intents: dict[str, IntentRoute] = {}
    keywords: list[Keyword] = []
    start = human = None
    saved = saved_names(docs)
    for doc in docs.values():
        for name, raw in (doc.get("steps") or {}).items():
            if name in steps:
                raise FlowError(doc.file, raw.line, f"step '{name}' is defined twice "
                                f"(also in {steps[name].file})")
            steps[name] = _step(name, raw, languages, saved)
        for key, raw in (doc.get("texts") or {}).items():
            texts[key] = _texts(raw, languages, f"text '{key}'")
        for intent, raw in (doc.get("intents") or {}).items():
            choice = _texts(raw["choice"], languages, f"the choice of intent '{intent}'") \
                if raw.get("choice") is not None else {}
            intents[intent] = IntentRoute(intent, str(_require(raw, "step", str)),
                                          _wordlists(raw.get("keywords")), choice)
        for name, raw in (doc.get("keywords") or {}).items():
            keywords.append(Keyword(name, _wordlists(raw.get("words")), raw.get("goto"),
                                    raw.get("language")))
        start = doc.get("start", start)
        human = doc.get("human", human)
    name = _centre_name(centre, languages)
    return Flows(
        name={lang: forms["plain"] for lang, forms in name.items()},
        centre_forms=name,
        country=str(centre.get("country", "BE")).upper(),
        languages=languages,
        default_language=default_language,
        schedule=_schedule(centre_doc, centre),
        steps=steps,
        intents=intents,
        keywords=tuple(keywords),
        texts=texts,
        emergency=_emergency(centre_doc.get("emergency") or {}, languages),
        start=start or "menu",
        human=human or "talk",
        version=version,
        workshops=_workshops(docs.get("workshops.yml"), languages),
        workshop_settings=_workshop_settings(docs.get("workshops.yml")),
    )


def _centre_name(centre: Node, languages: tuple[str, ...]) -> dict[str, dict[str, str]]:
    """The forms of the centre's name per language: a plain text each, or {plain, de, a}."""
    raw = centre.get("name")
    if isinstance(raw, str):
        raw = dict.fromkeys(languages, raw)
    if not isinstance(raw, dict):
        raise FlowError(_file(centre), _line(centre), "'name' is missing: the centre's name per language")
    found = {}
    for lang in languages:
        value = raw.get(lang)
        if isinstance(value, dict):
            stray = [str(key) for key in value if key not in centre_name.FORMS]
            if stray:
                raise FlowError(_file(value), _line(value), f"the centre's name ({lang}) has the form "
                                f"'{stray[0]}', which is not known; the forms are plain, de and a")
            if not str(value.get("plain") or "").strip():
                raise FlowError(_file(value), _line(value), f"the centre's name ({lang}) has no plain form, "
                                "like plain: \"le CPAS de Saint-Gilles\"")
        elif not str(value or "").strip():
            raise FlowError(_file(raw), _line(raw), f"the centre's name has no text in {lang}")
        found[lang] = centre_name.forms(value if isinstance(value, dict) else str(value), lang)
    return found


def saved_names(docs: dict[str, Node]) -> set[str]:
    """The names `ask:` and `pick:` keep answers under: usable as placeholders anywhere."""
    names = set()
    for doc in docs.values():
        for raw in (doc.get("steps") or {}).values():
            for key in ("ask", "pick"):
                if isinstance(raw, dict) and isinstance(raw.get(key), dict) and raw[key].get("save"):
                    names.add(str(raw[key]["save"]))
    return names


def _workshops(doc: Node | None, languages: tuple[str, ...]) -> dict[str, WorkshopDef]:
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
        where, line = _file(raw), _line(raw)
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
        found[key] = WorkshopDef(key, _texts(_require(raw, "title", dict), languages, f"workshop '{key}' title"),
                                 day, start, end,
                                 _texts(_require(raw, "place", dict), languages, f"workshop '{key}' place"),
                                 seats, where, line, _wordlists(raw.get("keywords")))
    return found


def _workshop_time(text: str) -> tuple[time, time | None]:
    if "-" in text:
        start, end = parse_slot(text)
        return start, end
    return time.fromisoformat(text.strip()), None


def _workshop_settings(doc: Node | None) -> WorkshopSettings:
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


def _file(node: Any) -> str:
    return str(getattr(node, "file", "?"))


def _line(node: Any) -> int | None:
    return getattr(node, "line", None)


def _require(node: Any, key: str, kind: type) -> Any:
    value = node.get(key) if isinstance(node, dict) else None
    if not isinstance(value, kind):
        line = getattr(node, "line", None)
        raise FlowError(_file(node), line, f"'{key}' is missing or not a {kind.__name__}")
    return value


def _texts(raw: Any, languages: tuple[str, ...], what: str,
           saved: frozenset[str] | set[str] = frozenset()) -> dict[str, str]:
    if isinstance(raw, str):
        raw_dict = Node({lang: raw for lang in languages})
        raw_dict.file, raw_dict.line = "?", None
        raw = raw_dict
    if not isinstance(raw, dict):
        raise FlowError("?", None, f"{what} must give a text per language ({', '.join(languages)})")
    stray = [str(key) for key in raw if key not in languages]
    if stray:
        raise FlowError(_file(raw), _line(raw), f"{what} has '{stray[0]}', which is not a language "
                        f"({', '.join(languages)}); a text with a comma in {{...}} must be in quotes")
    missing = [lang for lang in languages if not str(raw.get(lang) or "").strip()]
    if missing:
        raise FlowError(_file(raw), _line(raw), f"{what} has no text in {', '.join(missing)}")
    for lang, value in raw.items():
        names = {f for _, f, _, _ in string.Formatter().parse(str(value)) if f}
        unknown = names - PLACEHOLDERS - set(saved) - BUILDING_BLOCKS
        if unknown:
            raise FlowError(_file(raw), _line(raw), f"{what} ({lang}) uses an unknown placeholder "
                            f"{{{sorted(unknown)[0]}}}")
    return {lang: str(raw[lang]).rstrip("\n") for lang in languages}


def _wordlists(raw: Any) -> dict[str, tuple[str, ...]]:
    from bot.core.text import normalize

    if not raw:
        return {}
    return {lang: tuple(normalize(str(w)) for w in words) for lang, words in raw.items()}


def _step(name: str, raw: Node, languages: tuple[str, ...], saved: set[str] | None = None) -> Step:
    if not isinstance(raw, dict):
        raise FlowError("?", None, f"step '{name}' must be a section with say/choices/next")
    saved = saved or set()
    choices = tuple(
        Choice(_texts(_require(c, "label", dict), languages, f"a choice label of step '{name}'"),
               str(_require(c, "goto", str)), _wordlists(c.get("keywords")),
               str(c["value"]) if c.get("value") is not None else None)
        for c in raw.get("choices") or ()
    )
    say = raw.get("say")
    do = raw.get("do")
    if do is not None and do not in ACTIONS:
        raise FlowError(raw.file, raw.line, f"step '{name}' has do: {do}, which is not an action "
                        f"({', '.join(ACTIONS)})")
    results = {str(k): str(v) for k, v in (raw.get("results") or {}).items()}
    missing = [r for r in ACTIONS.get(do or "", ()) if r not in results]
    if missing:
        raise FlowError(raw.file, raw.line, f"step '{name}' does '{do}' but does not say where the "
                        f"result '{missing[0]}' leads (add it under results:)")
    ask = pick = None
    if raw.get("ask") is not None:
        ask_raw = raw["ask"]
        ask = Ask(str(_require(ask_raw, "save", str)), str(_require(ask_raw, "goto", str)))
    if raw.get("pick") is not None:
        pick_raw = raw["pick"]
        source = str(_require(pick_raw, "from", str))
        if source not in PICK_SOURCES:
            raise FlowError(pick_raw.file, pick_raw.line, f"step '{name}' picks from '{source}'; "
                            f"it can pick from {' or '.join(PICK_SOURCES)}")
        pick = Pick(source, str(_require(pick_raw, "save", str)), str(_require(pick_raw, "goto", str)),
                    str(pick_raw["empty"]) if pick_raw.get("empty") else None)
    return Step(
        name=name,
        say=_texts(say, languages, f"step '{name}'", saved) if say is not None else None,
        choices=choices,
        do=do,
        next=raw.get("next"),
        open_case=raw.get("open_case"),
        ask=ask,
        pick=pick,
        results=results,
        file=raw.file,
        line=raw.line,
    )


def _schedule(doc: Node, centre: Node) -> Schedule:
    hours = _require(doc, "hours", dict)
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


def _emergency(raw: dict[str, Any], languages: tuple[str, ...]) -> dict[str, tuple[EmergencyNumber, ...]]:
    return {
        country.upper(): tuple(
            EmergencyNumber(str(e["number"]), _texts(e["label"], languages, f"emergency {e['number']}"),
                            tuple(e.get("languages") or ()))
            for e in entries
        )
        for country, entries in raw.items()
    }
