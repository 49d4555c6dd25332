"""WhatsApp's 24-hour customer-service window: outside it only an approved template goes through."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Protocol

WINDOW = timedelta(hours=24)


class Reachable(Protocol):
    """What the rule needs of a contact."""

    @property
    def channel(self) -> str: ...
    @property
    def last_inbound_at(self) -> datetime | None: ...


def needs_template(contact: Reachable, now: datetime) -> bool:
    """True when WhatsApp only accepts an approved template: the person last wrote over 24 h ago."""
    if contact.channel != "whatsapp":
        return False
    return contact.last_inbound_at is None or now - contact.last_inbound_at > WINDOW


def window_end(contact: Reachable) -> datetime | None:
    """When the window closes for a WhatsApp contact who wrote; None otherwise."""
    if contact.channel != "whatsapp" or contact.last_inbound_at is None:
        return None
    return contact.last_inbound_at + WINDOW
