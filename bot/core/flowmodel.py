"""The conversation flows as the engine reads them: plain frozen dataclasses, no loading.

`bot.core.flows` builds them from `flows/*.yml` and checks them; the engine, the answers
and the pipeline only read them. (A module of its own, below the checker, because the
checker renders replies with the engine, which needs these types.)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, time, timedelta
from typing import TYPE_CHECKING

from bot.core import centre_name
from bot.core.hours import Schedule
from bot.core.oncall import Rota

if TYPE_CHECKING:
    from bot.core.triage import Lexicon

PLACEHOLDERS = {*centre_name.PLACEHOLDERS, "hours", "emergency", "menu", "next_open", "reference", "human_eta",
                "media",
                "workshop_title", "workshop_when", "workshop_place", "workshop_seats", "position", "offer_until"}
# What each `do:` can give, and so which `results:` it needs.
ACTIONS: dict[str, tuple[str, ...]] = {
    "stop": (),
    "start": (),
    "signup": ("confirmed", "waiting", "already", "past", "unknown"),
    "cancel": ("cancelled", "none"),
    "accept_offer": ("accepted", "expired", "none"),
}
PICK_SOURCES = ("workshops", "signups")


@dataclass(frozen=True)
class Choice:
    """One numbered line of a menu."""

    label: dict[str, str]
    goto: str
    keywords: dict[str, tuple[str, ...]] = field(default_factory=dict)
    value: str | None = None  # what an `ask` keeps when this choice is taken (default: the label)


@dataclass(frozen=True)
class Ask:
    """Wait for a free-text answer, keep it under `save`, then go to `goto`."""

    save: str
    goto: str


@dataclass(frozen=True)
class Pick:
    """A numbered list built from data (upcoming workshops, the person's sign-ups)."""

    source: str
    save: str
    goto: str
    empty: str | None = None


@dataclass(frozen=True)
class WorkshopDef:
    """A workshop as written in flows/workshops.yml (its seats are counted in SQL)."""

    key: str
    title: dict[str, str]
    day: date
    start: time
    end: time | None
    place: dict[str, str]
    seats: int
    file: str = "?"
    line: int | None = None
    keywords: dict[str, tuple[str, ...]] = field(default_factory=dict)  # words naming it in a message


@dataclass(frozen=True)
class WorkshopSettings:
    """How long a freed seat is held for the person offered it, and when not to text."""

    offer_hours: float = 12.0
    quiet_start: time = time(21, 0)
    quiet_end: time = time(8, 0)


@dataclass(frozen=True)
class Step:
    """One thing the bot says or does, then where it goes."""

    name: str
    say: dict[str, str] | None = None
    choices: tuple[Choice, ...] = ()
    do: str | None = None
    next: str | None = None
    open_case: str | None = None
    ask: Ask | None = None
    pick: Pick | None = None
    results: dict[str, str] = field(default_factory=dict)
    file: str = "?"
    line: int | None = None

    @property
    def waits(self) -> bool:
        """True when the bot waits at this step for the person's answer."""
        return bool(self.choices or self.ask or self.pick)

    def targets(self) -> list[str]:
        """Every step this step can lead to."""
        found = [c.goto for c in self.choices] + ([self.next] if self.next else [])
        if self.ask:
            found.append(self.ask.goto)
        if self.pick:
            found += [self.pick.goto] + ([self.pick.empty] if self.pick.empty else [])
        return found + list(self.results.values())


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
    choice: dict[str, str] = field(default_factory=dict)  # its name in a close-call question


@dataclass(frozen=True)
class EmergencyNumber:
    """A number to call in danger, with what it is for in each language."""

    number: str
    label: dict[str, str]
    languages: tuple[str, ...] = ()  # empty: for everyone; else only for these languages


@dataclass(frozen=True)
class Flows:
    """Everything the engine needs from `flows/`, loaded and checked."""

    name: dict[str, str]  # the plain name per language
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
    workshops: dict[str, WorkshopDef] = field(default_factory=dict)
    workshop_settings: WorkshopSettings = field(default_factory=WorkshopSettings)
    centre_forms: dict[str, dict[str, str]] = field(default_factory=dict)  # lang -> {plain, de, a}

    def text(self, key: str, lang: str) -> str:
        """A shared text in a language, falling back to the default language."""
        variants = self.texts[key]
        return variants.get(lang) or variants[self.default_language]

