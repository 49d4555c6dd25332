"""The staff pages' view of the workshops: seats, taken seats, the waiting list, who is signed up."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.adapters.models import Contact, Signup, Workshop
from bot.core.flows import Flows
from bot.core.workshop_times import starts_at
from bot.services.seats import ACTIVE


@dataclass(frozen=True)
class Overview:
    """One workshop as the staff list shows it."""

    key: str
    title: str
    when: datetime
    place: str
    seats: int
    taken: int
    confirmed: int
    offered: int
    waiting: int


def overview(session: Session, flows: Flows, now: datetime) -> list[Overview]:
    """The upcoming workshops with their seats, taken seats and waiting list, soonest first."""
    counts: dict[tuple[str, str], int] = {
        (key, status): n for key, status, n in session.execute(
            select(Signup.workshop_key, Signup.status, func.count(Signup.id))
            .where(Signup.status.in_(ACTIVE)).group_by(Signup.workshop_key, Signup.status))}
    taken = dict(session.execute(select(Workshop.key, Workshop.taken)).tuples().all())
    lang = flows.default_language
    rows = []
    for workshop in sorted(flows.workshops.values(), key=lambda w: (w.day, w.start, w.key)):
        start = starts_at(workshop, flows)
        if start <= now:
            continue
        rows.append(Overview(workshop.key, workshop.title[lang], start, workshop.place[lang], workshop.seats,
                             taken.get(workshop.key, 0), counts.get((workshop.key, "confirmed"), 0),
                             counts.get((workshop.key, "offered"), 0), counts.get((workshop.key, "waiting"), 0)))
    return rows


@dataclass(frozen=True)
class Participant:
    """One person signed up for a workshop, as the staff page shows them."""

    status: str
    position: int | None  # in the waiting list
    number: str
    channel: str
    language: str | None
    pseudonym: str
    signed_up_at: datetime
    offer_expires_at: datetime | None
    cancelled_at: datetime | None


STATUS_ORDER = {"confirmed": 0, "offered": 1, "waiting": 2, "cancelled": 3, "expired": 4}


def participants(session: Session, key: str) -> list[Participant]:
    """Everyone signed up for a workshop: confirmed, offered, then waiting in order, then the rest."""
    rows = list(session.execute(
        select(Signup, Contact).join(Contact, Contact.id == Signup.contact_id)
        .where(Signup.workshop_key == key)).tuples())
    rows.sort(key=lambda r: (STATUS_ORDER.get(r[0].status, 9),
                             r[0].waiting_since if r[0].status == "waiting" and r[0].waiting_since else r[0].created_at,
                             r[0].id))
    found, position = [], 0
    for signup, contact in rows:
        position += signup.status == "waiting"
        found.append(Participant(
            signup.status, position if signup.status == "waiting" else None,
            contact.address.removeprefix("whatsapp:"), "WhatsApp" if contact.channel == "whatsapp" else "SMS",
            contact.language, contact.pseudonym, signup.created_at, signup.offer_expires_at, signup.cancelled_at))
    return found
