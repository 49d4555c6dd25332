"""Escalation jobs: put a case in front of the social workers and alert whoever is on call.

Every job takes a case id, runs inside an app context and is safe to run twice: a case is
escalated once (escalated_at), and each alert (on-call, backup) exists once per case.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from flask import Flask
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from bot.adapters import outbox as outbound
from bot.adapters.models import Alert, Case, Contact, Message, utcnow
from bot.core import hours, oncall
from bot.core.errors import TransportError
from worker.jobs import _app

log = logging.getLogger(__name__)

SWEEP_AFTER_SECONDS = 30  # a case not escalated after this long is re-enqueued
ORPHAN_AFTER_SECONDS = 120  # an inbound message still unanswered after this long lost its web process


def escalate_case(case_id: int) -> str:
    """Put the case in the queue (escalated_at) and, out of hours, text the on-call worker."""
    app = _app()
    with app.app_context():
        sessions = app.extensions["relais.services"].sessions
        with sessions() as session:
            case = session.get(Case, case_id)
            if case is None or case.status != "open":
                return "skipped"
            if case.escalated_at is not None:
                return "already escalated"
            priority, opened_at = case.priority, case.opened_at
        result = "queued"
        if priority == "urgent":  # out of hours is judged at the time the person wrote
            result = _alert_on_call(app, sessions, case_id, opened_at)
        with sessions() as session, session.begin():
            case = session.get(Case, case_id)
            if case is not None and case.escalated_at is None:
                case.escalated_at = utcnow()
        log.info("case %s escalated (%s)", case_id, result)
        return result


def _alert_on_call(app: Flask, sessions: sessionmaker[Session], case_id: int, now: datetime) -> str:
    flows = app.extensions["relais.services"].flows()
    local = hours.local(flows.schedule, now)
    if hours.open_until(flows.schedule, local) is not None:
        return "open hours: the team sees it in the inbox"
    day = hours.day_hours(flows.schedule, local.date())
    duty = oncall.on_call(flows.rota, local, closed_day=bool(day.holiday or day.closure))
    if duty is None:
        log.warning("urgent case %s out of hours with nobody on call", case_id)
        return "nobody on call"
    _send_alert(app, sessions, case_id, "oncall", duty.primary)
    if duty.backup is not None:
        outbound.queue(app.extensions["relais.redis"], "urgent").enqueue_in(
            flows.rota.claim_within, "worker.escalation.check_claimed", case_id,
            job_id=f"check-claimed-{case_id}", failure_ttl=outbound.FAILURE_TTL)
    return "on-call alerted"


def check_claimed(case_id: int) -> str:
    """Alert the backup when nobody claimed an urgent case in time."""
    app = _app()
    with app.app_context():
        sessions = app.extensions["relais.services"].sessions
        with sessions() as session:
            case = session.get(Case, case_id)
            if case is None or case.status != "open" or case.claimed_by_id is not None:
                return "claimed or closed"
            opened_at = case.opened_at
        flows = app.extensions["relais.services"].flows()
        now = hours.local(flows.schedule, opened_at + flows.rota.claim_within)
        day = hours.day_hours(flows.schedule, now.date())
        duty = oncall.on_call(flows.rota, now, closed_day=bool(day.holiday or day.closure))
        if duty is None or duty.backup is None:
            return "no backup on call"
        _send_alert(app, sessions, case_id, "backup", duty.backup)
        return "backup alerted"


def _send_alert(app: Flask, sessions: sessionmaker[Session], case_id: int, kind: str,
                person: oncall.Person) -> None:
    """Send one alert of this kind for this case; a rerun after a crash sends it again only if
    it may never have left (better a duplicate than a missed crisis)."""
    from bot import extensions
    from bot.adapters import twilio_api as twilio_client

    with sessions() as session:
        try:
            with session.begin():
                session.add(Alert(case_id=case_id, kind=kind, recipient=person.name, status="sending"))
        except IntegrityError:
            session.rollback()
        with session.begin():
            alert = session.scalars(select(Alert).where(Alert.case_id == case_id, Alert.kind == kind)).one()
            if alert.status == "sent":
                return
            case = session.get(Case, case_id)
            assert case is not None
            reference = case.reference or str(case.id)
    cfg = app.config
    text = (f"Relais: cas URGENT {reference}. Ouvrez {cfg['PUBLIC_BASE_URL']}/inbox/cases/{case_id}"
            if kind == "oncall" else
            f"Relais: cas URGENT {reference} sans reponse. Ouvrez {cfg['PUBLIC_BASE_URL']}/inbox/cases/{case_id}")
    client = extensions.twilio(app)
    try:
        sent = twilio_client.send(client, cfg["TWILIO_SMS_FROM"], person.phone, text, None)
    except TransportError as exc:
        _mark(sessions, case_id, kind, "failed", code=exc.code)
        log.error("%s alert for case %s failed (%s)", kind, case_id, exc.code)
        if not exc.permanent:
            raise
        return
    _mark(sessions, case_id, kind, "sent", sid=sent.sid)
    log.info("%s alert for case %s sent to %s", kind, case_id, person.key)


def _mark(sessions: sessionmaker[Session], case_id: int, kind: str, status: str, *,
          sid: str | None = None, code: int | None = None) -> None:
    with sessions() as session, session.begin():
        alert = session.scalars(select(Alert).where(Alert.case_id == case_id, Alert.kind == kind)).one()
        alert.status, alert.sid, alert.error_code = status, sid, code
        if status == "sent":
            alert.sent_at = utcnow()


def sweep() -> str:
    """Re-enqueue what Redis lost: cases never escalated, outbox messages never sent, reminders."""
    app = _app()
    with app.app_context():
        sessions = app.extensions["relais.services"].sessions
        connection = app.extensions["relais.redis"]
        cutoff = utcnow().timestamp() - SWEEP_AFTER_SECONDS
        with sessions() as session:
            cases = [(c.id, c.priority) for c in session.scalars(
                select(Case).where(Case.status == "open", Case.escalated_at.is_(None)))
                if c.opened_at.timestamp() < cutoff]
            messages = [m.id for m in session.scalars(
                select(Message).where(Message.direction == "out", Message.status == "queued",
                                      Message.sid.is_(None)))  # with a sid, Twilio has it
                if m.created_at.timestamp() < cutoff]
        orphans = _answer_orphans(sessions, utcnow() - timedelta(seconds=ORPHAN_AFTER_SECONDS))
        cases += [(case_id, "normal") for case_id, _ in orphans if case_id]
        messages += [reply_id for _, reply_id in orphans if reply_id]
        for case_id, priority in cases:
            outbound.enqueue_escalation(connection, case_id, priority)
        for message_id in messages:
            outbound.enqueue(connection, message_id)
        if cases or messages:
            log.warning("sweeper re-enqueued %d cases and %d messages", len(cases), len(messages))
        from worker.workshops import sweep_reminders

        reminders = sweep_reminders()
        return f"{len(cases)} cases, {len(messages)} messages, {reminders} reminders, {len(orphans)} unanswered"


def _answer_orphans(sessions: Any, before: datetime) -> list[tuple[int | None, int | None]]:
    """Inbound messages stored but never answered (the web process died in between).

    Each gets what the webhook's safe reply gives: an SMS saying a person will read it (not
    to people who texted STOP) and an open case, so that a person does. The conditional
    UPDATE makes two sweepers handle a message once. Returns (case id, reply id) pairs.
    """
    from bot.services.pipeline import SAFE_REPLY, new_reference

    done: list[tuple[int | None, int | None]] = []
    with sessions() as session:
        ids = list(session.scalars(select(Message.id).where(
            Message.direction == "in", Message.processed_at.is_(None), Message.created_at < before)))
    for message_id in ids:
        with sessions() as session, session.begin():
            taken = session.execute(update(Message).where(Message.id == message_id, Message.processed_at.is_(None))
                                    .values(processed_at=utcnow(), status="processed", needs_review=True,
                                            review_reason="not_answered"))
            if taken.rowcount != 1:  # type: ignore[attr-defined]
                continue
            message = session.get(Message, message_id)
            contact = session.get(Contact, message.contact_id) if message else None
            if message is None or contact is None:
                continue
            case_id = reply_id = None
            if contact.owner_id is None and not session.scalars(
                    select(Case.id).where(Case.contact_id == contact.id, Case.status == "open")).first():
                case = Case(contact_id=contact.id, message_id=message.id, priority="normal",
                            reason="a message got no answer (the web process stopped); sent the safe reply",
                            reference=new_reference(), opened_at=utcnow())
                session.add(case)
                session.flush()
                case_id = case.id
            if not contact.opted_out:
                reply = outbound.create(session, contact, SAFE_REPLY, source="bot")
                reply.in_reply_to_id = message.id
                session.flush()
                reply_id = reply.id
            done.append((case_id, reply_id))
            log.warning("inbound %s was never answered: safe reply %s, case %s", message_id, reply_id, case_id)
    return done
