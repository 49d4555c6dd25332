"""Check 7: the same word leading to two different steps, and a word of a list (a choice's
label or keyword, a workshop's title or keyword) that names two of its entries.

The same normalised word used by two global keywords, or by two intents, for different steps
in one language is an error (in two languages a warning: the engine does not look at the
language); a keyword that reads as a number is a warning (the menu digits win). A step's
own choice word equal to a global keyword is allowed by design (the step's word wins).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from bot.core import engine, naming
from bot.core.flowmodel import Flows, Step
from bot.core.flows.paths import line_of
from bot.core.flows.report import Check
from bot.core.text import as_number, normalize


@dataclass
class Keywords:
    """The same word leading to two different steps."""

    check: Check
    flows: Flows

    def run(self) -> None:
        """Record every word that global keywords or intents use for two steps."""
        self._collisions("keywords", "words", "keyword", lambda raw: raw.get("goto") or self.flows.start,
                         cross_language=True)
        self._collisions("intents", "keywords", "intent", lambda raw: raw.get("step"), cross_language=True)

    def _collisions(self, section: str, field_name: str, noun: str, target_of: Any,
                    cross_language: bool) -> None:
        seen: dict[tuple[str, str], tuple[str, str, str, int | None]] = {}
        by_word: dict[str, tuple[str, str, str, str, int | None]] = {}
        for file, doc in self.check.docs.items():
            for name, raw in (doc.get(section) or {}).items():
                target = target_of(raw)
                for lang, words in (raw.get(field_name) or {}).items():
                    line = line_of(doc, [section, name, field_name, lang])
                    for word in words or ():
                        norm = normalize(str(word))
                        if section == "keywords" and as_number(norm) is not None:
                            self.check.warning(file, line, f"keyword '{name}': '{word}' reads as the number "
                                               f"{as_number(norm)}, so it picks a menu line instead")
                        first = seen.get((lang, norm))
                        if first is None:
                            seen[(lang, norm)] = (name, target, file, line)
                            other = by_word.setdefault(norm, (lang, name, target, file, line))
                            if cross_language and other[0] != lang and other[2] != target:
                                self.check.warning(file, line, f"the word '{norm}' ({lang}) of {noun} "
                                                   f"'{name}' leads to '{target}', and in {other[0]} "
                                                   f"{noun} '{other[1]}' ({other[3]}:{other[4]}) uses it "
                                                   f"for '{other[2]}'; the bot does not look at the "
                                                   "language here, so one of them never works")
                        elif first[1] != target:
                            self.check.error(file, line, f"the word '{norm}' ({lang}) of {noun} '{name}' "
                                             f"leads to '{target}', but {noun} '{first[0]}' "
                                             f"({first[2]}:{first[3]}) uses it for '{first[1]}'; a word "
                                             "can lead to one step only")


@dataclass
class Names:
    """A word of a list (a choice's label or keyword, a workshop's title or keyword) that names two entries.

    The engine reads the words of a list inside a sentence, in every language at once, with one
    typo allowed in longer words (bot.core.naming): a word names two entries when a message holding
    only that word would name both. Two sessions of one workshop (the same title) may share words.
    """

    check: Check
    flows: Flows
    reported: set[tuple[str, str, frozenset[Any]]] = field(default_factory=set)

    def _first(self, clash: tuple[str, str, frozenset[Any]]) -> bool:
        """True the first time a word is found naming the same two entries (one report, not one per side)."""
        if clash in self.reported:
            return False
        self.reported.add(clash)
        return True

    def run(self) -> None:
        """Record every word that names two entries of one list."""
        for step in self.flows.steps.values():
            if step.choices and not step.pick and engine.list_entries(step, self.flows) is not None:
                self._choices(step)
        self._workshops()

    def _choices(self, step: Step) -> None:
        doc = self.check.docs.get(step.file)
        entries = engine.list_entries(step, self.flows) or []
        clashes = _clashes(tuple(entries))  # the same choices (written once with &name) are checked once
        for i, choice in enumerate(step.choices):
            for field_name, lang, word in _choice_words(choice):
                names = clashes.get(word, ())
                others = [j for j, entry in enumerate(entries) if j != i and entry.key != choice.goto
                          and entry.key in names]
                if not others:
                    continue
                j = others[0]
                if not self._first((step.name, word, frozenset((i, j)))):
                    continue
                line = line_of(doc, ["steps", step.name, "choices", i, field_name, lang]) if doc else step.line
                other = line_of(doc, ["steps", step.name, "choices", j]) if doc else step.line
                self.check.error(step.file, line, f"the word '{word}' ({lang}) of choice {i + 1} of step "
                                 f"'{step.name}' leads to '{choice.goto}', but it also names choice {j + 1} "
                                 f"({step.file}:{other}), which leads to '{step.choices[j].goto}'; a word can "
                                 "lead to one choice of a list only: remove it from one of them")

    def _workshops(self) -> None:
        workshops = list(self.flows.workshops.values())
        entries = [naming.Entry(w.key, engine.workshop_words(w)) for w in workshops]
        doc = self.check.docs.get("workshops.yml")
        lang0 = self.flows.default_language
        for workshop in workshops:
            for lang, word in [(lang, w) for lang, ws in workshop.keywords.items() for w in ws]:
                names = naming.named(word, entries)
                others = [w for w in workshops if w.key != workshop.key and w.title[lang0] != workshop.title[lang0]
                          and w.key in names]
                if not others or not self._first(("workshops", word, frozenset((workshop.key, others[0].key)))):
                    continue
                line = line_of(doc, ["workshops", workshop.key, "keywords", lang]) if doc else workshop.line
                self.check.error(workshop.file, line, f"the word '{word}' ({lang}) of workshop '{workshop.key}' "
                                 f"also names workshop '{others[0].key}' ({others[0].file}:{others[0].line}); a "
                                 "word can name one workshop only (two sessions of the same workshop, with the "
                                 "same title, may share their words): remove it from one of them")


@lru_cache(maxsize=64)
def _clashes(entries: tuple[naming.Entry, ...]) -> dict[str, tuple[str, ...]]:
    """Each word of a list -> the entries a message of that word alone names (more than one: a clash)."""
    found = {}
    for entry in entries:
        for word in entry.words:
            names = tuple(naming.named(word, entries))
            if len(names) > 1:
                found[word] = names
    return found


def _choice_words(choice: Any) -> Iterator[tuple[str, str, str]]:
    """(field, lang, normalised word) for every label and keyword of a choice."""
    for lang, label in choice.label.items():
        yield "label", lang, normalize(label)
    for lang, words in choice.keywords.items():
        for word in words:
            yield "keywords", lang, word
