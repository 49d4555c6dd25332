"""What a workshop action will give, told from the seats read before the turn. Pure.

The engine writes its reply from these predictions; the caller then applies the action
under a lock in the message's transaction (bot.services.signups), and when the snapshot
was stale the database's result wins and the reply is told again (`engine.settle`). The
rules mirror the database's: a seat while one is free and nobody waits, else the end of
the waiting list; a cancellation needs the sign-up named or a single one; an offer is
accepted while it runs, else it says it expired.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from bot.core.conversation import ActionResult, Seats
from bot.core.flowmodel import ACTIONS, Flows
from bot.core.workshop_times import starts_at


def predict(action: str, data: Mapping[str, str], now: datetime, flows: Flows, seats: Seats | None) -> ActionResult:
    """The result action should give; without a snapshot (no database) its last result."""
    if seats is None:
        return ActionResult(ACTIONS[action][-1])
    if action == "signup":
        return _signup(data.get("workshop", ""), now, flows, seats)
    if action == "cancel":
        return _cancel(data.get("workshop"), seats)
    if action == "accept_offer":
        return _accept(data.get("workshop"), now, flows, seats)
    raise ValueError(f"no such workshop action: {action}")


def _signup(key: str, now: datetime, flows: Flows, seats: Seats) -> ActionResult:
    workshop = flows.workshops.get(key)
    if workshop is None:
        return ActionResult("unknown")
    if starts_at(workshop, flows) <= now:
        return ActionResult("past", {"workshop": key})
    if any(b.key == key for b in seats.mine):
        return ActionResult("already", {"workshop": key})
    if seats.free.get(key, workshop.seats) > 0:
        return ActionResult("confirmed", {"workshop": key})
    return ActionResult("waiting", {"workshop": key, "position": str(seats.waiting.get(key, 0) + 1)})


def _cancel(key: str | None, seats: Seats) -> ActionResult:
    chosen = next((b for b in seats.mine if b.key == key), None)
    if chosen is None and len(seats.mine) == 1:
        chosen = seats.mine[0]
    if chosen is None:  # nothing, or several and no way to tell which: the flow asks
        return ActionResult("none")
    return ActionResult("cancelled", {"workshop": chosen.key})


def _accept(key: str | None, now: datetime, flows: Flows, seats: Seats) -> ActionResult:
    offers = [(b, b.offer_expires_at) for b in seats.mine if b.status == "offered" and b.offer_expires_at is not None]
    live = sorted((b for b, until in offers if until > now and b.key in flows.workshops), key=lambda b: b.key != key)
    if live:
        return ActionResult("accepted", {"workshop": live[0].key})
    ended = [b.key for b, until in offers if until <= now]
    if ended:
        return ActionResult("expired", {"workshop": ended[-1]})
    if seats.expired:
        return ActionResult("expired", {"workshop": seats.expired[0]})
    return ActionResult("none")


def signups(seats: Seats | None, flows: Flows) -> list[str]:
    """The keys of the person's upcoming sign-ups still in the flows, soonest first."""
    return [b.key for b in seats.mine if b.key in flows.workshops] if seats else []


def upcoming(flows: Flows, now: datetime) -> list[str]:
    """The keys of the next workshops (at most 9, for one digit each), soonest first."""
    local = now.astimezone(flows.schedule.tz)
    later = [w for w in flows.workshops.values() if datetime.combine(w.day, w.start, tzinfo=local.tzinfo) > local]
    return [w.key for w in sorted(later, key=lambda w: (w.day, w.start, w.key))][:9]


def seats_left(seats: Seats | None, key: str) -> int | None:
    """The free seats of a workshop in the snapshot; None when unknown (the YAML's seats count)."""
    return seats.free.get(key) if seats else None
