"""Twilio's REST API: the one place that sends messages out."""

from __future__ import annotations

from dataclasses import dataclass

from twilio.base.exceptions import TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from bot.config import Settings
from bot.core.errors import TransportError

# Twilio errors that will fail the same way on every try.
PERMANENT_CODES = {21211, 21408, 21610, 21612, 21614, 63016}


@dataclass(frozen=True)
class Sent:
    """What Twilio answered for a message it accepted."""

    sid: str
    status: str


def make_client(settings: Settings) -> Client:
    """A client with a timeout, pointed at the local fake in dev mode and in tests."""
    http = TwilioHttpClient(timeout=settings.twilio_timeout)
    # environment={}: a TWILIO_REGION set in the environment would otherwise mangle the host.
    client = Client(settings.twilio_account_sid, settings.twilio_auth_token,
                    http_client=http, environment={})
    if settings.twilio_api_base_url:
        client.api.base_url = settings.twilio_api_base_url
    return client


def send(client: Client, from_: str, to: str, body: str, status_callback: str | None, *,
         content_sid: str | None = None, content_variables: str | None = None) -> Sent:
    """Send one message; raise TransportError (permanent or not) when Twilio refuses.

    With content_sid, the message is an approved WhatsApp template filled with
    content_variables (JSON) instead of a free body: the only kind WhatsApp accepts
    outside its 24-hour window.
    """
    try:
        extra = {"status_callback": status_callback} if status_callback else {}
        if content_sid:
            extra.update(content_sid=content_sid, content_variables=content_variables or "{}")
        else:
            extra["body"] = body
        message = client.messages.create(from_=from_, to=to, **extra)
    except TwilioRestException as exc:
        permanent = exc.code in PERMANENT_CODES or 400 <= exc.status < 500
        raise TransportError(f"twilio error {exc.code}", permanent=permanent, code=exc.code) from exc
    return Sent(str(message.sid), str(message.status or "queued"))
