"""The inbound path: store first, then understand, answer and record, exactly once per sid.

Used by the webhook and by the simulator. Everything outside (database, state store,
NLU, clock, flows) comes in through `Services`, so the simulator can swap the parts
that must not touch production.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from bot.adapters import metrics
from bot.adapters.models import Contact, Message, StandingChange, utcnow
from bot.adapters.nlu import NluClient
from bot.core import media, sms
from bot.core.conversation import Incoming, Labelled, OpenCase, OptIn, OptOut, Outcome, State
from bot.core.flows import Flows
from bot.core.privacy import pseudonym
from bot.core.text import clean
from bot.services import cases
from bot.services.cases import SAFE_REPLY, new_reference
from bot.services.inbound import BadRequest, InboundForm, parse_form
from bot.services.turn import Seating, Turn
from bot.services.understanding import close_call, for_nlu, greetings, triage_first, understand

# The webhook, the simulator and the tests find these here, where the inbound path starts.
__all__ = ["SAFE_REPLY", "BadRequest", "InboundForm", "Services", "for_nlu", "get_or_create_contact",
           "handle_inbound", "new_reference", "parse_form", "understand"]
_close_call, _greetings, _triage = close_call, greetings, triage_first  # read by the tests of each

log = logging.getLogger(__name__)

MAX_STORED_BODY = 10_000
REPLAY_WAIT = 10.0  # seconds a duplicate waits for the first copy's answer


class StateStore(Protocol):
    def load(self, contact_id: int) -> State: ...
    def save(self, contact_id: int, state: State) -> None: ...


@dataclass
class Services:
    """The outside parts the inbound path uses."""

    sessions: sessionmaker[Session]
    states: StateStore
    nlu: NluClient | None
    flows: Callable[[], Flows]
    clock: Callable[[], datetime]
    pseudonym_key: str
    escalate: Callable[[int, str], None] | None = None  # None: nothing leaves (simulator)
    # the database actions of a flow (workshop sign-ups) for one contact; None: none available
    effects: Callable[[int, Flows], Seating] | None = None
    counted: bool = True  # False for scratch runs (simulator, preview, flow tests): not in /metrics


@dataclass(frozen=True)
class Stored:
    """An inbound message once committed, with what the rest of the path needs of its contact."""

    message_id: int
    contact_id: int
    is_new: bool
    owned: bool = False
    language: str | None = None
    reference: str | None = None  # the open case's, if any
    opted_out: bool = False


def handle_inbound(svc: Services, form: InboundForm) -> list[str]:
    """Store the message, then answer it once; a duplicate sid gets the first answer again."""
    stored = _store(svc, form)
    if not stored.is_new:
        return _replay(svc, stored.message_id)
    try:
        return _process(svc, form, stored)
    except Exception:
        log.exception("inbound message %s could not be processed; safe reply sent", stored.message_id)
        return _safe_reply(svc, form, stored)


def _store(svc: Services, form: InboundForm) -> Stored:
    """Commit the message (and a new contact) in one transaction, before anything else."""
    for _attempt in range(3):
        with svc.sessions() as session:
            contact = session.scalars(select(Contact).where(Contact.address == form.address)).one_or_none()
            case = None
            if contact is None:
                contact = _new_contact(svc, form)
                session.add(contact)
            else:  # a new contact has no case yet: no query
                case = cases.open_case_of(session, contact.id)
            message = Message(contact=contact, direction="in", sid=form.sid, channel=form.channel,
                              body=form.body[:MAX_STORED_BODY], num_media=form.num_media,
                              media=list(form.media) or None, status="received")
            session.add(message)
            contact.last_inbound_at = utcnow()
            try:
                session.commit()
            except IntegrityError:
                session.rollback()
                existing = session.scalars(select(Message).where(Message.sid == form.sid)).one_or_none()
                if existing is not None:
                    log.info("duplicate inbound %s", existing.id)
                    return Stored(existing.id, existing.contact_id, False)
                continue  # the same new person's other message created the contact first
            log.info("inbound %s stored for contact %s (%s)", message.id, contact.pseudonym, form.channel)
            return Stored(message.id, contact.id, True, contact.owner_id is not None, contact.language,
                          case.reference if case else None, contact.opted_out)
    raise RuntimeError("inbound message could not be stored")


def _new_contact(svc: Services, form: InboundForm) -> Contact:
    return Contact(address=form.address, channel=form.channel, country=form.country,
                   pseudonym=pseudonym(form.address, svc.pseudonym_key))


def get_or_create_contact(svc: Services, session: Session, form: InboundForm) -> Contact:
    """The contact at form's address, created (and committed) when new."""
    query = select(Contact).where(Contact.address == form.address)
    contact = session.scalars(query).one_or_none()
    if contact:
        return contact
    contact = _new_contact(svc, form)
    session.add(contact)
    try:
        session.commit()
    except IntegrityError:  # the same new person's other message won the race
        session.rollback()
        return session.scalars(query).one()
    return contact


def _replay(svc: Services, message_id: int) -> list[str]:
    deadline = time.monotonic() + REPLAY_WAIT
    while True:
        with svc.sessions() as session:
            message = session.get(Message, message_id)
            if message is not None and message.processed_at is not None:
                replies = session.scalars(select(Message.body).where(Message.in_reply_to_id == message_id)
                                          .order_by(Message.id))
                return list(replies)
        if time.monotonic() > deadline:
            return []
        time.sleep(0.05)


def _process(svc: Services, form: InboundForm, stored: Stored) -> list[str]:
    flows = svc.flows()
    message_id, contact_id = stored.message_id, stored.contact_id
    state = svc.states.load(contact_id)
    if state.lang is None and stored.language:
        state = State(lang=stored.language, lang_locked=True)
    incoming = Incoming(clean(form.body), form.channel, form.num_media, form.country,
                        reference=stored.reference or new_reference(), opted_out=stored.opted_out,
                        opt_out_type=form.opt_out_type, message_id=message_id,
                        media=media.kinds(form.media, form.num_media))
    meaning, review = understand(svc.nlu, flows, state, incoming, message_id, svc.counted)
    if stored.owned and meaning.goto != "urgent":  # a social worker holds this thread: the bot is silent
        _record(svc, form, message_id, contact_id, None, [], review=review)
        return []
    now = svc.clock()
    turn = Turn(state, incoming, meaning, now, flows, svc.effects(contact_id, flows) if svc.effects else None)
    outcome = turn.first()
    replies = _record(svc, form, message_id, contact_id, outcome, outcome.replies, review,
                      reference=incoming.reference, known_language=stored.language, turn=turn)
    svc.states.save(contact_id, turn.outcome.state)
    return replies


def _record(svc: Services, form: InboundForm, message_id: int, contact_id: int,
            outcome: Outcome | None, replies: list[str], review: str | None,
            reference: str = "", known_language: str | None = None, turn: Turn | None = None) -> list[str]:
    prepared = [sms.prepare(text, form.channel) for text in replies]
    escalate: list[tuple[int, str]] = []
    values: dict[str, object] = {"processed_at": utcnow(), "status": "processed"}
    if review:
        values.update(needs_review=True, review_reason=review)
    if outcome is not None:
        values.update(intent=outcome.intent, confidence=outcome.confidence, understood_by=outcome.source,
                      language=outcome.language, priority=outcome.priority)
    with svc.sessions() as session, session.begin():
        if turn is not None and outcome is not None:
            # the sign-ups first, in this transaction: SQLite's one write lock is taken at the first write,
            # so messages that sign up at once wait for the seats inside the action, not before it
            outcome = turn.settle(session)
            prepared = [sms.prepare(text, form.channel) for text in outcome.replies]
            values["priority"] = outcome.priority
        # by id, without loading the rows: one UPDATE for the message, one for the contact if needed
        session.execute(update(Message).where(Message.id == message_id).values(**values))
        if outcome is not None and outcome.actions:
            contact, message = session.get(Contact, contact_id), session.get(Message, message_id)
            assert message is not None and contact is not None
            contact.language = outcome.language
            escalate = _apply_actions(session, outcome.actions, contact, message, reference, svc.clock())
        elif outcome is not None and outcome.language != known_language:
            session.execute(update(Contact).where(Contact.id == contact_id).values(language=outcome.language))
        for body in prepared:
            info = sms.segment_info(body)
            session.add(Message(contact_id=contact_id, direction="out", channel=form.channel,
                                body=body, status="replied", source="bot", in_reply_to_id=message_id,
                                segments=info.segments if form.channel == "sms" else None,
                                encoding=info.encoding if form.channel == "sms" else None))
    for case_id, priority in escalate:
        _escalate(svc, case_id, priority)
    if turn is not None and turn.seating is not None:
        turn.seating.schedule_planned()  # the reminders the actions planned, now that they are committed
    if svc.counted:
        metrics.INBOUND.labels(outcome.source if outcome else "none").inc()
    log.info("inbound %s answered: intent=%s by=%s replies=%d", message_id,
             outcome.intent if outcome else None, outcome.source if outcome else "silent", len(prepared))
    return prepared


def _apply_actions(session: Session, actions: list[object], contact: Contact, message: Message,
                   reference: str, now: datetime) -> list[tuple[int, str]]:
    """Apply the engine's actions in the message's transaction; return the cases to escalate."""
    escalate = []
    for action in actions:
        if isinstance(action, OpenCase):
            case = cases.open_or_raise(session, contact.id, message.id, action.priority, action.reason, now, reference)
            if case is not None:
                escalate.append((case.id, case.priority))
        elif isinstance(action, OptOut | OptIn):
            _change_standing(session, contact, message, action)
        elif isinstance(action, Labelled):
            # the person said what their earlier message meant: a labelled example for review
            session.execute(update(Message).where(Message.id == action.message_id, Message.contact_id == contact.id)
                            .values(needs_review=True, review_reason=f"close_call:{action.intent}"[:64]))
    return escalate


def _change_standing(session: Session, contact: Contact, message: Message, action: OptOut | OptIn) -> None:
    """Opt the person out or back in, and record the change with the message that caused it."""
    opted_out = isinstance(action, OptOut)
    if contact.opted_out == opted_out:
        return
    contact.opted_out = opted_out
    session.add(StandingChange(contact_id=contact.id, message_id=message.id,
                               change="opt_out" if opted_out else "opt_in", via=action.via))
    log.info("contact %s %s (%s) by inbound %s", contact.pseudonym,
             "opted out" if opted_out else "opted in", action.via, message.id)


def _escalate(svc: Services, case_id: int, priority: str) -> None:
    """Hand a committed case to the worker; when Redis is down the sweeper does it later."""
    if svc.escalate is None:
        return
    try:
        svc.escalate(case_id, priority)
    except Exception as exc:  # noqa: BLE001 - the case is safe in SQL; the sweeper retries
        log.warning("case %s not enqueued (%s): the sweeper will", case_id, exc.__class__.__name__)


def _safe_reply(svc: Services, form: InboundForm, stored: Stored) -> list[str]:
    """The bot could not answer: say a person will read it, and open a case so one does."""
    language = stored.language or "fr"
    outcome = Outcome(State(lang=language), [SAFE_REPLY],
                             [OpenCase("normal", "the bot could not answer this message (processing error)")],
                             None, 0.0, "normal", language, "error")
    try:
        return _record(svc, form, stored.message_id, stored.contact_id, outcome, [SAFE_REPLY],
                       review="processing_error", reference=stored.reference or new_reference(),
                       known_language=stored.language)
    except Exception:
        log.exception("could not record the safe reply to inbound %s", stored.message_id)
        return [sms.prepare(SAFE_REPLY, form.channel)]
