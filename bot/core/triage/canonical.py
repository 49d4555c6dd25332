"""A message as canonical words: elisions joined, SMS spellings rewritten, typos of crisis words fixed."""

from __future__ import annotations

from rapidfuzz.distance import OSA
from rapidfuzz.process import extract

from bot.core.triage.model import Lexicon, Word
from bot.core.triage.words import (
    CORRECTIONS_CACHE,
    DOUBLES,
    DROPPED_WORDS,
    ELIDING,
    GLUED_JE,
    LONG_REPEATS,
    MIN_CONTEXT_WORD,
    MIN_SILENT_WORD,
    MIN_TYPO_ALONE,
    MIN_TYPO_WORD,
    SILENT_ENDINGS,
    SMS_SPELLINGS,
)


def canonical_words(normalized: str, lexicon: Lexicon | None = None) -> list[Word]:
    """The words of a normalised text, SMS spellings rewritten and (given a lexicon) typos fixed."""
    raw = LONG_REPEATS.sub(r"\1\1", normalized).split()
    words: list[Word] = []
    index = 0
    while index < len(raw):
        word, last = raw[index], index
        if _elided(raw, index):  # "m a frappe", "j ai": an apostrophe typed as a space
            word, last = word + raw[index + 1], index + 1
        words.extend(Word(text, index, last, fixed) for text, fixed in _canonical(word, lexicon))
        index = last + 1
    return words


def _canonical(word: str, lexicon: Lexicon | None) -> tuple[tuple[str, int], ...]:
    """The canonical words one typed word stands for, each with whether a typo was fixed."""
    cache = lexicon.corrections if lexicon else {}
    if word in cache:
        return cache[word]
    parts = []
    for part in _unglued(word, lexicon) if lexicon else _unsms(word):
        if part not in DROPPED_WORDS:
            part = DOUBLES.sub(r"\1", part)
            fixed, level = _corrected(part, lexicon) if lexicon else (part, 0)
            parts.append((fixed, level))
    if len(cache) >= CORRECTIONS_CACHE:
        cache.clear()
    cache[word] = result = tuple(parts)
    return result


def trusted(words: list[Word]) -> bool:
    """A typo counts beside an exact word, or alone in a long word ("unconcious").

    A typo in a short word ("bolod") counts only beside two exact words ("lots of bolod") or a
    long one ("cise depilepsie"): "il me vole" must not become "il me viole".
    """
    exact = sum(not w.fixed for w in words)
    if any(w.fixed == 2 for w in words):
        return exact >= 2 or any(not w.fixed and len(w.text) >= MIN_CONTEXT_WORD for w in words)
    return exact >= 1 or any(len(w.text) >= MIN_TYPO_ALONE for w in words)


def _elided(raw: list[str], index: int) -> bool:
    if index + 1 >= len(raw) or raw[index] not in ELIDING or raw[index + 1][0] not in "aeiouyh":
        return False
    return not (raw[index] == "m" and index > 0 and raw[index - 1] == "i")  # "i m in danger"


def _unsms(word: str) -> list[str]:
    if word in SMS_SPELLINGS:
        return SMS_SPELLINGS[word].split()
    glued = GLUED_JE.match(word)
    if glued:
        rest = glued[1]
        return ["je", *SMS_SPELLINGS.get(rest, rest).split()]
    return [word]


_GLUED = {"j": "je", "n": "", "m": "me", "t": "te", "s": "se", "l": "le", "d": "de"}


def _unglued(word: str, lexicon: Lexicon) -> list[str]:
    """Like _unsms, and "jaimerai" is "je aimerai", "metrangle" is "me etrangle", when the rest is a crisis word."""
    rest = DOUBLES.sub(r"\1", word[1:])
    if (word in SMS_SPELLINGS or word[0] not in _GLUED or len(rest) < 3 or word[0] + rest in lexicon.known_words
            or (word[0] not in "jn" and rest[0] not in "aeiouyh")):
        return _unsms(word)
    if (any(rest[:len(rest) - cut] in lexicon.crisis_words for cut in range(min(4, len(rest) - 2)))
            or (word[0] not in "jn" and rest in lexicon.known_words)):  # "lattestation": a calm word too
        return [_GLUED[word[0]], rest] if _GLUED[word[0]] else [rest]
    return _unsms(word)


def _corrected(word: str, lexicon: Lexicon) -> tuple[str, int]:
    """The crisis word a typed word is a typo of, and how sure: 0 as typed, 1 a long word, 2 a short one."""
    if word in lexicon.known_words or not word.isalpha():
        return word, 0
    if len(word) >= MIN_SILENT_WORD:  # written as said: "dehor", "enfan", "pri", "froi"
        completed = next((word + end for end in SILENT_ENDINGS if word + end in lexicon.crisis_words), None)
        if completed:
            return completed, 1
    short = lexicon.short_typos.get(word)
    if short:
        return short, 2
    if len(word) < MIN_TYPO_WORD - 1:
        return word, 0
    targets = lexicon.typo_targets.get(word[0], ())
    found = extract(word, targets, scorer=OSA.distance, score_cutoff=1, limit=None) if targets else []
    allowed = [target for target, _, _ in found if not _same_word_other_ending(word, target)]
    # Two crisis words one slip away ("breating": "beating", "breathing"): people texting fast
    # drop letters far more often than they add one, so the longer word is the likelier.
    allowed.sort(key=lambda target: len(target) <= len(word))
    return (allowed[0], 1) if allowed else (word, 0)


def _same_word_other_ending(word: str, target: str) -> bool:
    # "suicide" is not a typo of "suicider": another form of a word can mean something else.
    return word.startswith(target) or target.startswith(word) or word[:-1] == target[:-1]
