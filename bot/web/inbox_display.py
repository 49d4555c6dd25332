"""How the inbox shows things: masked numbers, waiting times, labels, the rows of the queue (no I/O)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import phonenumbers

from bot.adapters import twilio_media
from bot.core import sms
from bot.services.case_queries import Waiting

STATUS_LABELS = {
    "received": "reçu", "processed": "reçu", "replied": "envoyé", "queued": "en attente d'envoi",
    "accepted": "accepté", "sending": "envoi en cours", "sent": "envoyé", "delivered": "remis",
    "read": "lu", "undelivered": "non remis", "failed": "échec", "unknown": "incertain (à vérifier)",
}
ERROR_LABELS = {
    21610: "la personne a envoyé STOP", 21211: "numéro invalide", 21614: "pas un numéro de mobile",
    30003: "téléphone injoignable", 30005: "numéro inconnu", 30006: "ligne fixe ou opérateur",
    30007: "filtré comme spam", 63016: "hors de la fenêtre WhatsApp de 24 h",
}
SOURCE_LABELS = {"bot": "Robot", "system": "Message automatique", "staff": "Équipe", "worker": "Travailleur social"}


# --- pure helpers ------------------------------------------------------------------------

def mask(address: str) -> str:
    """A phone number fit for a list: country and first group, then only the last two digits."""
    number = address.removeprefix("whatsapp:")
    try:
        formatted = phonenumbers.format_number(phonenumbers.parse(number, None),
                                               phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    except phonenumbers.NumberParseException:
        formatted = number
    groups = formatted.split(" ")
    if len(groups) > 2:
        head, tail = " ".join(groups[:2]) + " ", " ".join(groups[2:])
    else:  # not a number phonenumbers can group: keep only its first four characters
        head, tail = formatted[:4], formatted[4:]
    return head + _hide_digits(tail, keep=2)


def _hide_digits(text: str, keep: int) -> str:
    out, seen = [], 0
    for char in reversed(text):
        seen += char.isdigit()
        out.append("•" if char.isdigit() and seen > keep else char)
    return "".join(reversed(out))


def waited(delta: timedelta) -> str:
    """How long someone has waited, the way a person says it: '12 min', '2 h 05', '3 j 4 h'."""
    minutes = max(0, int(delta.total_seconds() // 60))
    if minutes < 1:
        return "< 1 min"
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes:02d}"
    days, hours = divmod(hours, 24)
    return f"{days} j {hours} h"


def sms_rules() -> dict[str, Any]:
    """bot/core/sms.py's GSM-7 alphabet and replacements, for the segment counter in the browser."""
    return {"basic": "".join(sorted(sms.GSM7_BASIC)), "extension": "".join(sorted(sms.GSM7_EXTENSION)),
            "replacements": sms._REPLACEMENTS}


def channel_label(channel: str) -> str:
    """'SMS' or 'WhatsApp'."""
    return "WhatsApp" if channel == "whatsapp" else "SMS"


def shown_as(entry: dict[str, str]) -> str:
    """How the thread shows one entry of Message.media: image, audio, video, download, refused, location."""
    if entry.get("kind") == "location":
        return "location"
    content_type = twilio_media.mime(entry.get("type", ""))
    if content_type in twilio_media.INLINE:
        return content_type.split("/")[0]
    return "download" if content_type in twilio_media.DOWNLOAD else "refused"


# --- the queue -----------------------------------------------------------------------------

@dataclass(frozen=True)
class QueueRow:
    """One open case as the queue shows it."""

    id: int
    reference: str
    priority: str
    reason: str
    channel: str
    who: str
    waited: str
    opened_at: datetime
    claimed_by: str | None
    mine: bool
    bot_talks: bool
    failed: bool
    unanswered: bool


def queue_rows(waiting: list[Waiting], now: datetime, user_id: int) -> list[QueueRow]:
    """The open cases with what a social worker needs to pick the next one."""
    return [QueueRow(
        id=w.case.id, reference=w.case.reference or str(w.case.id), priority=w.case.priority,
        reason=w.case.reason, channel=channel_label(w.contact.channel), who=mask(w.contact.address),
        waited=waited(now - w.case.opened_at), opened_at=w.case.opened_at, claimed_by=w.claimed_by,
        mine=w.case.claimed_by_id == user_id, bot_talks=w.contact.owner_id is None,
        failed=w.failed, unanswered=w.unanswered,
    ) for w in waiting]
