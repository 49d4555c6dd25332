"""Seats in SQL: taken and given back atomically, offered to the people waiting; reminder rows.

The rule these follow is written out in bot/services/workshops.py. Nothing here commits
except `ensure_workshop`: the callers (a message's transaction, a reminder's job) do.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import redis
from rq import Retry
from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from bot.adapters import outbox as outbound
from bot.adapters.models import Contact, Reminder, Signup, Workshop, utcnow
from bot.core.flows import Flows, WorkshopDef
from bot.core.workshop_times import after_quiet, reminder_times, starts_at

log = logging.getLogger(__name__)

ACTIVE = ("confirmed", "offered", "waiting")  # a sign-up that still counts
HOLDING = ("confirmed", "offered")  # a sign-up that holds a seat
JOB = "worker.workshops.send_reminder"

Planned = tuple[int, datetime]  # (reminder id, when its job should run)
EnqueueAt = Callable[[int, datetime], None]  # schedule the job of a reminder at a time


def changed(session: Session, statement: Any) -> int:
    """Run a conditional UPDATE; how many rows it changed (0: someone else got there first)."""
    result = session.execute(statement.execution_options(synchronize_session=False))
    return int(result.rowcount)  # type: ignore[attr-defined]


def take_seat(session: Session, key: str) -> bool:
    """Take one seat if one is free; atomic on SQLite and PostgreSQL."""
    return changed(session, update(Workshop).where(Workshop.key == key, Workshop.taken < Workshop.seats)
                    .values(taken=Workshop.taken + 1)) == 1


def give_back_seat(session: Session, key: str) -> None:
    changed(session, update(Workshop).where(Workshop.key == key, Workshop.taken > 0)
             .values(taken=Workshop.taken - 1))


def lock_workshop(session: Session, key: str) -> Workshop | None:
    """The workshop row, locked until commit on PostgreSQL (SQLite's write lock already is)."""
    query = select(Workshop).where(Workshop.key == key).with_for_update().execution_options(populate_existing=True)
    return session.scalars(query).one_or_none()


def plan_reminder(session: Session, signup_id: int, kind: str, due: datetime,
          status: str = "scheduled") -> Planned | None:
    """Write (or reset) the reminder of this kind for a sign-up; the plan when it is to be sent."""
    reminder = session.scalars(select(Reminder).where(Reminder.signup_id == signup_id, Reminder.kind == kind)
                               .execution_options(populate_existing=True)).one_or_none()
    if reminder is None:
        reminder = Reminder(signup_id=signup_id, kind=kind)
        session.add(reminder)
    reminder.due_at, reminder.status, reminder.message_id = due, status, None
    reminder.done_at = None if status == "scheduled" else utcnow()
    session.flush()
    return (reminder.id, due) if status == "scheduled" else None


def skip_reminders(session: Session, signup_id: int, kinds: tuple[str, ...] | None = None) -> None:
    query = update(Reminder).where(Reminder.signup_id == signup_id, Reminder.status == "scheduled")
    if kinds:
        query = query.where(Reminder.kind.in_(kinds))
    changed(session, query.values(status="skipped", done_at=utcnow()))


def plan_reminders(session: Session, signup_id: int, workshop: WorkshopDef, flows: Flows,
                    now: datetime) -> list[Planned]:
    """The day-before and two-hours reminders of a confirmed place (see the module's rule)."""
    planned = []
    start = starts_at(workshop, flows)
    for kind, due in reminder_times(workshop, flows).items():
        if due is None or due <= now:
            plan_reminder(session, signup_id, kind, due or start, status="skipped")
        else:
            plan = plan_reminder(session, signup_id, kind, due)
            if plan:
                planned.append(plan)
    return planned


def ensure_workshop(session: Session, workshop: WorkshopDef, flows: Flows, now: datetime) -> list[Planned]:
    """Make the workshop's row match the YAML (see `sync_workshop`) and commit."""
    planned = sync_workshop(session, workshop, flows, now)
    session.commit()  # also ends the read (PostgreSQL) before the caller's next transaction
    return planned


def sync_workshop(session: Session, workshop: WorkshopDef, flows: Flows, now: datetime) -> list[Planned]:
    """Make the workshop's row match the YAML (seats, start), in the caller's transaction.

    More seats go to the people waiting; a new start re-plans the reminders of confirmed places.
    Fewer seats than already taken: nobody loses a place, new sign-ups wait.
    """
    start = starts_at(workshop, flows)
    row = session.execute(select(Workshop.seats, Workshop.starts_at).where(Workshop.key == workshop.key)).first()
    if row is None:
        dialect = session.get_bind().dialect.name
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        session.execute(insert(Workshop).values(key=workshop.key, seats=workshop.seats, taken=0, starts_at=start,
                                                updated_at=utcnow()).on_conflict_do_nothing(index_elements=["key"]))
        return []
    if row.seats == workshop.seats and row.starts_at == start:
        return []
    changed(session, update(Workshop).where(Workshop.key == workshop.key)
            .values(seats=workshop.seats, starts_at=start))
    planned: list[Planned] = []
    if row.starts_at != start:
        confirmed = session.scalars(select(Signup.id).where(Signup.workshop_key == workshop.key,
                                                            Signup.status == "confirmed")).all()
        for signup_id in confirmed:
            planned += plan_reminders(session, signup_id, workshop, flows, now)
        log.info("workshop %s moved: reminders of %d places re-planned", workshop.key, len(confirmed))
    if row.seats < workshop.seats:
        planned += fill_free_seats(session, workshop.key, flows, now)
    log.info("workshop %s synced with flows: %d seats", workshop.key, workshop.seats)
    return planned


def fill_free_seats(session: Session, key: str, flows: Flows, now: datetime) -> list[Planned]:
    """Offer the free seats of a workshop to the people waiting, first come first served."""
    planned: list[Planned] = []
    lock_workshop(session, key)
    while take_seat(session, key):
        offered = offer_next(session, key, flows, now)
        if offered is None:
            give_back_seat(session, key)
            break
        planned += offered
    return planned


def release_seat(session: Session, key: str, flows: Flows, now: datetime) -> list[Planned]:
    """A held seat is freed: offer it to the first person waiting, or give it back."""
    lock_workshop(session, key)
    offered = offer_next(session, key, flows, now)
    if offered is None:
        give_back_seat(session, key)
        return []
    return offered


def offer_next(session: Session, key: str, flows: Flows, now: datetime) -> list[Planned] | None:
    """Offer a seat (already counted as taken) to the first person waiting; None: nobody can have it."""
    start = session.scalar(select(Workshop.starts_at).where(Workshop.key == key))
    send_at = after_quiet(now, flows)
    if start is None or send_at >= start or key not in flows.workshops:  # too late, or no longer listed
        return None
    expires = min(send_at + timedelta(hours=flows.workshop_settings.offer_hours), start)
    waiting = session.scalars(
        select(Signup.id).join(Contact, Contact.id == Signup.contact_id)
        .where(Signup.workshop_key == key, Signup.status == "waiting", Contact.opted_out.is_(False))
        .order_by(Signup.waiting_since, Signup.id)).all()
    for signup_id in waiting:
        if changed(session, update(Signup).where(Signup.id == signup_id, Signup.status == "waiting")
                    .values(status="offered", offered_at=send_at, offer_expires_at=expires)):
            log.info("seat of workshop %s offered to sign-up %s until %s", key, signup_id, expires.isoformat())
            plans = [plan_reminder(session, signup_id, "offer", send_at), plan_reminder(session, signup_id, "offer_expiry", expires)]
            return [p for p in plans if p]
    return None


def expire(session: Session, signup_id: int, key: str, flows: Flows, now: datetime,
            notify: bool) -> list[Planned] | None:
    """End an unanswered offer and pass the seat on; None when it was no longer offered."""
    if not changed(session, update(Signup).where(Signup.id == signup_id, Signup.status == "offered")
                    .values(status="expired")):
        return None
    skip_reminders(session, signup_id)
    planned = []
    if notify:
        plan = plan_reminder(session, signup_id, "offer_expired", after_quiet(now, flows))
        planned = [plan] if plan else []
    log.info("offer to sign-up %s expired", signup_id)
    return planned + release_seat(session, key, flows, now)


def job_id(reminder_id: int, due: datetime) -> str:
    """The RQ job id of a reminder at a due time: a moved reminder gets a new job."""
    return f"workshop-reminder-{reminder_id}-{int(due.timestamp())}"


def enqueue_reminder(connection: redis.Redis, reminder_id: int, due: datetime) -> None:
    """Run the reminder's job at due (at once when due has passed); safe to call twice."""
    queue = outbound.queue(connection)
    options: dict[str, Any] = {"job_id": job_id(reminder_id, due), "retry": Retry(max=3, interval=[10, 60, 300]),
                               "failure_ttl": outbound.FAILURE_TTL, "result_ttl": 3600}
    if due <= utcnow():
        queue.enqueue(JOB, reminder_id, **options)
    else:
        queue.enqueue_at(due, JOB, reminder_id, **options)


def rq_enqueue_at(connection: redis.Redis) -> EnqueueAt:
    """The EnqueueAt of the running app: RQ on connection."""
    def enqueue_at(reminder_id: int, due: datetime) -> None:
        enqueue_reminder(connection, reminder_id, due)

    return enqueue_at


def schedule(enqueue_at: EnqueueAt | None, planned: list[Planned]) -> None:
    """Hand committed reminders to RQ; when Redis is down the sweeper does it later."""
    if enqueue_at is None:
        return
    for reminder_id, due in planned:
        try:
            enqueue_at(reminder_id, due)
        except Exception as exc:  # noqa: BLE001 - the reminder is safe in SQL; the sweeper retries
            log.warning("reminder %s not enqueued (%s): the sweeper will", reminder_id, exc.__class__.__name__)
