"""RQ job functions: plain functions that take ids, run in an app context, safe to run twice."""

from __future__ import annotations

import json
import logging
from functools import lru_cache

import requests
from flask import Flask

from bot import extensions
from bot.adapters.models import Contact, Message
from bot.core.errors import TransportError

log = logging.getLogger(__name__)


@lru_cache(maxsize=1)
def _app() -> Flask:
    from bot import create_app

    return create_app()


def send_message(message_id: int) -> str:
    """Send one outbox message through Twilio; a message is never sent twice."""
    app = _app()
    with app.app_context():
        from bot.adapters import twilio_api as twilio_client

        sessions = extensions.sessions(app)
        with sessions() as session, session.begin():
            message = session.get(Message, message_id)
            # Twilio also says "queued" for a message it accepted: once it gave a sid, never again
            if message is None or message.status != "queued" or message.sid:
                return f"skipped ({message.status if message else 'missing'})"
            message.status = "sending"  # claimed: a second run of this job stops above
            contact = session.get(Contact, message.contact_id)
            assert contact is not None
            to, body, channel = contact.address, message.body, message.channel
            template = message.template
        cfg = app.config
        sender = cfg["TWILIO_WHATSAPP_FROM"] if channel == "whatsapp" else cfg["TWILIO_SMS_FROM"]
        client = extensions.twilio(app)  # built once per app, kept for every job
        # Outside WhatsApp's 24-hour window only an approved template goes through: the text
        # travels as its one variable.
        content_sid = cfg["TWILIO_WHATSAPP_TEMPLATE_SID"] if template else None
        variables = json.dumps({"1": body}, ensure_ascii=False) if template else None
        try:
            sent = twilio_client.send(client, sender, to, body, cfg["PUBLIC_BASE_URL"] + "/twilio/status",
                                      content_sid=content_sid, content_variables=variables)
        except TransportError as exc:
            _finish(sessions, message_id, "failed" if exc.permanent else "queued", code=exc.code)
            if exc.permanent:
                log.warning("outbound %s refused by Twilio (%s): not retried", message_id, exc.code)
                return "failed"
            raise
        except requests.ConnectionError:
            _finish(sessions, message_id, "queued")  # nothing reached Twilio: a retry is safe
            raise
        except requests.Timeout:
            # Twilio may have sent it: retrying could send it twice. A human checks.
            _finish(sessions, message_id, "unknown", review="send_timeout")
            log.warning("outbound %s timed out: marked for review, not retried", message_id)
            return "unknown"
        _finish(sessions, message_id, sent.status, sid=sent.sid)
        log.info("outbound %s accepted by Twilio", message_id)
        return sent.status


def _finish(sessions, message_id: int, status: str, *, sid: str | None = None,  # type: ignore[no-untyped-def]
            code: int | None = None, review: str | None = None) -> None:
    with sessions() as session, session.begin():
        message = session.get(Message, message_id)
        if sid:
            message.sid = sid
        message.status = status
        if code:
            message.error_code = code
        if review:
            message.needs_review, message.review_reason = True, review
