"""Loading the conversation flows that admins edit in `flows/*.yml`.

Every file may hold `steps`, `texts`, `keywords` and `intents`; `centre.yml` also holds
the centre's facts, hours, closures and emergency numbers. Errors name the file, the
line and the reason, in words an admin understands.
"""

from __future__ import annotations

import hashlib
import string
import threading
from dataclasses import dataclass, field, replace
from datetime import date, time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from bot.core import centre_name
from bot.core.errors import FlowError
from bot.core.hours import WEEKDAYS, Closure, Schedule, parse_slot
from bot.core.lang import LANGUAGES
from bot.core.oncall import Rota, load_rota

if TYPE_CHECKING:
    from bot.core.triage import Lexicon

__all__ = ["FlowError", "Flows", "load_flows"]

PLACEHOLDERS = {*centre_name.PLACEHOLDERS, "hours", "emergency", "menu", "next_open", "reference", "human_eta",
                "media",
                "workshop_title", "workshop_when", "workshop_place", "workshop_seats", "position", "offer_until"}
# What each `do:` can give, and so which `results:` it needs.
ACTIONS: dict[str, tuple[str, ...]] = {
    "stop": (),
    "start": (),
    "signup": ("confirmed", "waiting", "already", "past", "unknown"),
    "cancel": ("cancelled", "none"),
    "accept_offer": ("accepted", "expired", "none"),
}
PICK_SOURCES = ("workshops", "signups")


class _Node(dict):  # type: ignore[type-arg]
    """A mapping that remembers the file and line it came from, and the line of each key."""

    file: str = "?"
    line: int | None = None
    key_lines: dict[Any, int] = {}  # a shared empty default, replaced per node
    duplicates: tuple[tuple[Any, int, int], ...] = ()  # keys written twice: (key, line, earlier line)


class _LineLoader(yaml.SafeLoader):
    pass


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> _Node:
    mapping = _Node(loader.construct_mapping(node, deep=True))
    mapping.line = node.start_mark.line + 1
    mapping.file = getattr(loader, "relais_file", "?")
    mapping.key_lines, duplicates, own = {}, [], set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=True)
        if not isinstance(key, str | int | float | bool | date):
            continue
        if key in own:  # written twice here (keys merged in by << come from elsewhere)
            duplicates.append((key, key_node.start_mark.line + 1, mapping.key_lines[key]))
        if key_node.start_mark.index >= node.start_mark.index:
            own.add(key)
        mapping.key_lines[key] = key_node.start_mark.line + 1
    mapping.duplicates = tuple(duplicates)
    return mapping


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


@dataclass(frozen=True)
class Choice:
    """One numbered line of a menu."""

    label: dict[str, str]
    goto: str
    keywords: dict[str, tuple[str, ...]] = field(default_factory=dict)
    value: str | None = None  # what an `ask` keeps when this choice is taken (default: the label)


@dataclass(frozen=True)
class Ask:
    """Wait for a free-text answer, keep it under `save`, then go to `goto`."""

    save: str
    goto: str


@dataclass(frozen=True)
class Pick:
    """A numbered list built from data (upcoming workshops, the person's sign-ups)."""

    source: str
    save: str
    goto: str
    empty: str | None = None


@dataclass(frozen=True)
class WorkshopDef:
    """A workshop as written in flows/workshops.yml (its seats are counted in SQL)."""

    key: str
    title: dict[str, str]
    day: date
    start: time
    end: time | None
    place: dict[str, str]
    seats: int
    file: str = "?"
    line: int | None = None
    keywords: dict[str, tuple[str, ...]] = field(default_factory=dict)  # words naming it in a message


@dataclass(frozen=True)
class WorkshopSettings:
    """How long a freed seat is held for the person offered it, and when not to text."""

    offer_hours: float = 12.0
    quiet_start: time = time(21, 0)
    quiet_end: time = time(8, 0)


@dataclass(frozen=True)
class Step:
    """One thing the bot says or does, then where it goes."""

    name: str
    say: dict[str, str] | None = None
    choices: tuple[Choice, ...] = ()
    do: str | None = None
    next: str | None = None
    open_case: str | None = None
    ask: Ask | None = None
    pick: Pick | None = None
    results: dict[str, str] = field(default_factory=dict)
    file: str = "?"
    line: int | None = None

    @property
    def waits(self) -> bool:
        """True when the bot waits at this step for the person's answer."""
        return bool(self.choices or self.ask or self.pick)

    def targets(self) -> list[str]:
        """Every step this step can lead to."""
        found = [c.goto for c in self.choices] + ([self.next] if self.next else [])
        if self.ask:
            found.append(self.ask.goto)
        if self.pick:
            found += [self.pick.goto] + ([self.pick.empty] if self.pick.empty else [])
        return found + list(self.results.values())


@dataclass(frozen=True)
class Keyword:
    """A word that, alone in a message, goes to a step or does an action from anywhere."""

    name: str
    words: dict[str, tuple[str, ...]]
    goto: str | None = None
    language: str | None = None


@dataclass(frozen=True)
class IntentRoute:
    """Which step answers an NLU intent, and the keywords the fallback classifier uses."""

    intent: str
    step: str
    keywords: dict[str, tuple[str, ...]] = field(default_factory=dict)
    choice: dict[str, str] = field(default_factory=dict)  # its name in a close-call question


@dataclass(frozen=True)
class EmergencyNumber:
    """A number to call in danger, with what it is for in each language."""

    number: str
    label: dict[str, str]
    languages: tuple[str, ...] = ()  # empty: for everyone; else only for these languages


@dataclass(frozen=True)
class Flows:
    """Everything the engine needs from `flows/`, loaded and checked."""

    name: dict[str, str]  # the plain name per language
    country: str
    languages: tuple[str, ...]
    default_language: str
    schedule: Schedule
    steps: dict[str, Step]
    intents: dict[str, IntentRoute]
    keywords: tuple[Keyword, ...]
    texts: dict[str, dict[str, str]]
    emergency: dict[str, tuple[EmergencyNumber, ...]]
    start: str
    human: str
    version: str
    rota: Rota = field(default_factory=lambda: Rota((), timedelta(minutes=15)))
    crisis: Lexicon | None = None
    workshops: dict[str, WorkshopDef] = field(default_factory=dict)
    workshop_settings: WorkshopSettings = field(default_factory=WorkshopSettings)
    centre_forms: dict[str, dict[str, str]] = field(default_factory=dict)  # lang -> {plain, de, a}

    def text(self, key: str, lang: str) -> str:
        """A shared text in a language, falling back to the default language."""
        variants = self.texts[key]
        return variants.get(lang) or variants[self.default_language]


_LEXICONS: dict[str, Lexicon] = {}  # content hash -> compiled lexicon (the last few)
_LEXICONS_LOCK = threading.Lock()


def load_lexicon(path: Path) -> Lexicon:
    """The crisis lexicon, compiled once per content of the file (compiling takes seconds).

    Keyed on the content, not the path: the checker validates edits through a temporary
    copy of the folder and must not compile the same lexicon again.
    """
    from bot.core.triage import load_lexicon as load  # late: bot.core.triage reads flows' helpers

    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    with _LEXICONS_LOCK:  # one compile at a time: a second caller then finds it done
        lexicon = _LEXICONS.get(digest)
        if lexicon is None:
            lexicon = load(path)
            while len(_LEXICONS) >= 4:
                _LEXICONS.pop(next(iter(_LEXICONS)), None)
            _LEXICONS[digest] = lexicon
    return lexicon


def load_flows(directory: Path | str) -> Flows:
    """Read and check every `*.yml` in directory (tests/ excluded); raise FlowError."""
    directory = Path(directory)
    files = sorted(p for p in directory.glob("*.yml") if p.is_file())
    if not files:
        raise FlowError(str(directory), None, "no .yml flow file in this folder")
    docs = {path.name: _read(path) for path in files}
    digest = hashlib.sha256(b"".join(p.read_bytes() for p in files)).hexdigest()[:12]
    crisis = directory / "crisis.yml"
    return replace(_build(docs, digest), rota=load_rota(directory / "oncall.yml"),
                   crisis=load_lexicon(crisis) if crisis.exists() else None)


def _read(path: Path) -> Any:
    loader = _LineLoader(path.read_text(encoding="utf-8"))
    loader.relais_file = path.name  # type: ignore[attr-defined]
    try:
        doc = loader.get_single_data()
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else None
        raise FlowError(path.name, line, f"this is not valid YAML ({exc.__class__.__name__}: "
                        f"{getattr(exc, 'problem', exc)})") from None
    finally:
        loader.dispose()
    if doc is None:
        doc = _Node()
        doc.file = path.name
    if not isinstance(doc, dict):
        raise FlowError(path.name, 1, "the file must be a list of named sections (key: value)")
    return doc


def _build(docs: dict[str, _Node], version: str, check: bool = True) -> Flows:
    """The flows from parsed files; check=False leaves the references to bot.core.flows_check."""
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
    saved = _saved_names(docs)
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
    flows = Flows(
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
    if check:
        _check_references(flows, docs)
    return flows


def _centre_name(centre: _Node, languages: tuple[str, ...]) -> dict[str, dict[str, str]]:
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


def _saved_names(docs: dict[str, _Node]) -> set[str]:
    """The names `ask:` and `pick:` keep answers under: usable as placeholders anywhere."""
    names = set()
    for doc in docs.values():
        for raw in (doc.get("steps") or {}).values():
            for key in ("ask", "pick"):
                if isinstance(raw, dict) and isinstance(raw.get(key), dict) and raw[key].get("save"):
                    names.add(str(raw[key]["save"]))
    return names


def _workshops(doc: _Node | None, languages: tuple[str, ...]) -> dict[str, WorkshopDef]:
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


def _workshop_settings(doc: _Node | None) -> WorkshopSettings:
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
        raw_dict = _Node({lang: raw for lang in languages})
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
        unknown = names - PLACEHOLDERS - set(saved) - {"until", "when", "day", "slots", "time", "reason",
                                          "week", "start", "end", "number", "label", "name"}
        if unknown:
            raise FlowError(_file(raw), _line(raw), f"{what} ({lang}) uses an unknown placeholder "
                            f"{{{sorted(unknown)[0]}}}")
    return {lang: str(raw[lang]).rstrip("\n") for lang in languages}


def _wordlists(raw: Any) -> dict[str, tuple[str, ...]]:
    from bot.core.text import normalize

    if not raw:
        return {}
    return {lang: tuple(normalize(str(w)) for w in words) for lang, words in raw.items()}


def _step(name: str, raw: _Node, languages: tuple[str, ...], saved: set[str] | None = None) -> Step:
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


def _schedule(doc: _Node, centre: _Node) -> Schedule:
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


def _check_references(flows: Flows, docs: dict[str, _Node]) -> None:
    for step in flows.steps.values():
        for target in step.targets():
            if target not in flows.steps:
                raise FlowError(step.file, step.line, f"step '{step.name}' goes to '{target}', "
                                "which is not a step")
    for route in flows.intents.values():
        if route.step not in flows.steps:
            raise FlowError("menu.yml", None, f"intent '{route.intent}' goes to '{route.step}', "
                            "which is not a step")
    for keyword in flows.keywords:
        if keyword.goto and keyword.goto not in flows.steps:
            raise FlowError("menu.yml", None, f"keyword '{keyword.name}' goes to '{keyword.goto}', "
                            "which is not a step")
    for name in (flows.start, flows.human, "not_understood", "media_only", "empty", "stop", "restart",
                 "opted_out"):
        if name not in flows.steps:
            raise FlowError("menu.yml", None, f"the step '{name}' is required but missing")
