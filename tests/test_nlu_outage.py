"""When the NLU service is down, slow or talks nonsense, the bot still answers (keyword fallback)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from tests.conftest import Phone, RasaServer, rows

FAILURE_WORDS = ("erreur", "error", "panne", "indisponible", "unavailable", "technique")


def last_inbound(app: Any) -> tuple[Any, ...]:
    return tuple(rows(app, "SELECT intent, understood_by, needs_review, review_reason FROM messages "
                           "WHERE direction = 'in' ORDER BY id DESC LIMIT 1")[0])


def test_the_bot_keeps_answering_when_rasa_stops_mid_run(nlu_app: Any, rasa: RasaServer) -> None:
    phone = Phone(nlu_app)
    before = phone.text("c koi vos horaires")
    assert "Horaires" in before[0]
    assert last_inbound(nlu_app)[:3] == ("opening_hours", "nlu", False)
    rasa.stop()
    try:
        during = phone.text("c koi vos horaires svp")
        assert "Horaires" in during[0]
        assert not any(word in during[0].lower() for word in FAILURE_WORDS)
        assert last_inbound(nlu_app) == ("opening_hours", "fallback", True, "nlu_unavailable")
        talk = phone.text("jveux parler a qqn")
        assert "travailleur social" in talk[0]
        assert rows(nlu_app, "SELECT priority FROM cases")[0][0] == "normal"
    finally:
        rasa.start()
    phone.text("menu")
    phone.text("wanneer zijn jullie open")
    assert last_inbound(nlu_app)[1] == "nlu"


class _Handler(BaseHTTPRequestHandler):
    delay = 0.0
    answer = b"{}"

    def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        time.sleep(self.delay)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(self.answer)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def bad_nlu(request: pytest.FixtureRequest) -> Iterator[str]:
    delay, answer = request.param
    handler = type("H", (_Handler,), {"delay": delay, "answer": answer})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


@pytest.mark.parametrize("bad_nlu", [
    (3.0, b'{"intent": {"name": "opening_hours", "confidence": 0.99}}'),  # too slow
    (0.0, b"<html>502 Bad Gateway</html>"),  # not JSON
    (0.0, b'{"intent": {"name": "drop_tables", "confidence": 7}}'),  # not an intent we know
    (0.0, b'{"text": "no intent here"}'),  # missing fields
], indirect=True, ids=["slow", "not-json", "unknown-intent", "missing-intent"])
def test_a_slow_or_garbled_nlu_answer_falls_back_to_keywords(make_app: Any, bad_nlu: str) -> None:
    app = make_app(RASA_URL=bad_nlu, NLU_TIMEOUT=0.5)
    started = time.monotonic()
    replies = Phone(app).text("vous etes ouverts quand")
    assert time.monotonic() - started < 2.5
    assert "Horaires" in replies[0]
    assert last_inbound(app) == ("opening_hours", "fallback", True, "nlu_unavailable")


def test_menu_answers_never_call_the_nlu(make_app: Any, bad_nlu_counter: Any) -> None:
    url, calls = bad_nlu_counter
    phone = Phone(make_app(RASA_URL=url))
    for text in ["1", "deux", "MENU", "Horaires", "0", "NL", "drie"]:
        phone.text(text)
    assert calls == []


@pytest.fixture
def bad_nlu_counter() -> Iterator[tuple[str, list[str]]]:
    calls: list[str] = []

    class Counting(_Handler):
        def do_POST(self) -> None:  # noqa: N802
            calls.append(self.path)
            super().do_POST()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Counting)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}", calls
    server.shutdown()
