"""Twilio's inbound request as Relais reads it: the fields it uses, checked. No I/O."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass

import phonenumbers

from bot.core import media


@dataclass(frozen=True)
class InboundForm:
    """The fields of Twilio's inbound request that Relais uses."""

    sid: str
    address: str
    body: str
    num_media: int = 0
    media: tuple[dict[str, str], ...] = ()
    opt_out_type: str = ""  # Twilio's OptOutType (STOP, START, HELP) when its opt-out handling acts

    @property
    def channel(self) -> str:
        """'whatsapp' for whatsapp:+... senders, else 'sms'."""
        return "whatsapp" if self.address.startswith("whatsapp:") else "sms"

    @property
    def country(self) -> str | None:
        """The sender's country code from the number (BE, FR, ...), or None."""
        number = self.address.removeprefix("whatsapp:")
        try:
            return phonenumbers.region_code_for_number(phonenumbers.parse(number, None))
        except phonenumbers.NumberParseException:
            return None


class BadRequest(ValueError):
    """The request lacks what is needed to answer anyone."""


def parse_form(form: Mapping[str, str]) -> InboundForm:
    """Read Twilio's form fields; raise BadRequest when there is no sender."""

    def get(name: str) -> str:
        # PostgreSQL text cannot hold NUL: keep a visible trace of it instead.
        return str(form.get(name) or "").replace("\x00", "\ufffd")

    address = str(get("From") or "").strip()
    if not address:
        raise BadRequest("no From")
    sid = str(get("MessageSid") or get("SmsMessageSid") or "").strip()[:64] or f"local-{uuid.uuid4().hex}"
    try:
        num_media = max(0, min(int(get("NumMedia") or 0), 10))
    except ValueError:
        num_media = 0
    attachments = tuple(
        {"url": str(get(f"MediaUrl{i}") or ""), "type": str(get(f"MediaContentType{i}") or "")}
        for i in range(num_media)
    )
    location = media.location_of(form)  # WhatsApp: Latitude, Longitude, Address, Label
    return InboundForm(sid, address[:64], str(get("Body") or ""), num_media,
                       attachments + ((location,) if location else ()), get("OptOutType").strip().upper()[:16])
