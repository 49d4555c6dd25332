"""One message's turn: the engine told without seats, with a snapshot when it touches sign-ups,
and again as its workshop actions meet the database in the message's transaction."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from sqlalchemy.orm import Session

from bot.core import engine, media
from bot.core.conversation import (
    ActionResult,
    Incoming,
    Interpretation,
    Outcome,
    Seats,
    State,
    WorkshopAction,
)
from bot.core.flows import Flows


class Seating(Protocol):
    """The workshop actions of one contact in SQL (bot.services.signups.WorkshopEffects)."""

    def snapshot(self, now: datetime) -> Seats: ...
    def run(self, action: str, data: dict[str, str], now: datetime, session: Session | None = None) -> ActionResult: ...
    def schedule_planned(self) -> None: ...


@dataclass
class Turn:
    """The engine's answer to one message, told again when its workshop actions meet the database."""

    state: State
    incoming: Incoming
    meaning: Interpretation
    now: datetime
    flows: Flows
    seating: Seating | None
    seats: Seats | None = None
    outcome: Outcome = field(init=False)  # set by first(), then by settle()

    def first(self) -> Outcome:
        """Told without seats; a turn that lists or changes sign-ups is told again from a snapshot."""
        self.outcome = self.tell(())
        if self.seating is not None and engine.needs_seats(self.outcome, self.flows):
            self.seats = self.seating.snapshot(self.now)
            self.outcome = self.tell(())
        return self.outcome

    def tell(self, results: Sequence[ActionResult]) -> Outcome:
        """The engine's outcome with these results for the first workshop actions."""
        outcome = engine.respond(self.state, self.incoming, self.meaning, self.now, self.flows, self.seats, results)
        return media.acknowledge(outcome, self.incoming, self.flows, self.now)  # a person looks at what was sent

    def settle(self, session: Session) -> Outcome:
        """Apply the workshop actions in the message's transaction; the reply follows what SQL gave."""
        seating = self.seating
        if seating is None or not any(isinstance(a, WorkshopAction) for a in self.outcome.actions):
            return self.outcome
        # positional: tests wrap WorkshopEffects.run to count the sign-ups running at once
        self.outcome = engine.settle(self.tell, lambda a: seating.run(a.name, a.data, self.now, session),
                                     self.outcome)
        return self.outcome
