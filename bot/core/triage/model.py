"""What triage works with: the compiled Lexicon, its categories, and the Triage verdict."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import NamedTuple

# Measured on tests/data/crisis_heldout.yml and fresh probes with the trained model (see
# tests/test_triage.py): DIET's confidences are nearly always 1.0 or below 0.6, and false
# alarms do not fall anywhere from 0.4 to 0.95, so the low end keeps the most crises.
URGENT_MIN_CONFIDENCE = 0.6
URGENT_INTENT = "urgent"

@dataclass(frozen=True)
class Category:
    """One kind of crisis: its label and its phrases per language (weak: not in a calm context)."""

    name: str
    label: dict[str, str]
    phrases: dict[str, tuple[str, ...]]
    weak: dict[str, tuple[str, ...]] = field(default_factory=dict)


class Compiled(NamedTuple):
    """One crisis phrase, compiled; a weak one does not count in a calm context."""

    category: str
    pattern: re.Pattern[str]
    weak: bool = False


class Together(NamedTuple):
    """A combination: urgent when a phrase of each part is in the message (alcohol and pills)."""

    name: str
    category: str
    label: dict[str, str]
    parts: tuple[re.Pattern[str], ...]


class Cries(NamedTuple):
    """The words of a message that is nothing but a cry for help, each group with its weight."""

    label: dict[str, str]
    groups: tuple[tuple[re.Pattern[str], int], ...]


CRY_CATEGORY = "help_now"


@dataclass(frozen=True)
class Lexicon:
    """The crisis phrases and the figures of speech that must not fire, ready to match."""

    categories: tuple[Category, ...]
    not_crisis: dict[str, tuple[str, ...]]
    calm: dict[str, tuple[str, ...]]
    phrases: tuple[Compiled, ...]
    anchors: dict[str, tuple[int, ...]]  # a word each phrase needs -> the phrases needing it
    reach: int  # the most words a phrase can cover: where to look around its anchor
    not_crisis_pattern: re.Pattern[str] | None
    calm_pattern: re.Pattern[str] | None
    typo_targets: dict[str, tuple[str, ...]]
    crisis_words: frozenset[str]
    known_words: frozenset[str]
    file: str
    together: tuple[Together, ...] = ()
    cries: Cries | None = None
    joking: tuple[re.Pattern[str] | None, re.Pattern[str] | None] = (None, None)  # markers, hassles
    short_typos: dict[str, str] = field(default_factory=dict)  # "bolod" -> "blood", "peit" -> "petit"
    # What each typed word became, remembered: most words come back in message after message.
    corrections: dict[str, tuple[tuple[str, int], ...]] = field(default_factory=dict, compare=False,
                                                                 repr=False)

    def category(self, name: str) -> Category:
        """The category called name."""
        return next(c for c in self.categories if c.name == name)

    def label(self, name: str) -> str:
        """The French label of a category, a combination or the cries (what a social worker reads)."""
        if name == CRY_CATEGORY and self.cries is not None:
            return self.cries.label["fr"]
        return self.category(name).label["fr"]


@dataclass(frozen=True)
class Triage:
    """The verdict on one message, and why, in words a social worker reads."""

    priority: str | None
    reason: str
    category: str | None = None
    matched: tuple[str, ...] = ()


# --- matching -----------------------------------------------------------------------------


class Word(NamedTuple):
    """A canonical word and the span of the person's own words it comes from."""

    text: str
    first: int
    last: int
    fixed: int = 0  # 0 as typed, 1 a typo fixed in a long word (or a silent ending), 2 in a short word
