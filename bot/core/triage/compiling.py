"""Compiling the lexicon: one regex per phrase, anchors to find them fast, typo targets."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from bot.core.text import normalize
from bot.core.triage.canonical import canonical_words
from bot.core.triage.model import Category, Compiled, Cries, Lexicon, Together
from bot.core.triage.words import (
    ALL_NUMBER_WORDS,
    CRY_GROUPS,
    DOUBLES,
    ENDINGS,
    EVERYDAY_WORDS,
    GAP,
    MIN_ENDING_WORD,
    MIN_SHORT_TYPO,
    MIN_TYPO_WORD,
    PLACEHOLDER,
    SMS_SPELLINGS,
)
from bot.core.yamlfile import Seq


def compile_lexicon(categories: list[tuple[Any, ...]], not_crisis: dict[str, Seq], calm: dict[str, Seq],
             file: str, together: list[tuple[Any, ...]] | None = None,
             cries: tuple[dict[str, str], dict[str, list[str]]] | None = None,
             joking: tuple[list[str], list[str]] = ([], [])) -> Lexicon:
    """The lexicon, ready to match, from the checked sections of crisis.yml."""
    figures = [p for items in not_crisis.values() for p in items]
    contexts = [p for items in calm.values() for p in items] + joking[0]  # a joke marker is a calm context
    compiled = {(name, tuple(_phrase_words(p)), is_weak)
                for name, _, phrases, weak in categories
                for is_weak, by_lang in ((False, phrases), (True, weak)) for items in by_lang.values() for p in items}
    ordered = sorted(compiled)
    rules = [(key, category, label, [[tuple(_phrase_words(p)) for p in part] for part in parts])
             for key, category, label, parts in together or []]
    combined = {w for *_, parts in rules for part in parts for words in part for w in words}
    crisis_words = {w for _, words, _ in ordered for w in words if not w.startswith("<")} | {
        w for w in combined if not w.startswith("<")}
    cry_words = {w for items in (cries[1].values() if cries else ()) for p in items for w in _phrase_words(p)}
    figure_words = {w for p in figures + contexts + joking[1] for w in _phrase_words(p) if not w.startswith("<")}
    targets: dict[str, list[str]] = {}
    for word in sorted(crisis_words | figure_words):  # "documentiare" is a documentary: calm
        if len(word) >= MIN_TYPO_WORD and word.isalpha():
            targets.setdefault(word[0], []).append(word)
    everyday = {*EVERYDAY_WORDS, *ALL_NUMBER_WORDS, *" ".join(SMS_SPELLINGS.values()).split()}
    known = crisis_words | figure_words | cry_words | {DOUBLES.sub(r"\1", w) for w in everyday}
    return Lexicon(
        categories=tuple(Category(name, label, _texts(phrases), _texts(weak))
                         for name, label, phrases, weak in categories),
        not_crisis=_texts(not_crisis),
        calm=_texts(calm),
        phrases=tuple(Compiled(name, _alternation([words]), is_weak) for name, words, is_weak in ordered),
        anchors=_anchors([words for _, words, _ in ordered]),
        reach=max(_reach(words) for _, words, _ in ordered),
        not_crisis_pattern=_alternation([tuple(_phrase_words(p)) for p in figures]) if figures else None,
        calm_pattern=_alternation([tuple(_phrase_words(p)) for p in contexts]) if contexts else None,
        typo_targets={letter: tuple(words) for letter, words in targets.items()},
        crisis_words=frozenset(crisis_words),
        known_words=frozenset(known),
        file=file,
        short_typos=_short_typos(crisis_words, known),
        joking=(_alternation([tuple(_phrase_words(p)) for p in joking[0]]) if joking[0] else None,
                _alternation([tuple(_phrase_words(p)) for p in joking[1]]) if joking[1] else None),
        together=tuple(Together(key, category, label, tuple(_alternation(part) for part in parts))
                       for key, category, label, parts in rules),
        cries=Cries(cries[0], tuple((_alternation([tuple(_phrase_words(p)) for p in cries[1][group]]), points)
                                    for group, points in CRY_GROUPS.items() if group in cries[1]))
        if cries else None,
    )


def _short_typos(crisis_words: set[str], known: set[str]) -> dict[str, str]:
    """Two letters swapped, one left out or a vowel added in a short crisis word ("vdoka", "peit",
    "bolod" for "blod", as "blood" is kept), never a known word."""
    variants: dict[str, set[str]] = {}
    for word in crisis_words:
        if not (MIN_SHORT_TYPO <= len(word) < MIN_TYPO_WORD and word.isalpha()):
            continue
        swaps = {word[:i] + word[i + 1] + word[i] + word[i + 2:] for i in range(1, len(word) - 1)}
        drops = {word[:i] + word[i + 1:] for i in range(1, len(word))} if len(word) > MIN_SHORT_TYPO else set()
        extra = {word[:i] + vowel + word[i:] for i in range(1, len(word) + 1) for vowel in "aeiou"}
        for variant in (swaps | drops | extra) - {word}:
            variants.setdefault(variant, set()).add(word)
    return {v: min(t) for v, t in variants.items()
            if len(v) >= MIN_SHORT_TYPO and v not in known and v not in crisis_words}


def _texts(by_lang: dict[str, Seq]) -> dict[str, tuple[str, ...]]:
    return {lang: tuple(map(str, items)) for lang, items in by_lang.items()}


def _reach(words: tuple[str, ...]) -> int:
    """The most words a phrase can cover: a gap takes up to 3 more, a number its 'de'."""
    return sum(4 if w == "<...>" else 2 if w.startswith("<") else 1 for w in words)


def _anchors(phrases: list[tuple[str, ...]]) -> dict[str, tuple[int, ...]]:
    """Index each phrase by its rarest word, so a message only tries the phrases it may hold."""
    counts: dict[str, int] = {}
    for words in phrases:
        for word in set(words):
            counts[word] = counts.get(word, 0) + 1
    index: dict[str, list[int]] = {}
    for number, words in enumerate(phrases):
        literal = [w for w in words if not w.startswith("<")]
        anchor = min(literal, key=lambda w: (counts[w], -len(w)))
        index.setdefault(_stem(anchor), []).append(number)
    return {word: tuple(numbers) for word, numbers in index.items()}


def _phrase_words(phrase: Any) -> list[str]:
    """The canonical words of a lexicon phrase; wildcards kept as <n>, <5+> and <...>."""
    words: list[str] = []
    text, position = str(phrase), 0
    for wildcard in PLACEHOLDER.finditer(text):
        words.extend(w.text for w in canonical_words(normalize(text[position:wildcard.start()])))
        words.append(f"<{wildcard[1]}>" if wildcard[1] else "<...>")
        position = wildcard.end()
    words.extend(w.text for w in canonical_words(normalize(text[position:])))
    return words


def _alternation(phrases: Iterable[tuple[str, ...]]) -> re.Pattern[str]:
    """One regex for one or more phrases, longest first so the most specific phrase wins."""
    ordered = sorted({w for w in phrases if w}, key=lambda words: (-len(words), words))
    body = "|".join(_phrase_pattern(words) for words in ordered)
    return re.compile(rf"(?<!\S)(?:{body})(?!\S)")


def _phrase_pattern(words: tuple[str, ...]) -> str:
    pattern = ""
    for word in words:
        pattern += GAP if word == "<...>" else _word_pattern(word) + " "
    return pattern.rstrip(" ")


def _word_pattern(word: str) -> str:
    if word == "<n>":
        return _number_pattern(0)
    if word.startswith("<"):
        return _number_pattern(int(word[1:-2]))
    if len(word) >= MIN_ENDING_WORD and word.isalpha():
        return re.escape(_stem(word)) + ENDINGS
    return re.escape(word)


def _stem(word: str) -> str:
    """The part of a lexicon word a message must hold: "tuer" -> "tue" (SMS writers swap them)."""
    return word[:-1] if len(word) >= 4 and word.endswith("er") else word


def _number_pattern(minimum: int) -> str:
    """A number in digits or words, at least minimum (below 100), with an optional 'de'/'x'."""
    words = "|".join(sorted({DOUBLES.sub(r"\1", w) for w, n in ALL_NUMBER_WORDS.items() if n >= minimum}))
    return rf"(?:{_digits_at_least(minimum)}|{words})(?: de| d| of| x)?"


def _digits_at_least(minimum: int) -> str:
    """A regex for the numbers written in digits that are at least minimum (below 100)."""
    if minimum <= 0:
        return r"\d+"
    tens, units = divmod(minimum, 10)
    if not tens:
        return rf"[1-9]\d+|[{units}-9]"
    higher_tens = rf"|[{tens + 1}-9]\d" if tens < 9 else ""
    return rf"[1-9]\d{{2,}}{higher_tens}|{tens}[{units}-9]"
