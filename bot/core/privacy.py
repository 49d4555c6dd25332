"""Pseudonyms for logs: a phone number never appears in a log line, its HMAC does."""

from __future__ import annotations

import hashlib
import hmac


def pseudonym(address: str, key: str) -> str:
    """A stable, non-reversible name for a phone number or WhatsApp address."""
    digest = hmac.new(key.encode(), address.encode(), hashlib.sha256).hexdigest()
    return f"c-{digest[:12]}"
