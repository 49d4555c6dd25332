"""`make run` / `make test` start a real Redis when none answers."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
import redis

from bot import devstack


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_it_starts_a_persistent_redis_when_none_answers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(devstack, "ROOT", tmp_path)
    url = f"redis://127.0.0.1:{free_port()}/0"
    assert not devstack.redis_answers(url)
    message = devstack.ensure_redis(url)
    client = redis.Redis.from_url(url)
    try:
        assert "started" in message and client.ping()
        assert client.config_get("appendonly")["appendonly"] == "yes"
        assert Path(client.config_get("dir")["dir"]) == tmp_path / "var" / "redis"
        assert devstack.ensure_redis(url).startswith("Redis answers")  # a second call starts nothing
    finally:
        client.shutdown(nosave=True)

