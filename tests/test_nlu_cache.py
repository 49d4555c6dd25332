"""The NLU result cache: repeated texts are not sent to Rasa again (bot.adapters.nlu)."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

import pytest

import bot.adapters.nlu
from bot.adapters.nlu import NluClient, NluResult, ResultCache
from bot.core.errors import NluUnavailable
from tests.conftest import Clock, RasaServer


def test_a_repeated_text_is_answered_without_rasa(rasa_up: RasaServer) -> None:
    client = NluClient(rasa_up.url, timeout=5.0, cache_size=16)
    first = client.parse("c koi vos horaires")

    client.base_url = "http://127.0.0.1:9"  # Rasa is gone from now on
    again = client.parse("C koi  vos HORAIRES")  # case and spacing do not matter

    assert first.intent == "opening_hours"
    assert again == first
    with pytest.raises(NluUnavailable):
        client.parse("jveux parler a qqn")  # a new text still needs Rasa


def test_without_a_cache_every_text_goes_to_rasa(rasa_up: RasaServer) -> None:
    client = NluClient(rasa_up.url, timeout=5.0)
    client.parse("bonjour")
    client.base_url = "http://127.0.0.1:9"

    with pytest.raises(NluUnavailable):
        client.parse("bonjour")


def test_the_cache_forgets_the_least_recently_used_beyond_its_size() -> None:
    cache = ResultCache(size=2)
    for text in ("a", "b"):
        cache.put(text, NluResult("greet", 0.9))
    cache.get("a")  # "b" is now the least recently used
    cache.put("c", NluResult("help", 0.8))

    assert [cache.get(k) is not None for k in ("a", "b", "c")] == [True, False, True]


def test_a_cached_result_expires_after_its_ttl(clock: Clock, monkeypatch: pytest.MonkeyPatch) -> None:
    clock.set("2026-11-28 23:10")
    monkeypatch.setattr(bot.adapters.nlu, "time", SimpleNamespace(monotonic=clock.monotonic))  # the cache's clock
    cache = ResultCache(size=8, ttl=0.05)
    cache.put("bonjour", NluResult("greet", 0.9))
    assert cache.get("bonjour") == NluResult("greet", 0.9)

    clock.advance(timedelta(seconds=0.06))

    assert cache.get("bonjour") is None
