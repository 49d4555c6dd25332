"""What a message names: the entries of a list (procedures, workshops) found by their words. Pure.

An entry has words (its label or title and the `keywords:` admins write, already
normalised: lower case, no accents, no punctuation). A word names the entry when it
stands in the message as whole words, in any case and with or without accents; a word of
five letters or more may have one typo (a letter missing, added, changed or two swapped,
the first letter right); "carte d identite" and "carte didentite" are the same, and so are
"latelier" (l'atelier once the apostrophe is gone) and "atelier". Where two
words overlap in the message ("tax letter" and "letter"), the longer one counts. The
entries named most (by how many places of the message name them) are the answer: one
entry, several that tie, or none.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rapidfuzz.distance import OSA

from bot.core.text import normalize

TYPO_FROM = 5  # words this long or longer may have one typo


@dataclass(frozen=True)
class Entry:
    """One line of a list: its key (a step or a workshop) and the words that name it."""

    key: str
    words: tuple[str, ...]


@dataclass(frozen=True)
class _Match:
    key: str
    start: int
    end: int  # the tokens start..end-1 of the message
    exact: bool


def named(text: str, entries: Sequence[Entry]) -> list[str]:
    """The keys of the entries the text names most, in list order; [] when it names none."""
    counts = mentions(text, entries)
    if not counts:
        return []
    best = max(counts.values())
    return [entry.key for entry in entries if counts.get(entry.key) == best]


def mentions(text: str, entries: Sequence[Entry]) -> dict[str, int]:
    """How many places of the text name each entry (entries never named are left out)."""
    tokens = normalize(text).split()
    # the first letters at each place (of the word, and of the word without an elided l', d'...):
    # a word can only stand where its first letter does, which skips most comparisons
    firsts = [{token[0], *((bare[0],) if (bare := _unelided(token)) else ())} for token in tokens]
    found = [m for entry in entries for word in dict.fromkeys(entry.words) if word
             for m in _find(entry.key, word.split(), tokens, firsts)]
    found.sort(key=lambda m: (-(m.end - m.start), not m.exact, m.start))
    taken: set[int] = set()
    claimed: set[tuple[int, int, bool]] = set()  # the places counted, and whether exactly
    counted: set[tuple[str, tuple[int, int, bool]]] = set()
    counts: dict[str, int] = {}
    for match in found:
        place = (match.start, match.end, match.exact)
        span = set(range(match.start, match.end))
        if span & taken and place not in claimed or (match.key, place) in counted:
            continue  # inside a longer word counted already (the same place, as well written, ties)
        taken |= span
        claimed.add(place)
        counted.add((match.key, place))
        counts[match.key] = counts.get(match.key, 0) + 1
    return counts


def _find(key: str, words: list[str], tokens: list[str], firsts: list[set[str]]) -> list[_Match]:
    """Every place of tokens where words stand, word by word or written together."""
    found = []
    size, joined = len(words), "".join(words)
    for start in range(len(tokens)):
        if joined[0] not in firsts[start]:
            continue
        window = tokens[start:start + size]
        if len(window) == size and all(_same(w, t) for w, t in zip(words, window, strict=True)):
            found.append(_Match(key, start, start + size, window == words))
            continue
        for width in range(1, size + 2):  # "carte d identite" for "carte didentite", and back
            if width == size or start + width > len(tokens):
                continue
            together = "".join(tokens[start:start + width])
            if together == joined or (size > 1 and _typo(joined, together)):  # "a location" is no allocation
                found.append(_Match(key, start, start + width, together == joined))
                break
    return found


def _same(word: str, token: str) -> bool:
    if word == token or (len(word) >= TYPO_FROM and _typo(word, token)):
        return True
    bare = _unelided(token)  # "latelier" (l'atelier) is "atelier", "sinscrire" is "inscrire"
    return bare is not None and word == bare  # exactly: "demain" is no "d'email" with a typo


def _unelided(token: str) -> str | None:
    """A French word without the elided l', d', j', s', n', m', t', c', qu' the apostrophe's loss joined to it."""
    for head in ("qu", "l", "d", "j", "s", "n", "m", "t", "c"):
        rest = token[len(head):]
        if token.startswith(head) and len(rest) >= 4 and rest[0] in "aeiouyh":
            return rest
    return None


def _typo(word: str, token: str) -> bool:
    """One letter missing, added, changed or two swapped; the first letter is never the typo."""
    return len(token) >= TYPO_FROM - 1 and token[0] == word[0] and OSA.distance(word, token, score_cutoff=1) <= 1
