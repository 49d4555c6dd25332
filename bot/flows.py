"""Loading the conversation flows that admins edit in `flows/*.yml`.

Every file may hold `steps`, `texts`, `keywords` and `intents`; `centre.yml` also holds
the centre's facts, hours, closures and emergency numbers. Errors name the file, the
line and the reason, in words an admin understands.
"""

from __future__ import annotations

import hashlib
import string
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from bot.errors import FlowError
from bot.hours import WEEKDAYS, Closure, Schedule, parse_slot
from bot.lang import LANGUAGES
from bot.oncall import Rota, load_rota

if TYPE_CHECKING:
    from bot.triage import Lexicon

__all__ = ["FlowError", "Flows", "load_flows"]

PLACEHOLDERS = {"centre", "hours", "emergency", "menu", "next_open", "reference", "human_eta"}


class _Node(dict):  # type: ignore[type-arg]
    """A mapping that remembers the file and line it came from."""

    file: str = "?"
    line: int | None = None


class _LineLoader(yaml.SafeLoader):
    pass


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> _Node:
    mapping = _Node(loader.construct_mapping(node, deep=True))
    mapping.line = node.start_mark.line + 1
    mapping.file = getattr(loader, "relais_file", "?")
    return mapping


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


@dataclass(frozen=True)
class Choice:
    """One numbered line of a menu."""

    label: dict[str, str]
    goto: str
    keywords: dict[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class Step:
    """One thing the bot says or does, then where it goes."""

    name: str
    say: dict[str, str] | None = None
    choices: tuple[Choice, ...] = ()
    do: str | None = None
    next: str | None = None
    open_case: str | None = None
    file: str = "?"
    line: int | None = None


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


@dataclass(frozen=True)
class EmergencyNumber:
    """A number to call in danger, with what it is for in each language."""

    number: str
    label: dict[str, str]
    languages: tuple[str, ...] = ()  # empty: for everyone; else only for these languages


@dataclass(frozen=True)
class Flows:
    """Everything the engine needs from `flows/`, loaded and checked."""

    name: dict[str, str]
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

    def text(self, key: str, lang: str) -> str:
        """A shared text in a language, falling back to the default language."""
        variants = self.texts[key]
        return variants.get(lang) or variants[self.default_language]


def load_lexicon(path: Path) -> Lexicon:
    """The crisis lexicon, compiled once per version of the file (compiling takes seconds)."""
    stat = path.stat()
    return _compiled_lexicon(path, stat.st_mtime_ns, stat.st_size)


@lru_cache(maxsize=4)
def _compiled_lexicon(path: Path, _mtime_ns: int, _size: int) -> Lexicon:
    from bot.triage import load_lexicon as load  # late: bot.triage reads flows' helpers

    return load(path)


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


def _build(docs: dict[str, _Node], version: str) -> Flows:
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
    for doc in docs.values():
        for name, raw in (doc.get("steps") or {}).items():
            if name in steps:
                raise FlowError(doc.file, raw.line, f"step '{name}' is defined twice "
                                f"(also in {steps[name].file})")
            steps[name] = _step(name, raw, languages)
        for key, raw in (doc.get("texts") or {}).items():
            texts[key] = _texts(raw, languages, f"text '{key}'")
        for intent, raw in (doc.get("intents") or {}).items():
            intents[intent] = IntentRoute(intent, str(_require(raw, "step", str)),
                                          _wordlists(raw.get("keywords")))
        for name, raw in (doc.get("keywords") or {}).items():
            keywords.append(Keyword(name, _wordlists(raw.get("words")), raw.get("goto"),
                                    raw.get("language")))
        start = doc.get("start", start)
        human = doc.get("human", human)
    flows = Flows(
        name=_texts(_require(centre, "name", dict), languages, "centre name"),
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
    )
    _check_references(flows, docs)
    return flows


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


def _texts(raw: Any, languages: tuple[str, ...], what: str) -> dict[str, str]:
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
        unknown = names - PLACEHOLDERS - {"until", "when", "day", "slots", "time", "reason",
                                          "week", "start", "end", "number", "label", "name"}
        if unknown:
            raise FlowError(_file(raw), _line(raw), f"{what} ({lang}) uses an unknown placeholder "
                            f"{{{sorted(unknown)[0]}}}")
    return {lang: str(raw[lang]).rstrip("\n") for lang in languages}


def _wordlists(raw: Any) -> dict[str, tuple[str, ...]]:
    from bot.text import normalize

    if not raw:
        return {}
    return {lang: tuple(normalize(str(w)) for w in words) for lang, words in raw.items()}


def _step(name: str, raw: _Node, languages: tuple[str, ...]) -> Step:
    if not isinstance(raw, dict):
        raise FlowError("?", None, f"step '{name}' must be a section with say/choices/next")
    choices = tuple(
        Choice(_texts(_require(c, "label", dict), languages, f"a choice label of step '{name}'"),
               str(_require(c, "goto", str)), _wordlists(c.get("keywords")))
        for c in raw.get("choices") or ()
    )
    say = raw.get("say")
    return Step(
        name=name,
        say=_texts(say, languages, f"step '{name}'") if say is not None else None,
        choices=choices,
        do=raw.get("do"),
        next=raw.get("next"),
        open_case=raw.get("open_case"),
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
        targets = [c.goto for c in step.choices] + ([step.next] if step.next else [])
        for target in targets:
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
    for name in (flows.start, flows.human, "not_understood", "media_only", "empty"):
        if name not in flows.steps:
            raise FlowError("menu.yml", None, f"the step '{name}' is required but missing")
