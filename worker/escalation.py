"""Escalation jobs: put a case in front of the social workers and alert whoever is on call.

Every job takes a case id, runs inside an app context and is safe to run twice: a case is
escalated once (escalated_at), and each alert (on-call, backup) exists once per case.
"""

from __future__ import annotations

import logging
from datetime import datetime

from flask import Flask
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from bot import extensions
from bot.adapters import outbox as outbound
from bot.adapters.models import Alert, Case, utcnow
from bot.core import hours, oncall
from bot.core.errors import TransportError
from worker.jobs import _app

log = logging.getLogger(__name__)


def escalate_case(case_id: int) -> str:
    """Put the case in the queue (escalated_at) and, out of hours, text the on-call worker."""
    app = _app()
    with app.app_context():
        sessions = extensions.services(app).sessions
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
    flows = extensions.services(app).flows()
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
        outbound.queue(extensions.redis(app), "urgent").enqueue_in(
            flows.rota.claim_within, "worker.escalation.check_claimed", case_id,
            job_id=f"check-claimed-{case_id}", failure_ttl=outbound.FAILURE_TTL)
    return "on-call alerted"


def check_claimed(case_id: int) -> str:
    """Alert the backup when nobody claimed an urgent case in time."""
    app = _app()
    with app.app_context():
        sessions = extensions.services(app).sessions
        with sessions() as session:
            case = session.get(Case, case_id)
            if case is None or case.status != "open" or case.claimed_by_id is not None:
                return "claimed or closed"
            opened_at = case.opened_at
        flows = extensions.services(app).flows()
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
