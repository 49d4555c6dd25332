"""The workshop actions of a conversation (signup, cancel, accept_offer) for one contact, in SQL.

The engine returns them (bot.core.conversation.WorkshopAction) with the result its reply
told from a snapshot (`WorkshopEffects.snapshot`); the pipeline applies them here inside
the message's transaction, under the seats' lock, and hands the reminders they planned to
RQ only after the commit (`WorkshopEffects.schedule_planned`). Without a session, `run`
applies one action in a transaction of its own and schedules at once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker

from bot.adapters.models import Signup, Workshop
from bot.core.conversation import ActionResult, Booking, Seats
from bot.core.flows import Flows, WorkshopDef
from bot.core.workshop_times import starts_at
from bot.services.seats import (
    ACTIVE,
    HOLDING,
    EnqueueAt,
    Planned,
    changed,
    expire,
    give_back_seat,
    lock_workshop,
    plan_reminders,
    release_seat,
    schedule,
    skip_reminders,
    sync_workshop,
    take_seat,
)

log = logging.getLogger(__name__)

EXPIRED_ANSWER = timedelta(days=3)  # "OUI" this long after an offer expired still hears why
Done = tuple[ActionResult, list[Planned]]  # what an action gave, and the reminders it planned


class WorkshopEffects:
    """The `do:` actions of the flows (signup, cancel, accept_offer) for one contact."""

    def __init__(self, sessions: sessionmaker[Session], flows: Flows, contact_id: int,
                 enqueue_at: EnqueueAt | None = None) -> None:
        self.sessions, self.flows, self.contact_id, self.enqueue_at = sessions, flows, contact_id, enqueue_at
        self.planned: list[Planned] = []  # reminders planned in a caller's transaction, to schedule after it

    def run(self, action: str, data: Mapping[str, str], now: datetime, session: Session | None = None) -> ActionResult:
        """Do an action; its result names the step that follows (see flows.ACTIONS).

        With a session it runs in the caller's transaction (see `schedule_planned`); without,
        in its own, and its reminders are scheduled once it is committed.
        """
        handlers = {"signup": self._signup, "cancel": self._cancel, "accept_offer": self._accept}
        if action not in handlers:
            raise ValueError(f"no such workshop action: {action}")
        if session is not None:
            result, planned = handlers[action](session, data, now)
            self.planned += planned
            return result
        with self._own() as own:
            result, planned = handlers[action](own, data, now)
        schedule(self.enqueue_at, planned)
        return result

    def schedule_planned(self) -> None:
        """Hand the reminders planned in the caller's transaction to RQ: call it after the commit."""
        planned, self.planned = self.planned, []
        schedule(self.enqueue_at, planned)

    def snapshot(self, now: datetime) -> Seats:
        """The seats of the upcoming workshops and the person's sign-ups, for the engine to tell from."""
        keys = [w.key for w in self.flows.workshops.values() if starts_at(w, self.flows) > now]
        with self.sessions() as session:
            taken = dict(session.execute(select(Workshop.key, Workshop.taken).where(Workshop.key.in_(keys))).tuples().all())
            waiting = dict(session.execute(
                select(Signup.workshop_key, func.count(Signup.id))
                .where(Signup.workshop_key.in_(keys), Signup.status == "waiting")
                .group_by(Signup.workshop_key)).tuples().all())
            mine = self._mine(session, now)
            expired = session.scalars(
                select(Signup.workshop_key).where(Signup.contact_id == self.contact_id, Signup.status == "expired",
                                                  Signup.offer_expires_at > now - EXPIRED_ANSWER)
                .order_by(Signup.offer_expires_at.desc())).all()
        free = {key: 0 if waiting.get(key) else max(0, self.flows.workshops[key].seats - int(taken.get(key) or 0))
                for key in keys}
        return Seats(free, {k: int(n) for k, n in waiting.items()}, tuple(mine), tuple(expired))

    def signups(self, now: datetime) -> list[str]:
        """The keys of the person's upcoming sign-ups (confirmed, offered or waiting), soonest first."""
        with self.sessions() as session:
            return [m.key for m in self._mine(session, now) if m.key in self.flows.workshops]

    @contextmanager
    def _own(self) -> Iterator[Session]:
        with self.sessions() as session, session.begin():
            yield session

    def _mine(self, session: Session, now: datetime) -> list[Booking]:
        return [booking for _, booking in self._mine_by_id(session, now)]

    def _mine_by_id(self, session: Session, now: datetime) -> list[tuple[int, Booking]]:
        """The person's upcoming sign-ups that still count, soonest first, with their ids."""
        rows = session.execute(
            select(Signup.id, Signup.workshop_key, Signup.status, Signup.offer_expires_at)
            .join(Workshop, Workshop.key == Signup.workshop_key)
            .where(Signup.contact_id == self.contact_id, Signup.status.in_(ACTIVE), Workshop.starts_at > now)
            .order_by(Workshop.starts_at, Signup.id)).all()
        return [(row.id, Booking(row.workshop_key, row.status, row.offer_expires_at)) for row in rows]

    def _signup(self, session: Session, data: Mapping[str, str], now: datetime) -> Done:
        key = data.get("workshop", "")
        workshop = self.flows.workshops.get(key)
        if workshop is None:
            return ActionResult("unknown"), []
        if starts_at(workshop, self.flows) <= now:
            return ActionResult("past", {"workshop": key}), []
        planned = sync_workshop(session, workshop, self.flows, now)
        result, more = self._take_or_wait(session, workshop, now)
        return result, planned + more

    def _take_or_wait(self, session: Session, workshop: WorkshopDef, now: datetime) -> Done:
        key = workshop.key
        existing = session.execute(select(Signup.id, Signup.status).where(
            Signup.workshop_key == key, Signup.contact_id == self.contact_id)).first()
        if existing is not None and existing.status in ACTIVE:
            return ActionResult("already", {"workshop": key}), []
        confirmed = take_seat(session, key)
        if not confirmed:
            # a seat may be on its way back (a cancellation not yet committed): wait for it, try again
            lock_workshop(session, key)
            confirmed = take_seat(session, key)
        status = "confirmed" if confirmed else "waiting"
        fields: dict[str, Any] = {"status": status, "waiting_since": None if confirmed else now, "created_at": now,
                                  "offered_at": None, "offer_expires_at": None, "cancelled_at": None}
        signup_id = self._insert(session, key, fields) if existing is None else self._again(session, existing.id,
                                                                                            fields)
        if signup_id is None:  # the same person's other message signed them up first
            if confirmed:
                give_back_seat(session, key)
            return ActionResult("already", {"workshop": key}), []
        planned = plan_reminders(session, signup_id, workshop, self.flows, now) if confirmed else []
        values = {"workshop": key}
        if not confirmed:
            values["position"] = str(_position(session, signup_id, key, now))
        log.info("contact %s: sign-up %s for workshop %s %s", self.contact_id, signup_id, key, status)
        return ActionResult(status, values), planned

    def _insert(self, session: Session, key: str, fields: dict[str, Any]) -> int | None:
        """A new sign-up row; None when one already exists (a conflict, not an error: the transaction goes on)."""
        dialect = session.get_bind().dialect.name
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        statement = (insert(Signup).values(workshop_key=key, contact_id=self.contact_id, **fields)
                     .on_conflict_do_nothing(index_elements=["workshop_key", "contact_id"]).returning(Signup.id))
        return session.scalar(statement)

    def _again(self, session: Session, signup_id: int, fields: dict[str, Any]) -> int | None:
        """Signed up again after cancelling or letting an offer expire: back at the end of the line."""
        if not changed(session, update(Signup).where(Signup.id == signup_id, Signup.status.notin_(ACTIVE))
                       .values(**fields)):
            return None
        return signup_id

    def _cancel(self, session: Session, data: Mapping[str, str], now: datetime) -> Done:
        mine = self._mine_by_id(session, now)
        found = next((m for m in mine if m[1].key == data.get("workshop")), None)
        if found is None and len(mine) == 1:
            found = mine[0]
        if found is None:  # nothing, or several and no way to tell which: the flow asks
            return ActionResult("none"), []
        signup_id, chosen = found
        if not changed(session, update(Signup).where(Signup.id == signup_id, Signup.status == chosen.status)
                       .values(status="cancelled", cancelled_at=now)):
            return ActionResult("none"), []
        skip_reminders(session, signup_id)
        planned = release_seat(session, chosen.key, self.flows, now) if chosen.status in HOLDING else []
        log.info("contact %s: sign-up %s (%s) cancelled", self.contact_id, signup_id, chosen.status)
        return ActionResult("cancelled", {"workshop": chosen.key}), planned

    def _accept(self, session: Session, data: Mapping[str, str], now: datetime) -> Done:
        offers = session.execute(
            select(Signup.id, Signup.workshop_key, Signup.offer_expires_at)
            .where(Signup.contact_id == self.contact_id, Signup.status == "offered")
            .order_by(Signup.offer_expires_at, Signup.id)).all()
        live = sorted((o for o in offers if o.offer_expires_at > now),
                      key=lambda o: o.workshop_key != data.get("workshop"))
        for offer in live:
            workshop = self.flows.workshops.get(offer.workshop_key)
            if workshop is None:
                continue
            if changed(session, update(Signup).where(Signup.id == offer.id, Signup.status == "offered",
                                                     Signup.offer_expires_at > now).values(status="confirmed")):
                skip_reminders(session, offer.id, ("offer", "offer_expiry"))
                planned = plan_reminders(session, offer.id, workshop, self.flows, now)
                log.info("contact %s: offer of sign-up %s accepted", self.contact_id, offer.id)
                return ActionResult("accepted", {"workshop": offer.workshop_key}), planned
        planned, expired = [], None
        for offer in offers:
            if offer.offer_expires_at <= now:  # its expiry job has not run yet: end it now
                passed = expire(session, offer.id, offer.workshop_key, self.flows, now, notify=False)
                if passed is not None:
                    planned += passed
                    expired = offer.workshop_key
        if expired is None:
            expired = session.scalar(
                select(Signup.workshop_key).where(Signup.contact_id == self.contact_id, Signup.status == "expired",
                                                  Signup.offer_expires_at > now - EXPIRED_ANSWER)
                .order_by(Signup.offer_expires_at.desc()).limit(1))
        if expired is not None:
            return ActionResult("expired", {"workshop": expired}), planned
        return ActionResult("none"), planned


def _position(session: Session, signup_id: int, key: str, since: datetime) -> int:
    """A waiting sign-up's place in the line (1 is next)."""
    ahead = session.scalar(select(func.count(Signup.id)).where(
        Signup.workshop_key == key, Signup.status == "waiting", Signup.id != signup_id,
        or_(Signup.waiting_since < since, and_(Signup.waiting_since == since, Signup.id < signup_id))))
    return int(ahead or 0) + 1


def effects_factory(sessions: sessionmaker[Session],
                    enqueue_at: EnqueueAt | None) -> Callable[[int, Flows], WorkshopEffects]:
    """What pipeline.Services.effects needs: the actions of one contact, per message.

    enqueue_at schedules a reminder's job; None (simulator, preview) writes the rows only.
    """
    def make(contact_id: int, flows: Flows) -> WorkshopEffects:
        return WorkshopEffects(sessions, flows, contact_id, enqueue_at)

    return make
