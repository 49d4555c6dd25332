"""Crisis triage: does a message need a person now? Pure, apart from loading the lexicon.

A message is urgent when a phrase of `flows/crisis.yml` is in it (once the everyday figures
of speech listed under `not_crisis` are set aside), or when the NLU says `urgent` with
enough confidence, the message is more than a figure of speech, and it does not speak of
a `calm` context (the past, a film, the news: where the NLU alone raises false alarms).
Messages are matched the way people text: no accents, SMS spellings ("jveux", "jpeux pu",
"g"), one typo in a long word.

- words: the SMS spellings, number words and thresholds; model: Lexicon, Category, Triage;
- load: reading and checking crisis.yml (load_lexicon, compiled once per content);
- compiling: phrases into regexes; canonical: a message's words as the lexicon writes them;
- matching: assess().
"""

from __future__ import annotations

from bot.core.triage.load import SECTIONS, load_lexicon
from bot.core.triage.matching import assess
from bot.core.triage.model import (
    CRY_CATEGORY,
    URGENT_INTENT,
    URGENT_MIN_CONFIDENCE,
    Category,
    Cries,
    Lexicon,
    Together,
    Triage,
)
from bot.core.triage.words import (
    ALL_NUMBER_WORDS,
    CRY_GROUPS,
    DROPPED_WORDS,
    EVERYDAY_WORDS,
    FILLER_WORDS,
    MORE_NUMBER_WORDS,
    SMS_SPELLINGS,
)

__all__ = [
    "ALL_NUMBER_WORDS", "CRY_CATEGORY", "CRY_GROUPS", "DROPPED_WORDS", "EVERYDAY_WORDS", "FILLER_WORDS",
    "MORE_NUMBER_WORDS", "SECTIONS", "SMS_SPELLINGS", "URGENT_INTENT", "URGENT_MIN_CONFIDENCE", "Category",
    "Cries", "Lexicon", "Together", "Triage", "assess", "load_lexicon",
]
