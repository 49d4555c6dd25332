"""Editing flows/ while the help line runs, as under `make run`: gunicorn with two workers.

A valid edit changes the answer within seconds in every worker, without a restart; a
broken edit is refused and the last good version keeps answering.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from twilio.request_validator import RequestValidator

from bot.adapters import db
from tests.conftest import FIXED_FLOWS, TEST_REDIS_URL, replies_of

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "live-reload-test-token"
HELP_FR = "Je suis le robot SMS {centre_de}."


class Gunicorn:
    """The web process of the Procfile, serving a private copy of flows/."""

    def __init__(self, tmp_path: Path) -> None:
        self.flows = Path(shutil.copytree(FIXED_FLOWS, tmp_path / "flows"))
        database = f"sqlite:///{tmp_path / 'relais.db'}"
        db.upgrade(database)
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        env = dict(os.environ, DATABASE_URL=database, REDIS_URL=TEST_REDIS_URL, FLOWS_DIR=str(self.flows),
                   TWILIO_ACCOUNT_SID="AC" + "0" * 32, TWILIO_AUTH_TOKEN=TOKEN, PUBLIC_BASE_URL=self.url,
                   RASA_URL="http://127.0.0.1:9", LOG_LEVEL="WARNING",
                   SECRET_KEY="live-reload-secret", PSEUDONYM_KEY="live-reload-pseudonyms")
        gunicorn = Path(sys.executable).parent / "gunicorn"
        self.process = subprocess.Popen(
            [str(gunicorn), "bot:create_app()", "--bind", f"127.0.0.1:{self.port}", "--workers", "2",
             "--threads", "2", "--timeout", "30"], cwd=ROOT, env=env,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if requests.get(self.url + "/healthz", timeout=1).status_code in (200, 503):
                    return
            except requests.RequestException:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError("gunicorn did not start")

    def text(self, body: str) -> list[str]:
        """A signed SMS from a new number each time (so any worker may answer it)."""
        params = {"MessageSid": f"SM{uuid.uuid4().hex}", "AccountSid": "AC" + "0" * 32,
                  "From": f"+3247{uuid.uuid4().int % 10**7:07d}", "To": "+32460000000", "Body": body,
                  "NumMedia": "0"}
        signature = RequestValidator(TOKEN).compute_signature(self.url + "/twilio/inbound", params)
        response = requests.post(self.url + "/twilio/inbound", data=params, timeout=10,
                              headers={"X-Twilio-Signature": signature})
        assert response.status_code == 200, response.text
        return replies_of(response.text)

    def stop(self) -> None:
        """Stop gunicorn and its workers."""
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Gunicorn]:
    running = Gunicorn(tmp_path)
    yield running
    running.stop()


def help_reply(server: Gunicorn) -> str:
    return "\n".join(server.text("aide"))


def edit_menu(server: Gunicorn, old: str, new: str) -> None:
    path = server.flows / "menu.yml"
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_a_valid_edit_answers_within_seconds_and_a_broken_one_is_refused(server: Gunicorn) -> None:
    assert "Je suis le robot SMS" in help_reply(server)

    edit_menu(server, HELP_FR, "Bonjour, je suis le nouveau robot {centre_de}.")
    started = time.monotonic()
    # within seconds every worker serves the new text: ten messages in a row, all new (each
    # worker reloads on its own cycle, so the first new answer does not mean the other has)
    while not all("nouveau robot" in help_reply(server) for _ in range(10)):
        assert time.monotonic() - started < 10, "the edit was not picked up by every worker within 10 s"
        time.sleep(0.3)

    edit_menu(server, "  help:\n    say:", "  help:\n    say: [broken")  # not YAML any more
    time.sleep(3)  # longer than the reload interval
    replies = [help_reply(server) for _ in range(10)]
    assert all("nouveau robot" in reply for reply in replies), replies
