"""The types a conversation turn is made of: what the engine reads and what it returns. Pure.

The engine (bot.core.engine), the reply texts (bot.core.answers) and the callers share
them; keeping them here lets the engine use the texts without the texts importing it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class State:
    """What the bot remembers of one contact between messages (kept in Redis)."""

    lang: str | None = None
    lang_locked: bool = False
    step: str | None = None
    turns: int = 0
    data: dict[str, str] = field(default_factory=dict)  # answers kept by `ask` and `pick`

    def to_dict(self) -> dict[str, object]:
        """A JSON-ready copy."""
        return dict(self.__dict__)

    @classmethod
    def from_dict(cls, raw: dict[str, object] | None) -> State:
        """Rebuild a state, ignoring keys an older or newer version wrote."""
        raw = raw or {}
        known = {k: raw[k] for k in cls.__dataclass_fields__ if k in raw}
        return cls(**known)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Incoming:
    """A message as the engine sees it."""

    text: str
    channel: str = "sms"
    num_media: int = 0
    country: str | None = None
    reference: str = ""  # the reference of the case this message may open or join
    opted_out: bool = False  # the person has opted out (STOP) and not come back
    opt_out_type: str = ""  # Twilio's OptOutType on this message (STOP, START, HELP), if any
    message_id: int = 0  # the stored message's id (a close-call answer labels it)
    media: tuple[str, ...] = ()  # the kind of each attachment or shared location (bot.core.media.KINDS)


@dataclass(frozen=True)
class Interpretation:
    """What a message means: a step to go to, or an intent with a confidence."""

    intent: str | None
    confidence: float
    source: str  # "menu", "keyword", "nlu", "fallback", "input", "standing" (STOP/START)
    goto: str | None = None
    language: str | None = None
    reason: str | None = None  # why, in words a social worker reads (crisis triage)
    save: tuple[str, str] | None = None  # (name, value) an `ask` or `pick` keeps
    notice: str | None = None  # a shared text said first (e.g. "flow_changed")
    alternatives: tuple[str, ...] = ()  # two intents too close to call: ask which one is meant


@dataclass(frozen=True)
class ActionResult:
    """What a `do:` action gave: a result name (see flows.ACTIONS) and values for the texts."""

    result: str
    values: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Booking:
    """One of the person's workshop sign-ups, as read before the turn."""

    key: str
    status: str  # confirmed, offered or waiting
    offer_expires_at: datetime | None = None


@dataclass(frozen=True)
class Seats:
    """The workshops' seats and the person's sign-ups, read before the turn (the engine's input).

    The engine lists and predicts from it; the caller applies the actions under a lock, and
    when the snapshot was stale the result the database gives wins (bot.core.engine.settle).
    """

    free: Mapping[str, int] = field(default_factory=dict)  # key -> free seats (0 while people wait)
    waiting: Mapping[str, int] = field(default_factory=dict)  # key -> people on the waiting list
    mine: tuple[Booking, ...] = ()  # the person's upcoming sign-ups, soonest first
    expired: tuple[str, ...] = ()  # workshops whose offer to the person expired lately, latest first


@dataclass(frozen=True)
class OpenCase:
    """Action: open a case for a social worker."""

    priority: str
    reason: str


@dataclass(frozen=True)
class OptOut:
    """Action: the person asked for no more messages; via says how (keyword, twilio)."""

    via: str = "keyword"


@dataclass(frozen=True)
class OptIn:
    """Action: the person asked to get messages again (START, or OUI to the question)."""

    via: str = "keyword"


@dataclass(frozen=True)
class Labelled:
    """Action: the person said which intent an earlier message meant (kept for review)."""

    message_id: int
    intent: str


@dataclass(frozen=True)
class WorkshopAction:
    """Action: sign up, cancel or accept an offer (flows.ACTIONS), with the result the turn told."""

    name: str  # signup, cancel, accept_offer
    data: dict[str, str]  # the conversation's data when the step ran (the workshop picked)
    told: ActionResult  # the result the reply follows: predicted from Seats, or given back by the caller


@dataclass(frozen=True)
class Outcome:
    """What the engine decided for one message."""

    state: State
    replies: list[str]
    actions: list[object] = field(default_factory=list)
    intent: str | None = None
    confidence: float = 0.0
    priority: str | None = None
    language: str = "fr"
    source: str = "input"
    steps: tuple[str, ...] = ()  # the steps the turn went through, in order

