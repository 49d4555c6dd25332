"""What the inbox and the JSON API read about cases: the queue, a thread, a person's media.

Reading a case's thread or a person's media is audited in the same transaction.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import case as sql_case
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from bot.adapters.models import Case, Contact, Message, Note, User
from bot.services.audit import record

FAILED_STATUSES = ("failed", "undelivered")
STOPPED_CODE = 21610  # the person texted STOP: nothing reaches them any more
URGENT_FIRST = sql_case((Case.priority == "urgent", 0), else_=1)


def is_failed(message: Message) -> bool:
    """True when a message did not reach the person."""
    return message.status in FAILED_STATUSES or message.error_code == STOPPED_CODE


def ordered_cases(db: Session, status: str = "open") -> list[Case]:
    """Cases in a status, most urgent first, then the longest waiting."""
    query = select(Case).where(Case.status == status).order_by(URGENT_FIRST, Case.opened_at, Case.id)
    return list(db.scalars(query))


def user_names(db: Session, ids: Iterable[int | None]) -> dict[int, str]:
    """The names of these users, by id."""
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    return {i: name for i, name in db.execute(select(User.id, User.name).where(User.id.in_(wanted)))}


def contacts_of(db: Session, cases: Iterable[Case]) -> dict[int, Contact]:
    """The contacts of these cases, by id."""
    query = select(Contact).where(Contact.id.in_({c.contact_id for c in cases}))
    return {c.id: c for c in db.scalars(query)}


@dataclass(frozen=True)
class Waiting:
    """One open case with what a social worker needs to pick the next one."""

    case: Case
    contact: Contact
    claimed_by: str | None
    failed: bool  # a message to the person did not reach them
    unanswered: bool  # the person wrote last


def open_queue(db: Session) -> list[Waiting]:
    """The open cases, most urgent first, then the longest waiting."""
    cases = ordered_cases(db)
    contacts = contacts_of(db, cases)
    failed = set(db.scalars(select(Message.contact_id).distinct().where(
        Message.contact_id.in_(contacts),
        or_(Message.status.in_(FAILED_STATUSES), Message.error_code == STOPPED_CODE))))
    last_ids = select(func.max(Message.id)).where(Message.contact_id.in_(contacts)).group_by(Message.contact_id)
    unanswered = set(db.scalars(select(Message.contact_id).where(Message.id.in_(last_ids),
                                                                  Message.direction == "in")))
    names = user_names(db, (c.claimed_by_id for c in cases))
    return [Waiting(c, contacts[c.contact_id], names.get(c.claimed_by_id) if c.claimed_by_id else None,
                    c.contact_id in failed, c.contact_id in unanswered) for c in cases]


class NotFound(LookupError):
    """No case with this id."""


def load(db: Session, case_id: int) -> tuple[Case, Contact]:
    """The case and its contact; NotFound when there is no such case."""
    case = db.get(Case, case_id)
    if case is None:
        raise NotFound(case_id)
    contact = db.get(Contact, case.contact_id)
    assert contact is not None
    return case, contact


def other_open(db: Session, case: Case) -> int:
    """How many other open cases the case's contact has."""
    return db.scalar(select(func.count(Case.id)).where(
        Case.contact_id == case.contact_id, Case.status == "open", Case.id != case.id)) or 0


@dataclass(frozen=True)
class Conversation:
    """Everything the person and the centre wrote, in order, and the names of the users who wrote."""

    messages: list[Message]
    names: dict[int, str]


def conversation(db: Session, contact_id: int) -> Conversation:
    """The person's whole conversation with the centre."""
    messages = list(db.scalars(select(Message).where(Message.contact_id == contact_id)
                               .order_by(Message.created_at, Message.id)))
    return Conversation(messages, user_names(db, (m.user_id for m in messages)))


@dataclass(frozen=True)
class Thread:
    """A case as its page shows it."""

    case: Case
    contact: Contact
    conversation: Conversation
    notes: list[Note]  # the notes of all the person's cases
    names: dict[int, str]  # of the users the page names
    other_open: int  # the person's other open cases


def read_thread(db: Session, case_id: int, user_id: int) -> Thread:
    """The case, its whole conversation and its notes; the reading is audited. NotFound if none."""
    case, contact = load(db, case_id)
    record(db, "view_case", user_id=user_id, case_id=case.id)
    talk = conversation(db, contact.id)
    case_ids = list(db.scalars(select(Case.id).where(Case.contact_id == contact.id)))
    notes = list(db.scalars(select(Note).where(Note.case_id.in_(case_ids)).order_by(Note.created_at, Note.id)))
    names = user_names(db, [case.claimed_by_id, contact.owner_id, *(n.user_id for n in notes)])
    return Thread(case, contact, talk, notes, names, other_open(db, case))


def media_entry(db: Session, message_id: int, index: int, user_id: int) -> dict[str, Any] | None:
    """Entry index of an inbound message's media (url, type), its viewing audited; None if none."""
    message = db.get(Message, message_id)
    entries = (message.media or []) if message is not None and message.direction == "in" else []
    entry = entries[index] if index < len(entries) else {}
    if not entry.get("url"):
        return None
    assert message is not None
    case_id = db.scalar(select(Case.id).where(Case.contact_id == message.contact_id)
                        .order_by(Case.id.desc()).limit(1))
    record(db, "view_media", user_id=user_id, case_id=case_id, detail=f"message {message_id} media {index}")
    return dict(entry)
