"""The Rasa NLU service, over HTTP with a short timeout. The one place that talks to Rasa."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import requests

from bot.errors import NluUnavailable

log = logging.getLogger(__name__)

INTENTS = frozenset({
    "greet", "goodbye", "opening_hours", "admin_procedure", "workshop_signup",
    "workshop_cancel", "talk_to_someone", "urgent", "help", "stop", "out_of_scope",
    "nlu_fallback",
})


@dataclass(frozen=True)
class NluResult:
    """The intent Rasa found and its confidence."""

    intent: str
    confidence: float


class NluClient:
    """Calls Rasa's POST /model/parse; raises NluUnavailable on anything but a sound answer."""

    def __init__(self, base_url: str, timeout: float) -> None:
        self.base_url, self.timeout = base_url.rstrip("/"), timeout
        self.http = requests.Session()

    def parse(self, text: str, message_id: str | None = None) -> NluResult:
        """Classify text; message_id lets Rasa's logs be joined to ours without the text."""
        try:
            response = self.http.post(f"{self.base_url}/model/parse",
                                      json={"text": text[:1000], "message_id": message_id},
                                      timeout=self.timeout)
            response.raise_for_status()
            intent = response.json()["intent"]
            name, confidence = str(intent["name"]), float(intent["confidence"])
        except requests.Timeout as exc:
            raise NluUnavailable("timeout") from exc
        except requests.RequestException as exc:
            raise NluUnavailable(exc.__class__.__name__) from exc
        except (ValueError, KeyError, TypeError) as exc:
            raise NluUnavailable("malformed answer") from exc
        if name not in INTENTS or not 0.0 <= confidence <= 1.0:
            raise NluUnavailable("unknown intent or confidence")
        return NluResult(name, confidence)

    def ping(self) -> bool:
        """True when the Rasa server answers at all."""
        try:
            return self.http.get(f"{self.base_url}/", timeout=self.timeout).ok
        except requests.RequestException:
            return False
