"""The sweeper: re-enqueue what Redis lost and answer what a dead web process left unanswered.

SQL is the record: a case never escalated, an outbox message never sent and a workshop
reminder whose job vanished are handed to RQ again (their jobs are idempotent). Run by
`flask --app bot sweep` (every 30 s in the Procfile).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import redis
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from bot.adapters import outbox
from bot.adapters.models import Case, Contact, Message
from bot.core.flows import Flows
from bot.services import cases, workshops

log = logging.getLogger(__name__)

SWEEP_AFTER = timedelta(seconds=30)  # a case not escalated after this long is re-enqueued
ORPHAN_AFTER = timedelta(seconds=120)  # an inbound message still unanswered after this long lost its web process
ORPHAN_REASON = "a message got no answer (the web process stopped); sent the safe reply"


@dataclass(frozen=True)
class Swept:
    """What one sweep did, counted."""

    cases: int = 0  # escalations re-enqueued (with the cases opened for unanswered messages)
    messages: int = 0  # outbox messages re-enqueued (with the safe replies)
    reminders: int = 0  # workshop reminders re-enqueued
    unanswered: int = 0  # inbound messages that got the safe reply

    def __bool__(self) -> bool:
        return any((self.cases, self.messages, self.reminders, self.unanswered))

    def __str__(self) -> str:
        return (f"{self.cases} cases, {self.messages} messages, {self.reminders} reminders, "
                f"{self.unanswered} unanswered")


def sweep(sessions: sessionmaker[Session], connection: redis.Redis, flows: Callable[[], Flows],
          now: datetime) -> Swept:
    """Re-enqueue cases never escalated, outbox messages never sent and reminders; answer orphans.

    The flows are loaded last, for the reminders: refused flows do not hold back the rest.
    """
    cutoff = (now - SWEEP_AFTER).timestamp()
    with sessions() as session:
        lost_cases = [(c.id, c.priority) for c in session.scalars(
            select(Case).where(Case.status == "open", Case.escalated_at.is_(None)))
            if c.opened_at.timestamp() < cutoff]
        lost_messages = [m.id for m in session.scalars(
            select(Message).where(Message.direction == "out", Message.status == "queued",
                                  Message.sid.is_(None)))  # with a sid, Twilio has it
            if m.created_at.timestamp() < cutoff]
    orphans = answer_orphans(sessions, now - ORPHAN_AFTER, now)
    lost_cases += [(case_id, "normal") for case_id, _ in orphans if case_id]
    lost_messages += [reply_id for _, reply_id in orphans if reply_id]
    for case_id, priority in lost_cases:
        outbox.enqueue_escalation(connection, case_id, priority)
    for message_id in lost_messages:
        outbox.enqueue(connection, message_id)
    if lost_cases or lost_messages:
        log.warning("sweeper re-enqueued %d cases and %d messages", len(lost_cases), len(lost_messages))
    reminders = workshops.sweep(sessions, connection, flows(), now)
    return Swept(len(lost_cases), len(lost_messages), reminders, len(orphans))


def answer_orphans(sessions: sessionmaker[Session], before: datetime,
                   now: datetime) -> list[tuple[int | None, int | None]]:
    """Inbound messages stored before `before` but never answered (the web process died in between).

    Each gets what the webhook's safe reply gives: an SMS saying a person will read it (not
    to people who texted STOP) and an open case, so that a person does. The conditional
    UPDATE makes two sweepers handle a message once. Returns (case id, reply id) pairs.
    """
    done: list[tuple[int | None, int | None]] = []
    with sessions() as session:
        ids = list(session.scalars(select(Message.id).where(
            Message.direction == "in", Message.processed_at.is_(None), Message.created_at < before)))
    for message_id in ids:
        with sessions() as session, session.begin():
            taken = session.execute(update(Message).where(Message.id == message_id, Message.processed_at.is_(None))
                                    .values(processed_at=now, status="processed", needs_review=True,
                                            review_reason="not_answered"))
            if taken.rowcount != 1:  # type: ignore[attr-defined]
                continue
            message = session.get(Message, message_id)
            contact = session.get(Contact, message.contact_id) if message else None
            if message is None or contact is None:
                continue
            case_id = reply_id = None
            if contact.owner_id is None and cases.open_case_of(session, contact.id) is None:
                case_id = cases.open_case(session, contact.id, message.id, "normal", ORPHAN_REASON, now).id
            if not contact.opted_out:
                reply_id = cases.queue_safe_reply(session, contact, message.id).id
            done.append((case_id, reply_id))
            log.warning("inbound %s was never answered: safe reply %s, case %s", message_id, reply_id, case_id)
    return done
