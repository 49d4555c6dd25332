"""Twilio's webhooks: inbound messages and delivery status callbacks."""

from __future__ import annotations

import logging

from flask import Blueprint, Response, abort, current_app, request
from sqlalchemy import select
from twilio.request_validator import RequestValidator
from twilio.twiml.messaging_response import MessagingResponse

from bot import extensions
from bot.adapters.models import Message
from bot.services import pipeline

log = logging.getLogger(__name__)
security_log = logging.getLogger("relais.security")
bp = Blueprint("twilio", __name__, url_prefix="/twilio")

# Delivery statuses in the order they can happen; a callback never moves a message back.
STATUS_RANK = {"accepted": 0, "queued": 1, "sending": 2, "sent": 3, "receiving": 3,
               "received": 3, "delivered": 4, "undelivered": 4, "failed": 4, "read": 5}


def public_url() -> str:
    """The URL Twilio called: PUBLIC_BASE_URL + path + raw query, as Twilio signed it."""
    url = current_app.config["PUBLIC_BASE_URL"] + request.path
    query = request.query_string.decode("latin-1")
    return f"{url}?{query}" if query else url


def require_signature() -> None:
    """Abort with 403 unless X-Twilio-Signature is valid for this request."""
    signature = request.headers.get("X-Twilio-Signature", "")
    validator = RequestValidator(current_app.config["TWILIO_AUTH_TOKEN"])
    if not signature or not validator.validate(public_url(), request.form, signature):
        security_log.warning("rejected %s: %s signature from %s", request.path,
                             "missing" if not signature else "invalid", request.remote_addr)
        abort(403)


def twiml(replies: list[str]) -> Response:
    """Replies as TwiML, one <Message> each."""
    response = MessagingResponse()
    for text in replies:
        response.message(text)
    return Response(str(response), mimetype="text/xml")


@bp.post("/inbound")
def inbound() -> Response:
    """Store, understand and answer one inbound SMS or WhatsApp message."""
    require_signature()
    try:
        form = pipeline.parse_form(request.form)
    except pipeline.BadRequest as exc:
        log.warning("inbound request refused: %s", exc)
        return Response(str(MessagingResponse()), status=400, mimetype="text/xml")
    return twiml(pipeline.handle_inbound(extensions.services(), form))


@bp.post("/status")
def status() -> Response:
    """Move an outbound message's delivery status forward; never back."""
    require_signature()
    sid = request.form.get("MessageSid", "")
    new = request.form.get("MessageStatus", "")
    if new not in STATUS_RANK:
        return Response(status=204)
    sessions = extensions.sessions()
    with sessions() as session, session.begin():
        message = session.scalars(select(Message).where(Message.sid == sid)).one_or_none()
        if message is None:
            log.info("status %s for an unknown message", new)
            return Response(status=204)
        if STATUS_RANK[new] > STATUS_RANK.get(message.status, -1):
            message.status = new
            code = request.form.get("ErrorCode", "")
            if code.isdigit():
                message.error_code = int(code)
            log.info("message %s is now %s", message.id, new)
    return Response(status=204)
