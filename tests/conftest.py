"""Shared fixtures: real Redis, real Rasa, SQLite (and PostgreSQL when TEST_DATABASE_URL is set).

Only Twilio's cloud is faked, by the app's own dev endpoint at /dev/twilio, which the real
twilio-python client is pointed at.

The flows: the app the fixtures build, `flows_dir` and the unit tests read FIXED_FLOWS
(tests/fixtures/flows/, a copy of flows/ frozen for the tests), so that an admin's edit of a text in
flows/ cannot break them. Only these read the live flows/ (ROOT / "flows"), on purpose:
- tests/test_flow_scenarios.py: the admins' own conversation tests (flows/tests/*.yml) on flows/;
- tests/test_flows_check.py: the shipped folder has no error, and its warm check is fast;
- tests/test_flows_loading.py, "the real flows" section: flows/ loads, routes every contract
  intent, opens cases for urgent and talk_to_someone, has only language keys in its texts;
- tests/test_workshops.py: the centre's sample workshops load with their texts, and the texts
  sent outside a conversation fit in three SMS;
- tests/test_named.py and tests/test_independent_eval.py (tests/named.py, tests/independent.py):
  the NLU evaluations, which measure the bot as shipped.
Refresh the copy (`cp flows/*.yml tests/fixtures/flows/`) when a test needs a new step or text.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import redis
import requests
from sqlalchemy import create_engine, text
from twilio.request_validator import RequestValidator
from werkzeug.serving import make_server

from bot import create_app
from bot.adapters import db

ROOT = Path(__file__).resolve().parent.parent
TEST_REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
RASA_TEST_PORT = int(os.environ.get("RASA_TEST_PORT", "5105"))
MODEL = ROOT / "nlu" / "models" / "relais.tar.gz"
FIXED_FLOWS = ROOT / "tests" / "fixtures" / "flows"  # not flows/, which the admins edit (see above)
PUBLIC = "https://relais.example.org"
BRUSSELS = ZoneInfo("Europe/Brussels")


def at(text_time: str) -> Callable[[], datetime]:
    """A fixed clock: at('2026-11-28 23:10') is Saturday 23:10 in Brussels."""
    moment = datetime.fromisoformat(text_time).replace(tzinfo=BRUSSELS)
    return lambda: moment


class Clock:
    """A settable clock for the app's services: the real time until a test sets it."""

    def __init__(self) -> None:
        self.moment: datetime | None = None

    def __call__(self) -> datetime:
        """The time the services read (Services.clock is a callable)."""
        return self.now

    @property
    def now(self) -> datetime:
        """The set moment, or the real time while none is set."""
        return self.moment or datetime.now(UTC)

    def set(self, moment: datetime | str) -> None:
        """Stop the clock at moment; a text ('2026-11-28 23:10') is read in Brussels."""
        self.moment = at(moment)() if isinstance(moment, str) else moment

    def advance(self, delta: timedelta) -> None:
        """Move the clock on by delta (from the real time if it was not set)."""
        self.moment = self.now + delta

    def monotonic(self) -> float:
        """The clock in seconds, for code that reads time.monotonic()."""
        return self.now.timestamp()


@pytest.fixture
def clock() -> Clock:
    """A settable clock; every app that make_app builds in the same test reads it."""
    return Clock()


def wait_for(predicate: Callable[[], Any], timeout: float = 10.0, every: float = 0.05) -> Any:
    """Poll predicate until it returns something truthy and return that; fail after timeout seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every)  # a poll interval, not a wait for something to happen
    raise AssertionError(f"condition not met within {timeout} s")


# --- databases ---------------------------------------------------------------------------

def _database_params() -> list[str]:
    return ["sqlite", "postgresql"] if os.environ.get("TEST_DATABASE_URL") else ["sqlite"]


def _fresh_postgres(url: str) -> str:
    engine = db.make_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    return url


@pytest.fixture(params=_database_params())
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A migrated, empty database: a SQLite file, or the PostgreSQL of TEST_DATABASE_URL."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'relais.db'}"
    else:
        url = _fresh_postgres(os.environ["TEST_DATABASE_URL"])
    db.upgrade(url)
    return url


# --- redis -------------------------------------------------------------------------------

@pytest.fixture
def redis_client() -> redis.Redis:
    """The test Redis database, emptied."""
    client = redis.Redis.from_url(TEST_REDIS_URL)
    client.flushdb()
    return client


# --- rasa --------------------------------------------------------------------------------

class RasaServer:
    """The real Rasa server with the trained model, which a test may stop and start again."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.process: subprocess.Popen[bytes] | None = None
        self.log = ROOT / "var" / "test-rasa.log"

    def start(self) -> None:
        """Start Rasa and wait until the model answers a parse."""
        assert MODEL.exists(), "no trained model: run `make nlu-train`"
        self.log.parent.mkdir(exist_ok=True)
        env = dict(os.environ, RASA_TELEMETRY_ENABLED="false")
        self.process = subprocess.Popen(
            [str(ROOT / ".venv-nlu" / "bin" / "rasa"), "run", "--enable-api", "--port", str(self.port),
             "--model", str(MODEL), "--cors", "*"],
            cwd=ROOT, env=env, stdout=self.log.open("ab"), stderr=subprocess.STDOUT,
            start_new_session=True)
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            assert self.process.poll() is None, f"Rasa exited; see {self.log}"
            try:
                answer = requests.post(f"{self.url}/model/parse", json={"text": "bonjour"}, timeout=2)
                if answer.ok and answer.json().get("intent"):
                    return
            except requests.RequestException:
                pass
            time.sleep(0.5)
        raise RuntimeError(f"Rasa did not answer within 180 s; see {self.log}")

    def stop(self) -> None:
        """Stop Rasa (the whole process group) and wait for it to be gone."""
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.process = None

    @property
    def running(self) -> bool:
        """True while the process lives."""
        return self.process is not None and self.process.poll() is None


@pytest.fixture(scope="session")
def rasa() -> Iterator[RasaServer]:
    """One Rasa server for the whole session."""
    server = RasaServer(RASA_TEST_PORT)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def rasa_up(rasa: RasaServer) -> RasaServer:
    """The Rasa server, started again if a previous test stopped it."""
    if not rasa.running:
        rasa.start()
    return rasa


# --- the app -----------------------------------------------------------------------------

def _test_config(database_url: str, **extra: Any) -> dict[str, Any]:
    config = {
        "TESTING": True,
        "DATABASE_URL": database_url,
        "REDIS_URL": TEST_REDIS_URL,
        "RASA_URL": "http://127.0.0.1:9",  # nothing listens: tests that need Rasa use rasa_up
        "NLU_TIMEOUT": 3.0,  # a loaded CI machine must not turn a slow parse into a fallback
        "NLU_CACHE_SIZE": 0,  # each test hears Rasa itself (tests/test_nlu_cache.py tests the cache)
        "PUBLIC_BASE_URL": PUBLIC,
        "FLOWS_DIR": FIXED_FLOWS,
        "DEV_MODE": True,
    }
    config.update(extra)
    return config


@pytest.fixture
def make_app(database_url: str, redis_client: redis.Redis, request: pytest.FixtureRequest) -> Callable[..., Any]:
    """Build an app on the test database and Redis, with config overrides.

    When the test asks for the `clock` fixture, the app's services read that clock.
    """
    def build(**extra: Any) -> Any:
        app = create_app(_test_config(database_url, **extra))
        if "clock" in request.fixturenames:
            app.extensions["relais.services"].clock = request.getfixturevalue("clock")
        return app
    return build


@pytest.fixture
def app(make_app: Callable[..., Any]) -> Any:
    """The app, with the NLU pointed at nothing (keyword fallback)."""
    return make_app()


@pytest.fixture
def nlu_app(make_app: Callable[..., Any], rasa_up: RasaServer) -> Any:
    """The app, with the real Rasa server."""
    return make_app(RASA_URL=rasa_up.url)


@pytest.fixture
def client(app: Any) -> Any:
    """A test client of the app."""
    return app.test_client()


@pytest.fixture
def runner(app: Any) -> Any:
    """A runner for the app's `flask` commands (Flask's test_cli_runner)."""
    return app.test_cli_runner()


def sign(app: Any, url: str, params: dict[str, str]) -> str:
    """The X-Twilio-Signature Twilio would send for params posted to url."""
    return RequestValidator(app.config["TWILIO_AUTH_TOKEN"]).compute_signature(url, params)


class Phone:
    """Texts the app through its real webhook with correctly signed requests."""

    def __init__(self, app: Any, address: str = "+32470000001") -> None:
        self.app, self.address = app, address
        self.client = app.test_client()
        self.count = 0

    def params(self, body: str, **extra: str) -> dict[str, str]:
        """Twilio's form fields for one message."""
        self.count += 1
        sid = f"SM{self.address[-6:].replace(':', '')}{self.count:04d}{time.time_ns() % 10**10}"
        params = {"MessageSid": sid, "AccountSid": self.app.config["TWILIO_ACCOUNT_SID"],
                  "From": self.address, "To": "+32460000000", "Body": body, "NumMedia": "0"}
        params.update(extra)
        return params

    def post(self, params: dict[str, str]) -> Any:
        """Post params, signed, to /twilio/inbound."""
        url = self.app.config["PUBLIC_BASE_URL"] + "/twilio/inbound"
        return self.client.post("/twilio/inbound", data=params,
                                headers={"X-Twilio-Signature": sign(self.app, url, params)})

    def text(self, body: str, **extra: str) -> list[str]:
        """Send body; return the bot's replies."""
        response = self.post(self.params(body, **extra))
        assert response.status_code == 200, response.get_data(as_text=True)
        assert response.mimetype == "text/xml"
        return replies_of(response.get_data(as_text=True))


def replies_of(xml: str) -> list[str]:
    """The <Message> texts of a TwiML answer."""
    import xml.etree.ElementTree as ET

    return [m.text or "" for m in ET.fromstring(xml).iter("Message")]


@pytest.fixture
def phone(app: Any) -> Phone:
    """A phone texting the app (NLU down: keyword fallback)."""
    return Phone(app)


# --- a live server, for the worker and the fake Twilio's callbacks -------------------------

class LiveServer:
    """The app served over real HTTP on 127.0.0.1, in a thread."""

    def __init__(self, app: Any, port: int) -> None:
        self.server = make_server("127.0.0.1", port, app, threaded=True)
        self.url = f"http://127.0.0.1:{port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        """Shut the server down."""
        self.server.shutdown()


@pytest.fixture
def live(make_app: Callable[..., Any]) -> Iterator[tuple[Any, LiveServer]]:
    """An app served on a real port, its PUBLIC_BASE_URL and Twilio base URL pointing at itself."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    app = make_app(PUBLIC_BASE_URL=base, TWILIO_API_BASE_URL=base + "/dev/twilio")
    server = LiveServer(app, port)
    yield app, server
    server.stop()


def worker_env(app: Any) -> dict[str, str]:
    """The environment an RQ worker process needs to work for app."""
    cfg = app.config
    env = {k: v for k, v in os.environ.items() if not k.startswith("TWILIO_")}
    env.update(DATABASE_URL=cfg["DATABASE_URL"], REDIS_URL=cfg["REDIS_URL"],
               PUBLIC_BASE_URL=cfg["PUBLIC_BASE_URL"], TWILIO_API_BASE_URL=cfg["TWILIO_API_BASE_URL"],
               RASA_URL=cfg["RASA_URL"], FLOWS_DIR=str(cfg["FLOWS_DIR"]))
    return env


def run_worker_burst(app: Any, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Run a real RQ worker in burst mode (it empties the queues, then exits)."""
    rq = shutil.which("rq", path=str(ROOT / ".venv" / "bin")) or "rq"
    return subprocess.run([rq, "worker", "--burst", "-w", "worker.main.RelaisWorker", "--url", app.config["REDIS_URL"],
                           "--serializer", "rq.serializers.JSONSerializer", "urgent", "default"],
                          cwd=ROOT, env=worker_env(app), capture_output=True, text=True, timeout=timeout)


def hold_thread(app: Any, phone: Phone, email: str) -> None:
    """Make phone's contact a thread a social worker holds (the bot goes silent)."""
    from sqlalchemy import update

    from bot.adapters.models import Contact, User

    with app.extensions["relais.services"].sessions() as session, session.begin():
        user = User(email=email, name=email.split("@")[0], password_hash="x")
        session.add(user)
        session.flush()
        session.execute(update(Contact).where(Contact.address == phone.address).values(owner_id=user.id))


def rows(app: Any, sql: str, **params: Any) -> list[Any]:
    """Run a read query on the app's database."""
    engine = create_engine(app.config["DATABASE_URL"].replace("postgresql://", "postgresql+psycopg://"))
    try:
        with engine.connect() as conn:
            return list(conn.execute(text(sql), params))
    finally:
        engine.dispose()


# --- the inbox: social workers' accounts ---------------------------------------------------

PASSWORD = "correct horse battery staple"


def make_user(app: Any, email: str = "ana@cpas.example", name: str = "Ana", role: str = "worker",
              password: str = PASSWORD) -> int:
    """Create an account as `flask --app bot users create` does; return its id."""
    from bot.web import auth

    with app.extensions["relais.services"].sessions() as session, session.begin():
        return int(auth.create_user(session, email, name, role, password).id)


def csrf_of(html: str) -> str:
    """The CSRF token of the first form in a page."""
    import re

    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "no CSRF token in the page"
    return match.group(1)


def log_in(client: Any, email: str = "ana@cpas.example", password: str = PASSWORD) -> Any:
    """Post the login form as a browser would (with its CSRF token); return the response."""
    token = csrf_of(client.get("/login").get_data(as_text=True))
    return client.post("/login", data={"email": email, "password": password, "csrf_token": token})


@pytest.fixture
def worker(app: Any) -> Any:
    """A test client logged in as the social worker Ana."""
    make_user(app)
    client = app.test_client()
    assert log_in(client).status_code == 302
    return client


# --- shared by several test files -----------------------------------------------------------

CHROMIUM = "/usr/bin/chromium"


@pytest.fixture
def flows_dir(tmp_path: Path) -> Path:
    """A private copy of the fixed flows folder, safe to edit."""
    return Path(shutil.copytree(FIXED_FLOWS, tmp_path / "flows"))


@pytest.fixture
def browser() -> Iterator[Any]:
    """Headless Chromium, the one Debian ships (never a downloaded browser)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        yield browser
        browser.close()
