"""Twilio's media (voice notes, photos, documents people send): the one place that fetches them.

The inbox streams a file from Twilio to the social worker's browser; nothing is written to
disk and no Twilio URL reaches a page. Only URLs on Twilio's media hosts are fetched (in
dev mode and tests also the local fake, under TWILIO_API_BASE_URL): never an arbitrary URL
from a form, which would let anyone who can post to the webhook make the app fetch it.
Twilio answers a media URL with a redirect to its CDN; the credentials go to Twilio's own
host only (requests drops them on a redirect to another host, and so do we).
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import requests

log = logging.getLogger(__name__)

# Hosts a media URL from Twilio may start on, and hosts its redirect may lead to.
TWILIO_HOSTS = ("api.twilio.com", "media.twiliocdn.com")
TWILIO_SUFFIXES = (".twilio.com",)
REDIRECT_SUFFIXES = (".twilio.com", ".twiliocdn.com", ".amazonaws.com")  # Twilio's CDN is on S3
MAX_REDIRECTS = 3
CHUNK = 64 * 1024

# What a browser may show inline: images, sounds and videos WhatsApp and MMS carry. Never SVG
# (it runs scripts) nor HTML.
INLINE = {"image/jpeg", "image/png", "image/gif", "image/webp",
          "audio/ogg", "audio/mpeg", "audio/amr", "audio/mp4", "audio/aac", "audio/webm",
          "video/mp4", "video/3gpp"}
# What is only offered as a download (Content-Disposition: attachment).
DOWNLOAD = {"application/pdf", "application/msword", "text/plain", "text/vcard", "text/x-vcard",
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "application/vnd.oasis.opendocument.text", "application/vnd.ms-excel"}
ALLOWED = INLINE | DOWNLOAD
# The first bytes of each type shown inline (and of PDF): a file whose bytes are not what its
# type says (an HTML page served as image/png) is refused, whatever a browser would sniff.
MP3 = (b"ID3", b"\xff\xfb", b"\xff\xf3", b"\xff\xf2", b"\xff\xe3")
SIGNATURES: dict[str, tuple[bytes, ...]] = {
    "image/jpeg": (b"\xff\xd8\xff",), "image/png": (b"\x89PNG\r\n\x1a\n",), "image/gif": (b"GIF87a", b"GIF89a"),
    "image/webp": (b"RIFF",), "audio/ogg": (b"OggS",), "audio/mpeg": MP3, "audio/amr": (b"#!AMR",),
    "audio/aac": (b"\xff\xf1", b"\xff\xf9", b"ID3"), "audio/webm": (b"\x1a\x45\xdf\xa3",),
    "application/pdf": (b"%PDF",),
}
ISO_MEDIA = {"audio/mp4", "video/mp4", "video/3gpp"}  # 'ftyp' at offset 4


class MediaRefused(Exception):
    """The media is not fetched or not served; `status` is the HTTP status to answer with."""

    def __init__(self, reason: str, status: int = 403) -> None:
        super().__init__(reason)
        self.status = status


@dataclass
class Fetched:
    """A media being streamed from Twilio: its checked type and size, and its bytes."""

    content_type: str
    length: int | None
    chunks: Iterator[bytes]

    @property
    def inline(self) -> bool:
        """True when a browser may show it in the page; else it is only downloaded."""
        return self.content_type in INLINE


def mime(content_type: str) -> str:
    """'audio/ogg; codecs=opus' -> 'audio/ogg'."""
    return content_type.split(";")[0].strip().lower()


def is_twilio_url(url: str) -> bool:
    """True for an https URL on one of Twilio's media hosts."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    return parts.scheme == "https" and (host in TWILIO_HOSTS or host.endswith(TWILIO_SUFFIXES))


def is_fake_url(url: str, fake_base: str) -> bool:
    """True for a URL under the local fake of Twilio (dev mode and tests only)."""
    if not fake_base:
        return False
    base, parts = urlsplit(fake_base), urlsplit(url)
    return (parts.scheme, parts.netloc) == (base.scheme, base.netloc) and \
        parts.path.startswith(base.path.rstrip("/") + "/") and ".." not in parts.path


def allowed_url(url: str, fake_base: str = "") -> bool:
    """May this URL, read from Twilio's request, be fetched at all?"""
    return is_twilio_url(url) or is_fake_url(url, fake_base)


def _redirect_allowed(url: str, fake_base: str) -> bool:
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    return is_fake_url(url, fake_base) or (parts.scheme == "https" and (
        host in TWILIO_HOSTS or host.endswith(REDIRECT_SUFFIXES)))


def fetch(url: str, declared: str, *, account_sid: str, auth_token: str, fake_base: str = "",
          timeout: float = 10.0, max_bytes: int = 16 * 1024 * 1024) -> Fetched:
    """Start streaming one media; raise MediaRefused when it must not be fetched or shown.

    Args:
        url: the MediaUrl Twilio sent.
        declared: the MediaContentType Twilio sent with it.
        fake_base: the local fake's base URL, accepted like Twilio's hosts (dev mode only).
    """
    if not allowed_url(url, fake_base):
        raise MediaRefused("media URL not on Twilio's hosts")
    if mime(declared) not in ALLOWED:
        raise MediaRefused("media type not allowed", status=415)
    response = _get_following_redirects(url, account_sid, auth_token, fake_base, timeout)
    fetched_type = mime(response.headers.get("Content-Type", ""))
    if fetched_type not in ALLOWED or fetched_type.split("/")[0] != mime(declared).split("/")[0]:
        response.close()
        raise MediaRefused("fetched media type not allowed or not the declared one", status=415)
    length = response.headers.get("Content-Length")
    size = int(length) if length and length.isdigit() else None
    if size is not None and size > max_bytes:
        response.close()
        raise MediaRefused("media too large", status=413)
    chunks = response.iter_content(CHUNK)
    head = next(chunks, b"")
    if not looks_like(fetched_type, head):
        response.close()
        raise MediaRefused("media bytes are not of their declared type", status=415)
    return Fetched(fetched_type, size, _capped(response, head, chunks, max_bytes))


def looks_like(content_type: str, head: bytes) -> bool:
    """True when the first bytes fit the type (types without a known signature pass)."""
    if content_type in ISO_MEDIA:
        return head[4:8] == b"ftyp"
    if content_type == "image/webp":
        return head.startswith(b"RIFF") and head[8:12] == b"WEBP"
    signatures = SIGNATURES.get(content_type)
    return signatures is None or head.startswith(signatures)


def _get_following_redirects(url: str, account_sid: str, auth_token: str, fake_base: str,
                             timeout: float) -> requests.Response:
    """GET with basic auth on the first host only, following at most a few checked redirects."""
    auth: tuple[str, str] | None = (account_sid, auth_token)
    for _hop in range(MAX_REDIRECTS + 1):
        try:
            response = requests.get(url, auth=auth, timeout=timeout, stream=True, allow_redirects=False)
        except requests.RequestException as exc:
            log.warning("media fetch failed: %s", exc.__class__.__name__)
            raise MediaRefused("media not reachable", status=502) from None
        if response.status_code not in (301, 302, 303, 307, 308):
            if response.status_code != 200:
                response.close()
                log.warning("media fetch answered %s", response.status_code)
                raise MediaRefused("media not available", status=404 if response.status_code == 404 else 502)
            return response
        target = urljoin(url, response.headers.get("Location", ""))
        response.close()
        if not _redirect_allowed(target, fake_base):
            raise MediaRefused("media redirect to a host that is not Twilio's", status=502)
        if urlsplit(target).netloc != urlsplit(url).netloc:
            auth = None  # Twilio's CDN URL is signed: the account's credentials stay with Twilio
        url = target
    raise MediaRefused("too many redirects", status=502)


def _capped(response: requests.Response, head: bytes, rest: Iterator[bytes], max_bytes: int) -> Iterator[bytes]:
    """The bytes as they come, cut off past max_bytes; never kept in memory whole or on disk."""
    sent = 0
    try:
        for chunk in itertools.chain([head], rest):
            sent += len(chunk)
            if sent > max_bytes:
                log.warning("media cut off: over %d bytes", max_bytes)
                return
            yield chunk
    finally:
        response.close()
