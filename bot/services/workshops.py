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
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import redis
from rq import Retry
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus
from rq.serializers import JSONSerializer
from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from bot.adapters import outbox as outbound
from bot.adapters.models import Contact, Reminder, Signup, Workshop, utcnow
from bot.core import answers
from bot.core.engine import ActionResult, Incoming, State
from bot.core.flows import Flows, WorkshopDef
from bot.core.text import normalize

log = logging.getLogger(__name__)

ACTIVE = ("confirmed", "offered", "waiting")  # a sign-up that still counts
HOLDING = ("confirmed", "offered")  # a sign-up that holds a seat
WORKSHOP_REMINDERS = ("day_before", "two_hours")
# what each kind of reminder needs of its sign-up to be sent, and the text it sends
NEEDS = {"day_before": "confirmed", "two_hours": "confirmed", "offer": "offered",
         "offer_expired": "expired", "offer_expiry": "offered"}
TEXTS = {"day_before": "workshop_reminder_day_before", "two_hours": "workshop_reminder_two_hours",
         "offer": "workshop_offer", "offer_expired": "workshop_offer_expired"}
QUIET_MARGIN = timedelta(minutes=30)  # reminders stop this long before the quiet hours begin
MERGE_WITHIN = timedelta(hours=2)  # two reminders closer than this: only the later one is sent
EARLY_SLACK = timedelta(minutes=1)  # a job this early still counts as on time
EXPIRED_ANSWER = timedelta(days=3)  # "OUI" this long after an offer expired still hears why
SWEEP_AFTER = timedelta(seconds=30)  # a due reminder whose job has not run by then is re-enqueued
JOB = "worker.workshops.send_reminder"
OFFER_STEP = "workshop_offer_answer"  # where the global keyword OUI / JA / YES leads

Planned = tuple[int, datetime]  # (reminder id, when its job should run)
EnqueueAt = Callable[[int, datetime], None]  # schedule the job of a reminder at a time


# --- time ---------------------------------------------------------------------------------

def starts_at(workshop: WorkshopDef, flows: Flows) -> datetime:
    """The workshop's start, timezone-aware, in the centre's timezone."""
    return datetime.combine(workshop.day, workshop.start, tzinfo=flows.schedule.tz)


def is_quiet(moment: datetime, flows: Flows) -> bool:
    """True when moment falls in the quiet hours (local time), when nobody is texted."""
    settings = flows.workshop_settings
    start, end = settings.quiet_start, settings.quiet_end
    local = moment.astimezone(flows.schedule.tz).time()
    if start == end:
        return False
    if start < end:
        return start <= local < end
    return local >= start or local < end


def _quiet_began(moment: datetime, flows: Flows) -> datetime:
    """The start of the quiet period that holds moment (which must be quiet)."""
    settings = flows.workshop_settings
    local = moment.astimezone(flows.schedule.tz)
    day = local.date()
    if settings.quiet_start > settings.quiet_end and local.time() < settings.quiet_end:
        day -= timedelta(days=1)
    return datetime.combine(day, settings.quiet_start, tzinfo=flows.schedule.tz)


def after_quiet(moment: datetime, flows: Flows) -> datetime:
    """moment, or the end of the quiet hours when moment falls in them."""
    if not is_quiet(moment, flows):
        return moment
    settings = flows.workshop_settings
    began = _quiet_began(moment, flows)
    day = began.date() + timedelta(days=1 if settings.quiet_start > settings.quiet_end else 0)
    return datetime.combine(day, settings.quiet_end, tzinfo=flows.schedule.tz)


def before_quiet(moment: datetime, flows: Flows) -> datetime:
    """moment, or QUIET_MARGIN before the quiet hours begin when moment is in them or that close."""
    for probe in (moment, moment + QUIET_MARGIN):
        if is_quiet(probe, flows):
            return _quiet_began(probe, flows) - QUIET_MARGIN
    return moment


def reminder_times(workshop: WorkshopDef, flows: Flows) -> dict[str, datetime | None]:
    """When each reminder of a confirmed place goes out; None: not sent (merged into the other)."""
    tz = flows.schedule.tz
    start = starts_at(workshop, flows)
    day_before = datetime.combine(workshop.day - timedelta(days=1), workshop.start, tzinfo=tz)
    two_hours = (start.astimezone(UTC) - timedelta(hours=2)).astimezone(tz)
    first, second = before_quiet(day_before, flows), before_quiet(two_hours, flows)
    if abs(second - first) < MERGE_WITHIN:
        return {"day_before": None, "two_hours": max(first, second)}
    return {"day_before": first, "two_hours": second}


def until_text(moment: datetime, now: datetime, flows: Flows, lang: str) -> str:
    """'demain à 20h', 'jeudi à 8h': a deadline as a person says it, seen from now."""
    tz = flows.schedule.tz
    local = moment.astimezone(tz)
    day = answers.fmt_day(local.date(), now.astimezone(tz).date(), flows, lang)
    return flows.text("at_time", lang).format(day=day, time=answers.fmt_time(local.time(), lang))


# --- small SQL helpers ---------------------------------------------------------------------

def _changed(session: Session, statement: Any) -> int:
    """Run a conditional UPDATE; how many rows it changed (0: someone else got there first)."""
    result = session.execute(statement.execution_options(synchronize_session=False))
    return int(result.rowcount)  # type: ignore[attr-defined]


def _take_seat(session: Session, key: str) -> bool:
    """Take one seat if one is free; atomic on SQLite and PostgreSQL."""
    return _changed(session, update(Workshop).where(Workshop.key == key, Workshop.taken < Workshop.seats)
                    .values(taken=Workshop.taken + 1)) == 1


def _give_back_seat(session: Session, key: str) -> None:
    _changed(session, update(Workshop).where(Workshop.key == key, Workshop.taken > 0)
             .values(taken=Workshop.taken - 1))


def _lock_workshop(session: Session, key: str) -> Workshop | None:
    """The workshop row, locked until commit on PostgreSQL (SQLite's write lock already is)."""
    query = select(Workshop).where(Workshop.key == key).with_for_update().execution_options(populate_existing=True)
    return session.scalars(query).one_or_none()


def _plan(session: Session, signup_id: int, kind: str, due: datetime,
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


def _skip_reminders(session: Session, signup_id: int, kinds: tuple[str, ...] | None = None) -> None:
    query = update(Reminder).where(Reminder.signup_id == signup_id, Reminder.status == "scheduled")
    if kinds:
        query = query.where(Reminder.kind.in_(kinds))
    _changed(session, query.values(status="skipped", done_at=utcnow()))


def _plan_reminders(session: Session, signup_id: int, workshop: WorkshopDef, flows: Flows,
                    now: datetime) -> list[Planned]:
    """The day-before and two-hours reminders of a confirmed place (see the module's rule)."""
    planned = []
    start = starts_at(workshop, flows)
    for kind, due in reminder_times(workshop, flows).items():
        if due is None or due <= now:
            _plan(session, signup_id, kind, due or start, status="skipped")
        else:
            plan = _plan(session, signup_id, kind, due)
            if plan:
                planned.append(plan)
    return planned


# --- seats ---------------------------------------------------------------------------------

def ensure_workshop(session: Session, workshop: WorkshopDef, flows: Flows, now: datetime) -> list[Planned]:
    """Make the workshop's row match the YAML (seats, start); commits.

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
        session.commit()
        return []
    if row.seats == workshop.seats and row.starts_at == start:
        session.rollback()  # ends the read (PostgreSQL) before the caller's own transaction
        return []
    _changed(session, update(Workshop).where(Workshop.key == workshop.key)
             .values(seats=workshop.seats, starts_at=start))
    planned: list[Planned] = []
    if row.starts_at != start:
        confirmed = session.scalars(select(Signup.id).where(Signup.workshop_key == workshop.key,
                                                            Signup.status == "confirmed")).all()
        for signup_id in confirmed:
            planned += _plan_reminders(session, signup_id, workshop, flows, now)
        log.info("workshop %s moved: reminders of %d places re-planned", workshop.key, len(confirmed))
    if row.seats < workshop.seats:
        planned += fill_free_seats(session, workshop.key, flows, now)
    session.commit()
    log.info("workshop %s synced with flows: %d seats", workshop.key, workshop.seats)
    return planned


def fill_free_seats(session: Session, key: str, flows: Flows, now: datetime) -> list[Planned]:
    """Offer the free seats of a workshop to the people waiting, first come first served."""
    planned: list[Planned] = []
    _lock_workshop(session, key)
    while _take_seat(session, key):
        offered = _offer_next(session, key, flows, now)
        if offered is None:
            _give_back_seat(session, key)
            break
        planned += offered
    return planned


def release_seat(session: Session, key: str, flows: Flows, now: datetime) -> list[Planned]:
    """A held seat is freed: offer it to the first person waiting, or give it back."""
    _lock_workshop(session, key)
    offered = _offer_next(session, key, flows, now)
    if offered is None:
        _give_back_seat(session, key)
        return []
    return offered


def _offer_next(session: Session, key: str, flows: Flows, now: datetime) -> list[Planned] | None:
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
        if _changed(session, update(Signup).where(Signup.id == signup_id, Signup.status == "waiting")
                    .values(status="offered", offered_at=send_at, offer_expires_at=expires)):
            log.info("seat of workshop %s offered to sign-up %s until %s", key, signup_id, expires.isoformat())
            plans = [_plan(session, signup_id, "offer", send_at), _plan(session, signup_id, "offer_expiry", expires)]
            return [p for p in plans if p]
    return None


def _expire(session: Session, signup_id: int, key: str, flows: Flows, now: datetime,
            notify: bool) -> list[Planned] | None:
    """End an unanswered offer and pass the seat on; None when it was no longer offered."""
    if not _changed(session, update(Signup).where(Signup.id == signup_id, Signup.status == "offered")
                    .values(status="expired")):
        return None
    _skip_reminders(session, signup_id)
    planned = []
    if notify:
        plan = _plan(session, signup_id, "offer_expired", after_quiet(now, flows))
        planned = [plan] if plan else []
    log.info("offer to sign-up %s expired", signup_id)
    return planned + release_seat(session, key, flows, now)


# --- the actions of a conversation ------------------------------------------------------------

@dataclass(frozen=True)
class _Mine:
    id: int
    key: str
    status: str


class WorkshopEffects:
    """The `do:` actions of the flows (signup, cancel, accept_offer) for one contact."""

    def __init__(self, sessions: sessionmaker[Session], flows: Flows, contact_id: int,
                 enqueue_at: EnqueueAt | None = None) -> None:
        self.sessions, self.flows, self.contact_id, self.enqueue_at = sessions, flows, contact_id, enqueue_at

    def run(self, action: str, data: Mapping[str, str], now: datetime) -> ActionResult:
        """Do an action; its result names the step that follows (see flows.ACTIONS)."""
        handlers = {"signup": self._signup, "cancel": self._cancel, "accept_offer": self._accept}
        if action not in handlers:
            raise ValueError(f"no such workshop action: {action}")
        result, planned = handlers[action](data, now)
        schedule(self.enqueue_at, planned)
        return result

    def signups(self, now: datetime) -> list[str]:
        """The keys of the person's upcoming sign-ups (confirmed, offered or waiting), soonest first."""
        with self.sessions() as session:
            return [m.key for m in self._mine(session, now) if m.key in self.flows.workshops]

    def seats_left(self, key: str, now: datetime) -> int | None:
        """The free seats of a workshop (an offered seat counts as taken); None when it is unknown."""
        workshop = self.flows.workshops.get(key)
        if workshop is None:
            return None
        with self.sessions() as session:
            taken = session.scalar(select(Workshop.taken).where(Workshop.key == key)) or 0
            waiting = session.scalar(select(func.count(Signup.id)).where(
                Signup.workshop_key == key, Signup.status == "waiting")) or 0
        return 0 if waiting else max(0, workshop.seats - int(taken))

    def _mine(self, session: Session, now: datetime) -> list[_Mine]:
        rows = session.execute(
            select(Signup.id, Signup.workshop_key, Signup.status).join(Workshop, Workshop.key == Signup.workshop_key)
            .where(Signup.contact_id == self.contact_id, Signup.status.in_(ACTIVE), Workshop.starts_at > now)
            .order_by(Workshop.starts_at, Signup.id)).all()
        return [_Mine(*row) for row in rows]

    # signup ---------------------------------------------------------------------------------

    def _signup(self, data: Mapping[str, str], now: datetime) -> tuple[ActionResult, list[Planned]]:
        key = data.get("workshop", "")
        workshop = self.flows.workshops.get(key)
        if workshop is None:
            return ActionResult("unknown"), []
        if starts_at(workshop, self.flows) <= now:
            return ActionResult("past", {"workshop": key}), []
        with self.sessions() as session:
            planned = ensure_workshop(session, workshop, self.flows, now)
            try:
                result, more = self._take_or_wait(session, workshop, now)
            except IntegrityError:  # the same person's other message signed them up first
                session.rollback()
                return ActionResult("already", {"workshop": key}), planned
        return result, planned + more

    def _take_or_wait(self, session: Session, workshop: WorkshopDef,
                      now: datetime) -> tuple[ActionResult, list[Planned]]:
        key = workshop.key
        existing = session.execute(select(Signup.id, Signup.status).where(
            Signup.workshop_key == key, Signup.contact_id == self.contact_id)).first()
        if existing is not None and existing.status in ACTIVE:
            return ActionResult("already", {"workshop": key}), []
        confirmed = _take_seat(session, key)
        if not confirmed:
            # a seat may be on its way back (a cancellation not yet committed): wait for it, try again
            _lock_workshop(session, key)
            confirmed = _take_seat(session, key)
        status = "confirmed" if confirmed else "waiting"
        fields: dict[str, Any] = {"status": status, "waiting_since": None if confirmed else now, "created_at": now,
                  "offered_at": None, "offer_expires_at": None, "cancelled_at": None}
        if existing is None:
            signup = Signup(workshop_key=key, contact_id=self.contact_id, **fields)
            session.add(signup)
            session.flush()
            signup_id = signup.id
        else:  # signed up again after cancelling or letting an offer expire: back at the end of the line
            signup_id = existing.id
            if not _changed(session, update(Signup).where(Signup.id == signup_id,
                                                          Signup.status.notin_(ACTIVE)).values(**fields)):
                session.rollback()
                return ActionResult("already", {"workshop": key}), []
        planned = _plan_reminders(session, signup_id, workshop, self.flows, now) if confirmed else []
        values = {"workshop": key}
        if not confirmed:
            values["position"] = str(_position(session, signup_id, key, now))
        session.commit()
        log.info("contact %s: sign-up %s for workshop %s %s", self.contact_id, signup_id, key, status)
        return ActionResult(status, values), planned

    # cancel ---------------------------------------------------------------------------------

    def _cancel(self, data: Mapping[str, str], now: datetime) -> tuple[ActionResult, list[Planned]]:
        with self.sessions() as session:
            mine = self._mine(session, now)
            chosen = next((m for m in mine if m.key == data.get("workshop")), None)
            if chosen is None and len(mine) == 1:
                chosen = mine[0]
            if chosen is None:  # nothing, or several and no way to tell which: the flow asks
                return ActionResult("none"), []
            if not _changed(session, update(Signup).where(Signup.id == chosen.id, Signup.status == chosen.status)
                            .values(status="cancelled", cancelled_at=now)):
                session.rollback()
                return ActionResult("none"), []
            _skip_reminders(session, chosen.id)
            planned = release_seat(session, chosen.key, self.flows, now) if chosen.status in HOLDING else []
            session.commit()
        log.info("contact %s: sign-up %s (%s) cancelled", self.contact_id, chosen.id, chosen.status)
        return ActionResult("cancelled", {"workshop": chosen.key}), planned

    # accept_offer -------------------------------------------------------------------------------

    def _accept(self, data: Mapping[str, str], now: datetime) -> tuple[ActionResult, list[Planned]]:
        with self.sessions() as session:
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
                if _changed(session, update(Signup).where(Signup.id == offer.id, Signup.status == "offered",
                                                          Signup.offer_expires_at > now).values(status="confirmed")):
                    _skip_reminders(session, offer.id, ("offer", "offer_expiry"))
                    planned = _plan_reminders(session, offer.id, workshop, self.flows, now)
                    session.commit()
                    log.info("contact %s: offer of sign-up %s accepted", self.contact_id, offer.id)
                    return ActionResult("accepted", {"workshop": offer.workshop_key}), planned
            planned, expired = [], None
            for offer in offers:
                if offer.offer_expires_at <= now:  # its expiry job has not run yet: end it now
                    passed = _expire(session, offer.id, offer.workshop_key, self.flows, now, notify=False)
                    if passed is not None:
                        planned += passed
                        expired = offer.workshop_key
            session.commit()
            if expired is None:
                expired = session.scalar(
                    select(Signup.workshop_key).where(Signup.contact_id == self.contact_id,
                                                      Signup.status == "expired",
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


# --- jobs: scheduling and running a reminder --------------------------------------------------

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
        if not _changed(session, update(Reminder).where(Reminder.id == reminder_id, Reminder.status == "scheduled")
                        .values(status="sent", done_at=now)):
            session.rollback()
            return Ran("nothing to do (sent by another run)")
        text = reminder_text(kind, workshop, flows, contact.language or flows.default_language, now,
                             signup.offer_expires_at)
        message = outbound.create(session, contact, text, source="system")
        message.template = _needs_template(contact, now)
        session.flush()
        _changed(session, update(Reminder).where(Reminder.id == reminder_id).values(message_id=message.id))
        session.commit()
        log.info("reminder %s (%s) of sign-up %s: message %s", reminder_id, kind, signup.id, message.id)
        return Ran("sent", message.id, tuple(planned), contact.id, kind)


def _finish(session: Session, reminder_id: int, status: str, outcome: str) -> Ran:
    _changed(session, update(Reminder).where(Reminder.id == reminder_id, Reminder.status == "scheduled")
             .values(status=status, done_at=utcnow()))
    session.commit()
    return Ran(outcome)


def _postpone(session: Session, reminder_id: int, kind: str, start: datetime, flows: Flows,
              now: datetime) -> Ran:
    """Never at night: a job that runs in the quiet hours moves to their end (or is skipped)."""
    later = after_quiet(now, flows)
    if kind != "offer_expired" and later >= start:
        return _finish(session, reminder_id, "skipped", "skipped (quiet hours until the workshop)")
    _changed(session, update(Reminder).where(Reminder.id == reminder_id, Reminder.status == "scheduled")
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
    plan = _plan(session, signup.id, "offer_expiry", expires)
    return [plan] if plan else []


def _run_expiry(session: Session, reminder_id: int, signup: Signup, flows: Flows, now: datetime) -> Ran:
    if signup.offer_expires_at is not None and signup.offer_expires_at > now + EARLY_SLACK:
        return Ran("not due yet (offer extended)")
    if not _changed(session, update(Reminder).where(Reminder.id == reminder_id, Reminder.status == "scheduled")
                    .values(status="done", done_at=now)):
        session.rollback()
        return Ran("nothing to do (done by another run)")
    planned = _expire(session, signup.id, signup.workshop_key, flows, now, notify=True)
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


def _needs_template(contact: Contact, now: datetime) -> bool:
    from bot.core.whatsapp import needs_template

    return needs_template(contact, now)


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


# --- the staff pages ---------------------------------------------------------------------------

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
