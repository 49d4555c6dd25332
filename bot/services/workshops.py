"""Workshop sign-ups: seats counted in SQL, a waiting list, seat offers, reminders.

Seats. `workshops.taken` only goes up through a conditional UPDATE
(`taken = taken + 1 WHERE taken < seats`), which SQLite and PostgreSQL both run
atomically: the last seat goes to exactly one person even when thirty ask at once. A
seat that is offered to someone on the waiting list counts as taken until it is accepted
or the offer expires; a freed seat goes to the first person waiting (by `waiting_since`),
or back to the counter when nobody waits.

Messages outside a conversation (reminders, seat offers, "the offer expired") are
`Reminder` rows with a due time. An RQ job (`worker.workshops.send_reminder`) turns one
into an outbox message at that time: the row is marked `sent` in the same transaction that
writes the message, so a job that runs twice sends once. The kind `offer_expiry` sends
nothing: it ends an unanswered offer and passes the seat on. The sweeper re-enqueues
reminders whose RQ job Redis lost (`sweep`).

Quiet hours (`workshop_settings.quiet_hours`, the centre's local time, default
21:00-08:00) -- the rule:

- Reminders go out between the end of the quiet hours and 30 minutes before they start
  (08:00-20:30 by default). A reminder due outside that window moves EARLIER, to 30
  minutes before the quiet hours begin on the evening before (a 09:00 workshop: its
  two-hours reminder, 07:00, goes at 20:30 the evening before). The 30 minutes leave room
  for a busy worker or a retry without reaching the night.
- The day-before reminder is due at the workshop's time of day, the day before; the
  two-hours one two hours before the start. A reminder whose due time has passed when
  the person is confirmed is not sent (status `skipped`). When the two end up less than
  two hours apart, only the later one is sent.
- A seat offer (and the "offer expired" notice) that would go out during the quiet hours
  waits for their end, and the time to answer counts from then. An offer never lasts
  past the workshop's start, and a seat freed when no offer can go out before the start
  is simply freed.
- Whatever was planned, a job that runs during the quiet hours (a worker that was down)
  sends nothing: it moves to the end of the quiet hours, or is skipped when that is too
  late for the workshop.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

import redis
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus
from rq.serializers import JSONSerializer
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from bot.adapters import outbox as outbound
from bot.adapters.models import Contact, Reminder, Signup, Workshop, utcnow
from bot.core import answers
from bot.core.conversation import Incoming, State
from bot.core.flows import Flows, WorkshopDef
from bot.core.text import normalize
from bot.core.whatsapp import needs_template
from bot.core.workshop_times import after_quiet, before_quiet, is_quiet, reminder_times, starts_at, until_text
from bot.services.seats import (
    JOB,
    EnqueueAt,
    Planned,
    changed,
    enqueue_reminder,
    ensure_workshop,
    expire,
    fill_free_seats,
    job_id,
    plan_reminder,
    rq_enqueue_at,
    schedule,
)
from bot.services.signups import WorkshopEffects, effects_factory
from bot.services.workshop_staff import Overview, Participant, overview, participants

__all__ = ["JOB", "NEEDS", "TEXTS", "EnqueueAt", "Overview", "Participant", "Planned", "Ran", "WorkshopEffects",
           "after_quiet", "before_quiet", "effects_factory", "enqueue_reminder", "ensure_workshop", "is_quiet",
           "job_id", "overview", "participants", "ready_for_offer_answer", "reminder_text", "reminder_times",
           "rq_enqueue_at", "run_reminder", "schedule", "starts_at", "sweep", "until_text"]

log = logging.getLogger(__name__)

WORKSHOP_REMINDERS = ("day_before", "two_hours")
# what each kind of reminder needs of its sign-up to be sent, and the text it sends
NEEDS = {"day_before": "confirmed", "two_hours": "confirmed", "offer": "offered",
         "offer_expired": "expired", "offer_expiry": "offered"}
TEXTS = {"day_before": "workshop_reminder_day_before", "two_hours": "workshop_reminder_two_hours",
         "offer": "workshop_offer", "offer_expired": "workshop_offer_expired"}
EARLY_SLACK = timedelta(minutes=1)  # a job this early still counts as on time
SWEEP_AFTER = timedelta(seconds=30)  # a due reminder whose job has not run by then is re-enqueued
OFFER_STEP = "workshop_offer_answer"  # where the global keyword OUI / JA / YES leads


# --- jobs: running a reminder ------------------------------------------------------------------

@dataclass(frozen=True)
class Ran:
    """What a reminder's job did: its outcome, the message to send, the reminders to schedule."""

    outcome: str
    message_id: int | None = None
    planned: tuple[Planned, ...] = ()
    contact_id: int | None = None  # whose message it is
    kind: str | None = None


def run_reminder(sessions: sessionmaker[Session], flows: Flows, reminder_id: int, now: datetime) -> Ran:
    """Do one reminder if it is due and still scheduled: write its message, or end an offer."""
    with sessions() as session:
        reminder = session.get(Reminder, reminder_id)
        if reminder is None or reminder.status != "scheduled":
            return Ran(f"nothing to do ({reminder.status if reminder else 'missing'})")
        if reminder.due_at > now + EARLY_SLACK:
            return Ran("not due yet")
        signup = session.get(Signup, reminder.signup_id)
        assert signup is not None
        contact = session.get(Contact, signup.contact_id)
        start = session.scalar(select(Workshop.starts_at).where(Workshop.key == signup.workshop_key))
        assert contact is not None and start is not None
        kind, workshop = reminder.kind, flows.workshops.get(signup.workshop_key)
        if signup.status != NEEDS.get(kind):
            return _finish(session, reminder_id, "skipped", f"skipped (sign-up {signup.status})")
        if kind == "offer_expiry":
            return _run_expiry(session, reminder_id, signup, flows, now)
        if workshop is None or contact.opted_out or (kind != "offer_expired" and start <= now):
            return _finish(session, reminder_id, "skipped", "skipped (workshop gone, over, or opted out)")
        if is_quiet(now, flows):
            return _postpone(session, reminder_id, kind, start, flows, now)
        planned = _extend_offer(session, signup, flows, start, now) if kind == "offer" else []
        if not changed(session, update(Reminder).where(Reminder.id == reminder_id, Reminder.status == "scheduled")
                        .values(status="sent", done_at=now)):
            session.rollback()
            return Ran("nothing to do (sent by another run)")
        text = reminder_text(kind, workshop, flows, contact.language or flows.default_language, now,
                             signup.offer_expires_at)
        message = outbound.create(session, contact, text, source="system")
        message.template = needs_template(contact, now)
        session.flush()
        changed(session, update(Reminder).where(Reminder.id == reminder_id).values(message_id=message.id))
        session.commit()
        log.info("reminder %s (%s) of sign-up %s: message %s", reminder_id, kind, signup.id, message.id)
        return Ran("sent", message.id, tuple(planned), contact.id, kind)


def _finish(session: Session, reminder_id: int, status: str, outcome: str) -> Ran:
    changed(session, update(Reminder).where(Reminder.id == reminder_id, Reminder.status == "scheduled")
             .values(status=status, done_at=utcnow()))
    session.commit()
    return Ran(outcome)


def _postpone(session: Session, reminder_id: int, kind: str, start: datetime, flows: Flows,
              now: datetime) -> Ran:
    """Never at night: a job that runs in the quiet hours moves to their end (or is skipped)."""
    later = after_quiet(now, flows)
    if kind != "offer_expired" and later >= start:
        return _finish(session, reminder_id, "skipped", "skipped (quiet hours until the workshop)")
    changed(session, update(Reminder).where(Reminder.id == reminder_id, Reminder.status == "scheduled")
             .values(due_at=later))
    session.commit()
    return Ran("postponed (quiet hours)", planned=((reminder_id, later),))


def _extend_offer(session: Session, signup: Signup, flows: Flows, start: datetime,
                  now: datetime) -> list[Planned]:
    """An offer that leaves late still gives the full time to answer (never past the start)."""
    expires = min(now + timedelta(hours=flows.workshop_settings.offer_hours), start)
    if signup.offer_expires_at is None or expires <= signup.offer_expires_at + EARLY_SLACK:
        return []
    signup.offer_expires_at = expires
    plan = plan_reminder(session, signup.id, "offer_expiry", expires)
    return [plan] if plan else []


def _run_expiry(session: Session, reminder_id: int, signup: Signup, flows: Flows, now: datetime) -> Ran:
    if signup.offer_expires_at is not None and signup.offer_expires_at > now + EARLY_SLACK:
        return Ran("not due yet (offer extended)")
    if not changed(session, update(Reminder).where(Reminder.id == reminder_id, Reminder.status == "scheduled")
                    .values(status="done", done_at=now)):
        session.rollback()
        return Ran("nothing to do (done by another run)")
    planned = expire(session, signup.id, signup.workshop_key, flows, now, notify=True)
    session.commit()
    return Ran("offer expired" if planned is not None else "nothing to do", planned=tuple(planned or ()))


def ready_for_offer_answer(state: State, flows: Flows) -> State:
    """The state after an offer SMS: a yes/no step left open would read "OUI" as its own choice."""
    step = flows.steps.get(state.step or "")
    if step is None or not step.choices:
        return state
    answers_offer = {w for k in flows.keywords if k.goto == OFFER_STEP for words in k.words.values() for w in words}
    for choice in step.choices:
        words = {normalize(label) for label in choice.label.values()}
        words |= {w for group in choice.keywords.values() for w in group}
        if words & answers_offer:
            return replace(state, step=None, data={})
    return state


def reminder_text(kind: str, workshop: WorkshopDef, flows: Flows, lang: str, now: datetime,
                  until: datetime | None = None) -> str:
    """The text of a reminder, an offer or an expired offer, from flows/workshops.yml `texts:`."""
    ctx = answers.Context(flows, lang, now, Incoming(""), {"workshop": workshop.key})
    if until is not None:
        ctx["offer_until"] = until_text(until, now, flows, lang)
    return flows.text(TEXTS[kind], lang).format_map(ctx)


# --- the sweeper -------------------------------------------------------------------------------

ALIVE = (JobStatus.QUEUED, JobStatus.STARTED, JobStatus.SCHEDULED, JobStatus.DEFERRED)


def _job_alive(connection: redis.Redis, reminder_id: int, due: datetime, overdue: bool) -> bool:
    try:
        job = Job.fetch(job_id(reminder_id, due), connection=connection, serializer=JSONSerializer)
    except NoSuchJobError:
        return False
    status = job.get_status(refresh=False)
    if overdue:  # long due: only a job in a queue or running counts (the scheduler may be gone)
        return status in (JobStatus.QUEUED, JobStatus.STARTED)
    return status in ALIVE


def sweep(sessions: sessionmaker[Session], connection: redis.Redis, flows: Flows, now: datetime) -> int:
    """Sync the workshops with the YAML and re-enqueue reminders whose job is gone; how many."""
    planned: list[Planned] = []
    with sessions() as session:
        for workshop in flows.workshops.values():
            if starts_at(workshop, flows) > now:
                planned += ensure_workshop(session, workshop, flows, now)
                planned += _fill_if_waiting(session, workshop.key, flows, now)
        scheduled = session.execute(select(Reminder.id, Reminder.due_at).where(Reminder.status == "scheduled")).all()
    lost = [(rid, due) for rid, due in scheduled
            if not _job_alive(connection, rid, due, overdue=due < now - SWEEP_AFTER)]
    for reminder_id, due in planned + lost:
        enqueue_reminder(connection, reminder_id, due)
    if lost:
        log.warning("sweeper re-enqueued %d workshop reminders", len(lost))
    return len(lost)


def _fill_if_waiting(session: Session, key: str, flows: Flows, now: datetime) -> list[Planned]:
    """Free seats while people wait (seats added, a rare race): offer them."""
    free = session.scalar(select(Workshop.seats - Workshop.taken).where(Workshop.key == key)) or 0
    waiting = session.scalar(select(func.count(Signup.id)).where(Signup.workshop_key == key,
                                                                 Signup.status == "waiting")) or 0
    if free <= 0 or not waiting:
        session.rollback()
        return []
    planned = fill_free_seats(session, key, flows, now)
    session.commit()
    return planned
