"""Building the Flows from parsed flow files (bot.core.yamlfile trees), one section at a time.

The checker (bot.core.flows.validate) has looked at the files first; what is left to find
here are the shapes only building reveals, raised as FlowError with the file and line.
"""

from __future__ import annotations

from bot.core.errors import FlowError
from bot.core.flowmodel import (
    ACTIONS,
    PICK_SOURCES,
    Ask,
    Choice,
    Flows,
    IntentRoute,
    Keyword,
    Pick,
    Step,
)
from bot.core.flows.build_centre import centre_names, emergency, schedule, workshop_settings, workshops
from bot.core.flows.fields import require, texts_of, wordlists
from bot.core.lang import LANGUAGES
from bot.core.yamlfile import Node


def build(docs: dict[str, Node], version: str) -> Flows:
    """The flows from parsed files (file name -> tree); raise FlowError on a shape it cannot use."""
    centre_doc = docs.get("centre.yml")
    if centre_doc is None:
        raise FlowError("centre.yml", None, "centre.yml is missing: it holds the centre's name and hours")
    centre = require(centre_doc, "centre", dict)
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
            texts[key] = texts_of(raw, languages, f"text '{key}'")
        for intent, raw in (doc.get("intents") or {}).items():
            choice = texts_of(raw["choice"], languages, f"the choice of intent '{intent}'") \
                if raw.get("choice") is not None else {}
            intents[intent] = IntentRoute(intent, str(require(raw, "step", str)),
                                          wordlists(raw.get("keywords")), choice)
        for name, raw in (doc.get("keywords") or {}).items():
            keywords.append(Keyword(name, wordlists(raw.get("words")), raw.get("goto"),
                                    raw.get("language")))
        start = doc.get("start", start)
        human = doc.get("human", human)
    name = centre_names(centre, languages)
    return Flows(
        name={lang: forms["plain"] for lang, forms in name.items()},
        centre_forms=name,
        country=str(centre.get("country", "BE")).upper(),
        languages=languages,
        default_language=default_language,
        schedule=schedule(centre_doc, centre),
        steps=steps,
        intents=intents,
        keywords=tuple(keywords),
        texts=texts,
        emergency=emergency(centre_doc.get("emergency") or {}, languages),
        start=start or "menu",
        human=human or "talk",
        version=version,
        workshops=workshops(docs.get("workshops.yml"), languages),
        workshop_settings=workshop_settings(docs.get("workshops.yml")),
    )


def saved_names(docs: dict[str, Node]) -> set[str]:
    """The names `ask:` and `pick:` keep answers under: usable as placeholders anywhere."""
    names = set()
    for doc in docs.values():
        for raw in (doc.get("steps") or {}).values():
            for key in ("ask", "pick"):
                if isinstance(raw, dict) and isinstance(raw.get(key), dict) and raw[key].get("save"):
                    names.add(str(raw[key]["save"]))
    return names


def _step(name: str, raw: Node, languages: tuple[str, ...], saved: set[str] | None = None) -> Step:
    if not isinstance(raw, dict):
        raise FlowError("?", None, f"step '{name}' must be a section with say/choices/next")
    saved = saved or set()
    choices = tuple(
        Choice(texts_of(require(c, "label", dict), languages, f"a choice label of step '{name}'"),
               str(require(c, "goto", str)), wordlists(c.get("keywords")),
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
        ask = Ask(str(require(ask_raw, "save", str)), str(require(ask_raw, "goto", str)))
    if raw.get("pick") is not None:
        pick_raw = raw["pick"]
        source = str(require(pick_raw, "from", str))
        if source not in PICK_SOURCES:
            raise FlowError(pick_raw.file, pick_raw.line, f"step '{name}' picks from '{source}'; "
                            f"it can pick from {' or '.join(PICK_SOURCES)}")
        pick = Pick(source, str(require(pick_raw, "save", str)), str(require(pick_raw, "goto", str)),
                    str(pick_raw["empty"]) if pick_raw.get("empty") else None)
    return Step(
        name=name,
        say=texts_of(say, languages, f"step '{name}'", saved) if say is not None else None,
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
