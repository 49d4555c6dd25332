"""Matching a message against the lexicon: assess() and the hits it is made of."""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_left
from collections.abc import Iterator
from typing import NamedTuple

from bot.core.text import clean, normalize
from bot.core.triage.canonical import canonical_words, trusted
from bot.core.triage.model import CRY_CATEGORY, URGENT_INTENT, URGENT_MIN_CONFIDENCE, Lexicon, Triage, Word
from bot.core.triage.words import FILLER_WORDS, NON_WORD


def assess(text: str, lexicon: Lexicon, intent: str | None = None, confidence: float = 0.0) -> Triage:
    """Urgent when a crisis phrase, a combination or a cry for help matches, or the NLU is sure.

    Weak phrases and combinations need the absence of a calm context (the past, a film, a
    joke marked lol or mdr, papers); so does the NLU's `urgent` when no phrase supports it.
    """
    typed = normalize(text).split()
    words = canonical_words(" ".join(typed), lexicon)
    original = _as_typed(text, typed)
    canonical = " ".join(w.text for w in words)
    kept, starts = _without_figures(canonical, lexicon)
    calm = _calm(canonical, lexicon)
    if calm and _joking(canonical, lexicon):  # "lol je vais me pendre si j'ai encore un formulaire"
        kept, starts = "", [0]
    found = [hit for hit in _crisis_hits(kept, starts, lexicon, calm) if trusted([words[i] for i in hit[3]])]
    hits = [_Found(name, lexicon.category(name).label["fr"], (_source(inside, words, original),))
            for name, inside in _merged(_outermost(found))]
    if not calm:
        said = " ".join(w for hit in hits for w in hit.words)
        hits += [hit for hit in _together_hits(kept, starts, words, original, lexicon)
                 if not all(part in said for part in hit.words)]  # nothing new: "petit" + "tout seul"
        if not hits and kept:
            hits = _cry_hits(canonical, words, original, lexicon, _shouted(text))
    figure = "|" in kept  # a figure of speech was set aside: the NLU alone may have read it literally
    nlu_urgent = (intent == URGENT_INTENT and confidence >= URGENT_MIN_CONFIDENCE
                  and not _only_figures(kept) and (bool(hits) or not (calm or figure)))
    if not hits and not nlu_urgent:
        return Triage(None, _doubt(intent, confidence, calm, figure))
    category = hits[0].category if hits else None  # the longest match is the most specific
    matched = tuple(dict.fromkeys(" + ".join(hit.words) for hit in hits))
    return Triage("urgent", _reason(hits, confidence if nlu_urgent else None), category, matched)


class _Found(NamedTuple):
    """One reason to flag: the category, its label for the social worker, the person's words."""

    category: str
    label: str
    words: tuple[str, ...]


_MAX_REASON = 255  # cases.reason
_MAX_QUOTE = 48


def _reason(hits: list[_Found], confidence: float | None) -> str:
    """Why, in words a social worker acts on: each label with the person's words, then the NLU.

    "moyens : médicaments + quantité « 20 doliprane » ; le modèle de langue le pense aussi (97 %)"
    """
    quotes: dict[str, list[str]] = {}
    for hit in hits:
        quote = " + ".join(f"« {_short(w)} »" for w in hit.words)
        if quote not in quotes.setdefault(hit.label, []):
            quotes[hit.label].append(quote)
    found = [f"{label} " + ", ".join(said) for label, said in quotes.items()]
    nlu = []
    if confidence is not None:
        percent = _percent(confidence)
        nlu = [f"le modèle de langue le pense aussi ({percent})" if hits else
               f"aucun mot de la liste, mais le modèle de langue y voit une urgence ({percent}) : lire le message"]
    for count in range(len(found), 0, -1):  # too long for cases.reason: the first (longest) hits stay
        reason = " ; ".join(found[:count] + (["…"] if count < len(found) else []) + nlu)
        if len(reason) <= _MAX_REASON:
            return reason
    return " ; ".join(found + nlu)[:_MAX_REASON]


def _doubt(intent: str | None, confidence: float, calm: bool, figure: bool) -> str:
    """When the NLU said urgent and the triage does not: why, for the person who checks."""
    if intent != URGENT_INTENT:
        return ""
    said = f"à vérifier : le modèle de langue y voit une urgence ({_percent(confidence)})"
    if confidence < URGENT_MIN_CONFIDENCE:
        return f"{said}, mais il n'en est pas sûr"
    if figure:
        return f"{said}, mais c'est une façon de parler (« ce formulaire me tue »)"
    return f"{said}, mais le message parle du passé, d'un film, de papiers, d'une date à venir ou d'une blague"


def _percent(confidence: float) -> str:
    return f"{round(confidence * 100)} %"


def _short(words: str) -> str:
    return words if len(words) <= _MAX_QUOTE else words[:_MAX_QUOTE - 1].rstrip() + "…"


def _together_hits(kept: str, starts: list[int], words: list[Word], original: list[str],
                   lexicon: Lexicon) -> list[_Found]:
    """The combinations whose every part is in the message ("vodka" and "somniferes")."""
    found = []
    for rule in lexicon.together:
        spans = [next(_spans(pattern, kept, starts), None) for pattern in rule.parts]
        if all(spans) and trusted([words[i] for span in spans if span for i in span]):
            parts = [_source(span, words, original) for span in spans if span]
            found.append(_Found(rule.category, rule.label["fr"], tuple(dict.fromkeys(parts))))
    return found


def _spans(pattern: re.Pattern[str], text: str, starts: list[int]) -> Iterator[list[int]]:
    """The word indices of each match of pattern in text."""
    for match in pattern.finditer(text):
        yield list(range(bisect_left(starts, match.start()), bisect_left(starts, match.end())))


def _shouted(text: str) -> bool:
    """Two words or more, all in capitals: "HELP ME" is shouted, "HELP" may be the help menu."""
    letters = [c for c in text if c.isalpha()]
    return len(text.split()) >= 2 and bool(letters) and all(c.isupper() for c in letters)


def _cry_hits(canonical: str, words: list[Word], original: list[str], lexicon: Lexicon,
              shouted: bool = False) -> list[_Found]:
    """A message that is nothing but a cry for help ("URGENT AIDEZ MOI", "help mij nu", "SOS", "HELP ME")."""
    cries = lexicon.cries
    if cries is None or not canonical:
        return []
    starts = [0]
    for token in canonical.split(" ")[:-1]:
        starts.append(starts[-1] + len(token) + 1)
    covered: set[int] = set()
    weight = int(shouted)
    for pattern, points in cries.groups:
        for span in _spans(pattern, canonical, starts):
            if span and not covered.intersection(span):
                covered.update(span)
                weight += points
    rest = [w.text for i, w in enumerate(words) if i not in covered]
    if weight < 2 or any(w not in FILLER_WORDS for w in rest):
        return []
    return [_Found(CRY_CATEGORY, cries.label["fr"], (" ".join(original),))]


def _without_figures(text: str, lexicon: Lexicon) -> tuple[str, list[int]]:
    """The canonical text with each figure of speech replaced by '|', and where each word starts."""
    if lexicon.not_crisis_pattern is not None:
        text = lexicon.not_crisis_pattern.sub(lambda m: " ".join(["|"] * len(m[0].split())), text)
    starts, position = [], 0
    for token in text.split(" "):
        starts.append(position)
        position += len(token) + 1
    return text, starts


def _as_typed(text: str, normalized: list[str]) -> list[str]:
    """The person's words with their accents and capitals, word for word with the normalised ones."""
    kept = unicodedata.normalize("NFC", clean(text)).replace("'", "\u02bc").replace("’", "\u02bc")  # a letter: one word
    shown = [w.replace("\u02bc", "'") for w in NON_WORD.sub(" ", kept).split()]
    return shown if len(shown) == len(normalized) else normalized


def _source(inside: list[int], words: list[Word], original: list[str]) -> str:
    """The person's own words behind the canonical words of a match."""
    return " ".join(original[words[inside[0]].first:words[inside[-1]].last + 1])


def _calm(text: str, lexicon: Lexicon) -> bool:
    """True when the message speaks of a calm context: the past, a film, the news."""
    return lexicon.calm_pattern is not None and lexicon.calm_pattern.search(text) is not None


def _joking(text: str, lexicon: Lexicon) -> bool:
    """True when a joke marker (lol, mdr) stands beside an everyday hassle (a form, taxes, homework)."""
    markers, about = lexicon.joking
    return bool(markers and about and markers.search(text) and about.search(text))


def _only_figures(kept: str) -> bool:
    """True when figures of speech were set aside and nothing that matters is left."""
    return "|" in kept and all(w in FILLER_WORDS or w == "|" for w in kept.split())


_Hit = tuple[str, int, int, list[int]]  # category, start, end, indices of the words


def _crisis_hits(kept: str, starts: list[int], lexicon: Lexicon, calm: bool = False) -> list[_Hit]:
    """Every crisis phrase found in the text (weak ones only outside a calm context)."""
    spans: set[tuple[int, int, int]] = set()
    for index, where in _candidates(kept, lexicon).items():
        if calm and lexicon.phrases[index].weak:
            continue
        pattern = lexicon.phrases[index].pattern
        for token in where:
            low = starts[max(0, token - lexicon.reach)]
            high = starts[token + lexicon.reach] - 1 if token + lexicon.reach < len(starts) else len(kept)
            spans.update((index, *m.span()) for m in pattern.finditer(kept, low, high))
    return [(lexicon.phrases[index].category, start, end,
             list(range(bisect_left(starts, start), bisect_left(starts, end)))) for index, start, end in sorted(spans)]


def _merged(hits: list[_Hit]) -> list[tuple[str, list[int]]]:
    """Overlapping hits of one category as one ("pris 20" and "20 doliprane": "pris 20 doliprane")."""
    merged: list[tuple[str, list[int]]] = []
    for name, _, _, inside in hits:
        for number, (other, span) in enumerate(merged):
            if other == name and inside[0] <= span[-1] + 1 and span[0] <= inside[-1] + 1:
                merged[number] = (name, list(range(min(span[0], inside[0]), max(span[-1], inside[-1]) + 1)))
                break
        else:
            merged.append((name, inside))
    return merged


def _outermost(hits: list[_Hit]) -> list[_Hit]:
    """The hits not inside a longer one ("me tuer" in "va me tuer"), longest first."""
    kept: list[_Hit] = []
    for hit in sorted(hits, key=lambda h: (h[1] - h[2], h[1])):
        if not any(k[1] <= hit[1] and hit[2] <= k[2] for k in kept):
            kept.append(hit)
    return kept


def _candidates(kept: str, lexicon: Lexicon) -> dict[int, list[int]]:
    """The phrases whose anchor word is in the text (with or without an ending), and where."""
    found: dict[int, list[int]] = {}
    for position, token in enumerate(kept.split(" ")):
        stems = [token] if len(token) <= 2 else [token[:len(token) - cut] for cut in range(min(4, len(token) - 2))]
        for stem in stems:
            for index in lexicon.anchors.get(stem, ()):
                found.setdefault(index, []).append(position)
    return found

