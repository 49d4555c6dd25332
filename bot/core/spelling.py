"""Typos mended before the NLU reads a message: "muutelle" -> "mutuelle". Pure.

The NLU's character n-grams forgive some slips, but a swapped or dropped letter in the one
word that carries the meaning ("atleiers", "heatlh", "conactez") still misleads it. Each
word the training data never uses, of five letters or more, becomes the one training word
at one edit (a letter swapped, dropped, added or changed) when there is exactly one such
word, starting with the same letter. Known words and short words are never touched.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

from rapidfuzz.distance import OSA
from rapidfuzz.process import extract

from bot.core import yamlfile
from bot.core.text import normalize

MIN_LENGTH = 5
TRAINING_DATA = Path(__file__).resolve().parents[2] / "nlu" / "data"
_EXAMPLE = re.compile(r"^\s*-\s+(.*)$")
_DOUBLES = re.compile(r"([a-z])\1")  # the crisis lexicon keeps its words with doubles made single


class Speller:
    """Mends typos against a vocabulary (the words of the NLU's training data)."""

    def __init__(self, words: Iterable[str]) -> None:
        self.known = frozenset(words)
        by_letter: dict[str, list[str]] = {}
        for word in sorted(self.known):
            if len(word) >= MIN_LENGTH - 1 and word.isalpha():
                by_letter.setdefault(word[0], []).append(word)
        self.by_letter = {letter: tuple(words) for letter, words in by_letter.items()}
        self.cache: dict[str, str] = {}
        self._keep: frozenset[str] = frozenset()
        self._keep_by_letter: dict[str, list[str]] = {}

    def word(self, word: str) -> str:
        """The word, or the one known word at one edit from it."""
        if word in self.known or len(word) < MIN_LENGTH or not word.isalpha():
            return word
        if word not in self.cache:
            if len(self.cache) > 50_000:
                self.cache.clear()
            found = extract(word, self.by_letter.get(word[0], ()), scorer=OSA.distance, score_cutoff=1,
                            limit=2)
            self.cache[word] = found[0][0] if len(found) == 1 else word
        return self.cache[word]

    def text(self, text: str, keep: frozenset[str] = frozenset()) -> str:
        """The text with each mended word; the words in keep (crisis words) are never changed,
        nor a word one slip away from one ("breating" is not mended into "beating").

        Only words already in normal form (lower case, no accents or punctuation) are mended.
        """
        return " ".join(w if normalize(w) != w or self._near(w, keep) else self.word(w) for w in text.split())

    def _near(self, word: str, keep: frozenset[str]) -> bool:
        """True when word is, or is one slip away from, a word of keep."""
        if not keep:
            return False
        single = _DOUBLES.sub(r"\1", word)
        if word in keep or single in keep:
            return True
        if word in self.known or len(word) < MIN_LENGTH or not word.isalpha():
            return False
        if self._keep is not keep:  # index the crisis words by first letter, once per lexicon
            self._keep, self._keep_by_letter = keep, {}
            for k in sorted(keep):
                self._keep_by_letter.setdefault(k[:1], []).append(k)
        return bool(extract(word, self._keep_by_letter.get(word[:1], ()), scorer=OSA.distance,
                            score_cutoff=1, limit=1))


def from_training_data(folder: Path = TRAINING_DATA) -> Speller | None:
    """A speller on the NLU's training words, or None where the data is not deployed."""
    words = vocabulary(folder) if Path(folder).is_dir() else set()
    return Speller(words) if words else None


def vocabulary(folder: Path) -> set[str]:
    """Every word of the examples of the Rasa YAML files in folder, normalised."""
    words: set[str] = set()
    for path in sorted(Path(folder).glob("*.yml")):
        doc = yamlfile.load(path.read_text(encoding="utf-8"), path.name, fast=True) or {}
        for block in doc.get("nlu", []):
            for line in str(block.get("examples", "")).splitlines():
                example = _EXAMPLE.match(line)
                if example:
                    words.update(normalize(re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", example[1])).split())
    return words
