"""GSM-7 conversion and SMS segment counting. Pure functions, no I/O.

One character outside GSM-7 switches a whole SMS to UCS-2: 70 characters a segment
instead of 160. French replies are made GSM-7-safe before they leave on SMS.
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass

GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("^{}\\[~]|€\f")

# Characters common in French, Dutch and English texts that GSM-7 lacks.
_REPLACEMENTS = {
    "’": "'", "‘": "'", "‚": "'", "′": "'", "`": "'",
    "“": '"', "”": '"', "„": '"', "«": '"', "»": '"', "″": '"',
    "…": "...", "–": "-", "—": "-", "‐": "-", "‑": "-", "−": "-",
    "\u00a0": " ", "\u202f": " ", "\u2009": " ", "\u200b": "",
    "œ": "oe", "Œ": "OE", "æ": "ae", "•": "-", "·": "-",
}


_QUOTE_OPEN = re.compile(r"«[\s\u00a0\u202f]*")
_QUOTE_CLOSE = re.compile(r"[\s\u00a0\u202f]*»")


@dataclass(frozen=True)
class SegmentInfo:
    """How a text travels as SMS: its encoding and how many segments it bills."""

    encoding: str  # "GSM-7" or "UCS-2"
    segments: int
    units: int  # septets for GSM-7, UTF-16 code units for UCS-2


def is_gsm7(text: str) -> bool:
    """True when every character of text fits the GSM-7 alphabet (with extension)."""
    return all(c in GSM7_BASIC or c in GSM7_EXTENSION for c in text)


def to_gsm7(text: str) -> str:
    """Replace characters GSM-7 lacks by their closest GSM-7 spelling; keep the rest.

    Characters with no GSM-7 equivalent (emoji, other scripts) are left as they are:
    the message then goes out as UCS-2, which is better than losing them.
    """
    # French quotes hug their words with spaces: « oui » -> "oui"
    text = _QUOTE_OPEN.sub('"', _QUOTE_CLOSE.sub('"', text))
    out: list[str] = []
    for char in text:
        if char in GSM7_BASIC or char in GSM7_EXTENSION:
            out.append(char)
        elif char in _REPLACEMENTS:
            out.append(_REPLACEMENTS[char])
        else:
            out.append(_strip_accent(char))
    return "".join(out)


def _strip_accent(char: str) -> str:
    decomposed = unicodedata.normalize("NFD", char)
    base = "".join(c for c in decomposed if not unicodedata.combining(c))
    if base and all(c in GSM7_BASIC for c in base):
        return base
    return char


def segment_info(text: str) -> SegmentInfo:
    """Count the SMS segments text bills, as Twilio counts them."""
    if is_gsm7(text):
        units = sum(2 if c in GSM7_EXTENSION else 1 for c in text)
        single, multi = 160, 153
        encoding = "GSM-7"
    else:
        units = len(text.encode("utf-16-le")) // 2
        single, multi = 70, 67
        encoding = "UCS-2"
    segments = 1 if units <= single else math.ceil(units / multi)
    return SegmentInfo(encoding, segments, units)


def prepare(text: str, channel: str) -> str:
    """The text as it leaves on a channel: GSM-7-safe on SMS, untouched on WhatsApp."""
    return to_gsm7(text) if channel == "sms" else text
