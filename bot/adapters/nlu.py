"""The Rasa NLU service, over HTTP with a short timeout. The one place that talks to Rasa."""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass

import requests

from bot.adapters.metrics import NLU_CACHE_HITS
from bot.core.errors import NluUnavailable
from bot.core.spelling import Speller

log = logging.getLogger(__name__)

INTENTS = frozenset({
    "greet", "goodbye", "opening_hours", "admin_procedure", "workshop_signup",
    "workshop_cancel", "talk_to_someone", "urgent", "help", "stop", "out_of_scope",
    "nlu_fallback",
})


@dataclass(frozen=True)
class NluResult:
    """The intent Rasa found and its confidence, and the next best (for a close call)."""

    intent: str
    confidence: float
    runner_up: tuple[str, float] | None = None


class ResultCache:
    """The last results for texts seen again ("bonjour", "horaires?"), in this process only.

    Keyed on the text with case and spacing folded (Rasa's featurizers lowercase too). Only
    sound answers are kept, for `ttl` seconds, so a retrained model is heard from soon.
    Nothing leaves the process: texts are never copied into Redis or logs.
    """

    def __init__(self, size: int, ttl: float = 600.0) -> None:
        self.size, self.ttl = size, ttl
        self._items: OrderedDict[str, tuple[float, NluResult]] = OrderedDict()
        self._lock = threading.Lock()

    @staticmethod
    def key(text: str) -> str:
        """The text as the cache sees it."""
        return " ".join(text.casefold().split())

    def get(self, key: str) -> NluResult | None:
        """A fresh result for key, or None."""
        with self._lock:
            item = self._items.get(key)
            if item is None:
                return None
            if time.monotonic() - item[0] > self.ttl:
                del self._items[key]
                return None
            self._items.move_to_end(key)
            return item[1]

    def put(self, key: str, result: NluResult) -> None:
        """Keep result for key, forgetting the least recently used beyond size."""
        with self._lock:
            self._items[key] = (time.monotonic(), result)
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)


class NluClient:
    """Calls Rasa's POST /model/parse; raises NluUnavailable on anything but a sound answer."""

    def __init__(self, base_url: str, timeout: float, cache_size: int = 0,
                 speller: Speller | None = None) -> None:
        self.base_url, self.timeout = base_url.rstrip("/"), timeout
        self.speller = speller  # mends typos before parse: used by the pipeline (bot.services.pipeline.for_nlu)
        self.http = requests.Session()
        self.cache = ResultCache(cache_size) if cache_size > 0 else None

    def parse(self, text: str, message_id: str | None = None) -> NluResult:
        """Classify text; message_id lets Rasa's logs be joined to ours without the text."""
        key = ResultCache.key(text[:1000]) if self.cache else ""
        if self.cache and (cached := self.cache.get(key)) is not None:
            NLU_CACHE_HITS.inc()
            return cached
        result = self._parse(text, message_id)
        if self.cache:
            self.cache.put(key, result)
        return result

    def _parse(self, text: str, message_id: str | None) -> NluResult:
        try:
            response = self.http.post(f"{self.base_url}/model/parse",
                                      json={"text": text[:1000], "message_id": message_id},
                                      timeout=self.timeout)
            response.raise_for_status()
            answer = response.json()
            intent = answer["intent"]
            name, confidence = str(intent["name"]), float(intent["confidence"])
            ranking = [(str(r["name"]), float(r["confidence"])) for r in answer.get("intent_ranking") or []]
        except requests.Timeout as exc:
            raise NluUnavailable("timeout") from exc
        except requests.RequestException as exc:
            raise NluUnavailable(exc.__class__.__name__) from exc
        except (ValueError, KeyError, TypeError) as exc:
            raise NluUnavailable("malformed answer") from exc
        if name not in INTENTS or not 0.0 <= confidence <= 1.0:
            raise NluUnavailable("unknown intent or confidence")
        others = [r for r in ranking if r[0] != name and r[0] in INTENTS]
        return NluResult(name, confidence, others[0] if others else None)

    def ping(self) -> bool:
        """True when the Rasa server answers at all."""
        try:
            return self.http.get(f"{self.base_url}/", timeout=self.timeout).ok
        except requests.RequestException:
            return False
