"""Workshop sign-ups: seats in SQL under load, the waiting list, offers, cancellations, reminders.

Against the real database (SQLite, and PostgreSQL when TEST_DATABASE_URL is set), real
Redis and real RQ workers; only Twilio's cloud is the app's own fake at /dev/twilio.
Tests that need a real worker build their workshops around the real clock (the worker
reads it); the others pass a fixed clock to the effects.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml
from rq import Queue
from rq.serializers import JSONSerializer

from bot.adapters.models import Contact, Reminder, Signup
from bot.core.flows import Flows, load_flows
from bot.services import workshops
from bot.web.dev import SENT_KEY
from tests.conftest import (
    BRUSSELS,
    FIXED_FLOWS,
    ROOT,
    LiveServer,
    Phone,
    log_in,
    make_user,
    replies_of,
    rows,
    sign,
    worker_env,
)

THURSDAY_2PM = "thu-2pm"  # Thursday 3 December 2026, 14:00, 10 seats
THURSDAY_9AM = "thu-9am"  # the same day at 09:00, 10 seats
ONE_SEAT = "one-seat"  # Thursday 10 December 2026, 14:00, 1 seat
MONDAY = datetime(2026, 11, 30, 10, 0, tzinfo=BRUSSELS)


def workshop(title: str, day: date, at: str, seats: int) -> dict[str, Any]:
    """A workshop entry of flows/workshops.yml."""
    return {"title": {"fr": title, "nl": title, "en": title}, "date": day, "time": at,
            "place": {"fr": "Salle 2", "nl": "Zaal 2", "en": "Room 2"}, "seats": seats}


FIXED = {
    THURSDAY_2PM: workshop("Faire son CV", date(2026, 12, 3), "14:00-16:00", 10),
    THURSDAY_9AM: workshop("Budget", date(2026, 12, 3), "09:00-11:00", 10),
    ONE_SEAT: workshop("Logement", date(2026, 12, 10), "14:00-16:00", 1),
}


def flows_copy(target: Path, entries: dict[str, Any], quiet: str = "21:00-08:00",
               offer_hours: float = 12) -> Path:
    """The centre's flows with these workshops and settings instead of the sample ones."""
    target.mkdir(parents=True, exist_ok=True)
    for path in (FIXED_FLOWS).glob("*.yml"):
        shutil.copy(path, target / path.name)
    doc = yaml.safe_load((target / "workshops.yml").read_text(encoding="utf-8"))
    doc["workshops"] = entries
    doc["workshop_settings"] = {"offer_hours": offer_hours, "quiet_hours": quiet}
    (target / "workshops.yml").write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False),
                                          encoding="utf-8")
    return target


def local(text: str) -> datetime:
    """'2026-12-02 14:00' in Brussels."""
    return datetime.fromisoformat(text).replace(tzinfo=BRUSSELS)


# --- the quiet-hours rule (pure) ---------------------------------------------------------------

@pytest.fixture(scope="module")
def fixed_flows(tmp_path_factory: pytest.TempPathFactory) -> Flows:
    return load_flows(flows_copy(tmp_path_factory.mktemp("flows"), FIXED))


def test_a_thursday_2pm_workshop_is_recalled_wednesday_2pm_and_thursday_noon(fixed_flows: Flows) -> None:
    due = workshops.reminder_times(fixed_flows.workshops[THURSDAY_2PM], fixed_flows)
    assert due == {"day_before": local("2026-12-02 14:00"), "two_hours": local("2026-12-03 12:00")}


def test_the_two_hours_reminder_of_a_9am_workshop_moves_before_the_quiet_hours(fixed_flows: Flows) -> None:
    due = workshops.reminder_times(fixed_flows.workshops[THURSDAY_9AM], fixed_flows)
    assert due == {"day_before": local("2026-12-02 09:00"), "two_hours": local("2026-12-02 20:30")}


def test_no_reminder_is_ever_due_in_or_near_the_quiet_hours(tmp_path: Path) -> None:
    entries = {f"w-{h:02d}{m:02d}": workshop("W", date(2026, 12, 3), f"{h:02d}:{m:02d}", 5)
               for h in range(24) for m in (0, 15, 45)}
    flows = load_flows(flows_copy(tmp_path, entries))
    for key, item in flows.workshops.items():
        start = workshops.starts_at(item, flows)
        for kind, due in workshops.reminder_times(item, flows).items():
            assert due is not None and due < start, (key, kind)
            assert not workshops.is_quiet(due, flows), (key, kind, due)
            assert not workshops.is_quiet(due + timedelta(minutes=29), flows), (key, kind, due)


def test_two_reminders_that_end_up_close_together_are_sent_as_one(tmp_path: Path) -> None:
    flows = load_flows(flows_copy(tmp_path, FIXED, quiet="10:00-08:00"))  # texts only 08:00-09:30
    due = workshops.reminder_times(flows.workshops[THURSDAY_9AM], flows)
    assert due == {"day_before": None, "two_hours": local("2026-12-02 09:30")}


def test_an_offer_during_the_quiet_hours_waits_for_their_end(fixed_flows: Flows) -> None:
    assert workshops.after_quiet(local("2026-12-01 22:30"), fixed_flows) == local("2026-12-02 08:00")
    assert workshops.after_quiet(local("2026-12-02 06:10"), fixed_flows) == local("2026-12-02 08:00")
    assert workshops.after_quiet(local("2026-12-02 08:00"), fixed_flows) == local("2026-12-02 08:00")
    assert workshops.after_quiet(local("2026-12-02 20:59"), fixed_flows) == local("2026-12-02 20:59")


# --- the actions, on the real database with a fixed clock ---------------------------------------

class Scheduled(list):  # type: ignore[type-arg]
    """An EnqueueAt that remembers what it was asked to schedule."""

    def __call__(self, reminder_id: int, due: datetime) -> None:
        self.append((reminder_id, due))


@pytest.fixture
def fixed_app(make_app: Callable[..., Any], tmp_path: Path) -> Any:
    return make_app(FLOWS_DIR=flows_copy(tmp_path / "flows", FIXED))


class People:
    """Contacts and their workshop actions, straight on the effects (no conversation)."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.services = app.extensions["relais.services"]
        self.flows: Flows = self.services.flows()
        self.scheduled = Scheduled()
        self.count = 0

    def new(self, lang: str = "fr", opted_out: bool = False) -> int:
        self.count += 1
        with self.services.sessions() as session, session.begin():
            contact = Contact(address=f"+3247080{self.count:04d}", channel="sms", pseudonym=f"p{self.count}",
                              language=lang, opted_out=opted_out)
            session.add(contact)
            session.flush()
            return int(contact.id)

    def effects(self, contact_id: int) -> workshops.WorkshopEffects:
        return workshops.WorkshopEffects(self.services.sessions, self.flows, contact_id, self.scheduled)

    def do(self, contact_id: int, action: str, now: datetime, key: str | None = None) -> Any:
        return self.effects(contact_id).run(action, {"workshop": key} if key else {}, now)

    def status(self, contact_id: int, key: str) -> str:
        return str(rows(self.app, "SELECT status FROM signups WHERE contact_id = :c AND workshop_key = :k",
                        c=contact_id, k=key)[0][0])

    def reminders(self, contact_id: int) -> dict[str, tuple[str, datetime]]:
        with self.services.sessions() as session:
            found = session.query(Reminder).join(Signup, Signup.id == Reminder.signup_id).filter(
                Signup.contact_id == contact_id).all()
            return {r.kind: (r.status, r.due_at) for r in found}

    def reminder_id(self, contact_id: int, kind: str) -> int:
        return int(rows(self.app, "SELECT r.id FROM reminders r JOIN signups s ON s.id = r.signup_id "
                                  "WHERE s.contact_id = :c AND r.kind = :k", c=contact_id, k=kind)[0][0])

    def run(self, reminder_id: int, now: datetime) -> workshops.Ran:
        return workshops.run_reminder(self.services.sessions, self.flows, reminder_id, now)


@pytest.fixture
def people(fixed_app: Any) -> People:
    return People(fixed_app)


def taken(app: Any, key: str) -> int:
    return int(rows(app, "SELECT taken FROM workshops WHERE key = :k", k=key)[0][0])


def test_a_confirmed_place_gets_both_reminders_at_the_right_times(people: People) -> None:
    person = people.new()
    result = people.do(person, "signup", MONDAY, THURSDAY_2PM)
    assert (result.result, result.values["workshop"]) == ("confirmed", THURSDAY_2PM)
    reminders = people.reminders(person)
    assert reminders == {"day_before": ("scheduled", local("2026-12-02 14:00")),
                         "two_hours": ("scheduled", local("2026-12-03 12:00"))}
    assert sorted(due for _, due in people.scheduled) == [local("2026-12-02 14:00"), local("2026-12-03 12:00")]
    assert taken(people.app, THURSDAY_2PM) == 1


def test_a_reminder_already_due_when_signing_up_is_skipped(people: People) -> None:
    person = people.new()
    assert people.do(person, "signup", local("2026-12-02 21:00"), THURSDAY_2PM).result == "confirmed"
    reminders = people.reminders(person)
    assert reminders["day_before"][0] == "skipped"
    assert reminders["two_hours"] == ("scheduled", local("2026-12-03 12:00"))
    assert [due for _, due in people.scheduled] == [local("2026-12-03 12:00")]


def test_signing_up_twice_says_already(people: People) -> None:
    person = people.new()
    assert people.do(person, "signup", MONDAY, THURSDAY_2PM).result == "confirmed"
    assert people.do(person, "signup", MONDAY, THURSDAY_2PM).result == "already"
    assert taken(people.app, THURSDAY_2PM) == 1


def test_the_same_person_signing_up_twice_at_once_gets_one_place(people: People) -> None:
    person = people.new()
    barrier, results = threading.Barrier(4), []

    def sign_up() -> None:
        barrier.wait()
        results.append(people.do(person, "signup", MONDAY, THURSDAY_2PM).result)

    threads = [threading.Thread(target=sign_up) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == ["already"] * 3 + ["confirmed"]
    assert taken(people.app, THURSDAY_2PM) == 1
    assert rows(people.app, "SELECT COUNT(*) FROM signups")[0][0] == 1


def test_a_past_workshop_or_an_unknown_key_is_refused(people: People) -> None:
    person = people.new()
    assert people.do(person, "signup", local("2026-12-03 14:00"), THURSDAY_2PM).result == "past"
    assert people.do(person, "signup", MONDAY, "no-such-workshop").result == "unknown"
    assert people.do(person, "signup", MONDAY).result == "unknown"
    assert rows(people.app, "SELECT COUNT(*) FROM signups")[0][0] == 0


def test_cancelling_with_nothing_to_cancel_gives_none(people: People) -> None:
    person = people.new()
    assert people.do(person, "cancel", MONDAY).result == "none"
    assert people.do(person, "accept_offer", MONDAY).result == "none"


def test_cancelling_frees_the_seat_and_skips_the_reminders(people: People) -> None:
    person = people.new()
    people.do(person, "signup", MONDAY, THURSDAY_2PM)
    result = people.do(person, "cancel", MONDAY)  # no workshop in the data: their only sign-up
    assert (result.result, result.values) == ("cancelled", {"workshop": THURSDAY_2PM})
    assert people.status(person, THURSDAY_2PM) == "cancelled"
    assert {status for status, _ in people.reminders(person).values()} == {"skipped"}
    assert taken(people.app, THURSDAY_2PM) == 0
    again = people.do(person, "signup", MONDAY + timedelta(hours=1), THURSDAY_2PM)
    assert again.result == "confirmed"  # back in: the same row, reminders planned again
    assert {status for status, _ in people.reminders(person).values()} == {"scheduled"}


def test_a_full_workshop_puts_people_on_the_waiting_list_in_order(people: People) -> None:
    first, second, third = people.new(), people.new(), people.new()
    assert people.do(first, "signup", MONDAY, ONE_SEAT).result == "confirmed"
    waiting = people.do(second, "signup", MONDAY + timedelta(minutes=1), ONE_SEAT)
    assert (waiting.result, waiting.values["position"]) == ("waiting", "1")
    assert people.do(third, "signup", MONDAY + timedelta(minutes=2), ONE_SEAT).values["position"] == "2"
    assert people.reminders(second) == {}  # no reminder while waiting


def test_a_freed_seat_is_offered_to_the_first_waiting_who_accepts_it(people: People) -> None:
    first, second, third = people.new(), people.new("nl"), people.new()
    people.do(first, "signup", MONDAY, ONE_SEAT)
    people.do(second, "signup", MONDAY + timedelta(minutes=1), ONE_SEAT)
    people.do(third, "signup", MONDAY + timedelta(minutes=2), ONE_SEAT)
    people.scheduled.clear()
    people.do(first, "cancel", MONDAY + timedelta(hours=1), ONE_SEAT)
    assert people.status(second, ONE_SEAT) == "offered"
    assert people.status(third, ONE_SEAT) == "waiting"
    assert taken(people.app, ONE_SEAT) == 1  # an offered seat stays taken
    offer = people.reminders(second)
    assert offer["offer"] == ("scheduled", MONDAY + timedelta(hours=1))
    assert offer["offer_expiry"] == ("scheduled", MONDAY + timedelta(hours=13))
    assert sorted(due for _, due in people.scheduled) == [MONDAY + timedelta(hours=1), MONDAY + timedelta(hours=13)]
    ran = people.run(people.reminder_id(second, "offer"), MONDAY + timedelta(hours=1))
    assert ran.outcome == "sent"
    body = rows(people.app, "SELECT body, status, source FROM messages WHERE id = :i", i=ran.message_id)[0]
    assert body[1:] == ("queued", "system")
    assert "Antwoord JA voor vandaag om 23u" in body[0] and "Logement" in body[0]  # their language
    accepted = people.do(second, "accept_offer", MONDAY + timedelta(hours=2))
    assert (accepted.result, accepted.values) == ("accepted", {"workshop": ONE_SEAT})
    assert people.status(second, ONE_SEAT) == "confirmed"
    reminders = people.reminders(second)
    assert reminders["offer_expiry"][0] == "skipped"
    assert reminders["day_before"] == ("scheduled", local("2026-12-09 14:00"))
    assert taken(people.app, ONE_SEAT) == 1


def test_an_unanswered_offer_expires_and_the_seat_goes_to_the_next(people: People) -> None:
    first, second, third = people.new(), people.new(), people.new()
    for minute, person in enumerate((first, second, third)):
        people.do(person, "signup", MONDAY + timedelta(minutes=minute), ONE_SEAT)
    people.do(first, "cancel", MONDAY + timedelta(hours=1))
    expiry = people.reminder_id(second, "offer_expiry")
    assert people.run(expiry, MONDAY + timedelta(hours=2)).outcome == "not due yet"
    deadline = MONDAY + timedelta(hours=13)  # 23:00: the next offer waits for the morning
    ran = people.run(expiry, deadline)
    assert ran.outcome == "offer expired"
    assert people.status(second, ONE_SEAT) == "expired"
    assert people.status(third, ONE_SEAT) == "offered"
    morning = local("2026-12-01 08:00")
    assert people.reminders(third)["offer"] == ("scheduled", morning)
    assert people.reminders(third)["offer_expiry"] == ("scheduled", morning + timedelta(hours=12))
    notice = people.reminders(second)["offer_expired"]
    assert notice == ("scheduled", morning)  # told in the morning, not at 23:00
    assert sorted(due for _, due in ran.planned) == [morning, morning, morning + timedelta(hours=12)]
    assert people.run(expiry, deadline).outcome.startswith("nothing to do")  # a second run: nothing
    late = people.do(second, "accept_offer", deadline + timedelta(hours=1))
    assert (late.result, late.values) == ("expired", {"workshop": ONE_SEAT})
    assert taken(people.app, ONE_SEAT) == 1


def test_answering_after_the_deadline_before_the_job_ran_still_passes_the_seat(people: People) -> None:
    first, second, third = people.new(), people.new(), people.new()
    for minute, person in enumerate((first, second, third)):
        people.do(person, "signup", MONDAY + timedelta(minutes=minute), ONE_SEAT)
    people.do(first, "cancel", MONDAY + timedelta(hours=1))
    answer = people.do(second, "accept_offer", MONDAY + timedelta(hours=14))
    assert answer.result == "expired"
    assert people.status(second, ONE_SEAT) == "expired"
    assert people.status(third, ONE_SEAT) == "offered"
    assert "offer_expired" not in people.reminders(second)  # told in the conversation already


def test_an_offer_never_outlasts_the_workshop_start(people: People) -> None:
    first, second = people.new(), people.new()
    people.do(first, "signup", MONDAY, ONE_SEAT)
    people.do(second, "signup", MONDAY, ONE_SEAT)
    people.do(first, "cancel", local("2026-12-10 11:00"))
    assert people.reminders(second)["offer_expiry"] == ("scheduled", local("2026-12-10 14:00"))


def test_a_seat_freed_at_night_is_offered_at_the_end_of_the_quiet_hours(people: People) -> None:
    first, second = people.new(), people.new()
    people.do(first, "signup", MONDAY, ONE_SEAT)
    people.do(second, "signup", MONDAY, ONE_SEAT)
    people.do(first, "cancel", local("2026-12-01 22:30"))
    reminders = people.reminders(second)
    assert reminders["offer"] == ("scheduled", local("2026-12-02 08:00"))
    assert reminders["offer_expiry"] == ("scheduled", local("2026-12-02 20:00"))  # counted from 08:00


def test_a_job_that_runs_during_the_quiet_hours_waits_for_the_morning(people: People) -> None:
    person = people.new()
    people.do(person, "signup", MONDAY, THURSDAY_2PM)
    reminder = people.reminder_id(person, "day_before")
    ran = people.run(reminder, local("2026-12-02 23:30"))  # a worker that was down all evening
    assert ran.outcome == "postponed (quiet hours)"
    assert ran.planned == ((reminder, local("2026-12-03 08:00")),)
    assert people.reminders(person)["day_before"] == ("scheduled", local("2026-12-03 08:00"))
    assert people.run(reminder, local("2026-12-03 08:00")).outcome == "sent"


def test_a_person_who_texted_stop_is_passed_over_for_offers(people: People) -> None:
    first, stopped, third = people.new(), people.new(opted_out=True), people.new()
    for minute, person in enumerate((first, stopped, third)):
        people.do(person, "signup", MONDAY + timedelta(minutes=minute), ONE_SEAT)
    people.do(first, "cancel", MONDAY + timedelta(hours=1))
    assert people.status(stopped, ONE_SEAT) == "waiting"
    assert people.status(third, ONE_SEAT) == "offered"


def test_more_seats_in_the_yaml_go_to_the_people_waiting(people: People, tmp_path: Path) -> None:
    first, second, third = people.new(), people.new(), people.new()
    for minute, person in enumerate((first, second, third)):
        people.do(person, "signup", MONDAY + timedelta(minutes=minute), ONE_SEAT)
    bigger = dict(FIXED, **{ONE_SEAT: workshop("Logement", date(2026, 12, 10), "14:00-16:00", 2)})
    people.flows = load_flows(flows_copy(tmp_path / "bigger", bigger))
    with people.services.sessions() as session:
        planned = workshops.ensure_workshop(session, people.flows.workshops[ONE_SEAT], people.flows,
                                            MONDAY + timedelta(hours=1))
    assert len(planned) == 2  # the offer and its expiry
    assert [people.status(p, ONE_SEAT) for p in (first, second, third)] == ["confirmed", "offered", "waiting"]
    assert rows(people.app, "SELECT seats, taken FROM workshops WHERE key = :k", k=ONE_SEAT) == [(2, 2)]


def test_a_reminder_job_sends_once_even_when_run_twice(people: People) -> None:
    person = people.new("en")
    people.do(person, "signup", MONDAY, THURSDAY_2PM)
    reminder = people.reminder_id(person, "two_hours")
    first = people.run(reminder, local("2026-12-03 12:00"))
    second = people.run(reminder, local("2026-12-03 12:01"))
    assert first.outcome == "sent" and second.outcome.startswith("nothing to do")
    bodies = rows(people.app, "SELECT body FROM messages WHERE contact_id = :c", c=person)
    assert len(bodies) == 1 and bodies[0][0].startswith("Last reminder: workshop Faire son CV")
    assert rows(people.app, "SELECT status, message_id FROM reminders WHERE id = :i", i=reminder) == [
        ("sent", first.message_id)]


def test_the_list_of_my_sign_ups_is_soonest_first(people: People) -> None:
    person = people.new()
    people.do(person, "signup", MONDAY, ONE_SEAT)
    people.do(person, "signup", MONDAY, THURSDAY_2PM)
    assert people.effects(person).signups(MONDAY) == [THURSDAY_2PM, ONE_SEAT]
    assert people.effects(person).signups(local("2026-12-05 10:00")) == [ONE_SEAT]
    assert people.do(person, "cancel", MONDAY).result == "none"  # two of them: the flow asks which


# --- the conversation, through the signed webhook -------------------------------------------

@pytest.fixture
def chat(fixed_app: Any, clock: Any) -> Callable[[str], Phone]:
    clock.set(MONDAY)

    def phone(number: str) -> Phone:
        return Phone(fixed_app, number)

    return phone


def test_a_person_signs_up_by_sms_and_cancels(chat: Callable[[str], Phone]) -> None:
    phone = chat("+32470900001")
    listing = phone.text("atelier")[0]
    assert "1 Budget - jeudi 3 décembre, 9h" in listing and "2 Faire son CV - jeudi 3 décembre, 14h" in listing
    assert "Répondez OUI pour vous inscrire" in phone.text("2")[0]
    confirmed = phone.text("oui")[0]
    assert confirmed.startswith("C'est noté : Faire son CV, jeudi 3 décembre, 14h, Salle 2.")
    cancelled = phone.text("ANNULER")[0]
    assert cancelled.startswith("C'est annulé : Faire son CV, jeudi 3 décembre, 14h.")
    assert "pas d'inscription à annuler" in phone.text("annuler")[0]


def test_with_two_sign_ups_annuler_asks_which(chat: Callable[[str], Phone], fixed_app: Any) -> None:
    phone = chat("+32470900002")
    for pick in ("1", "2"):
        phone.text("atelier")
        phone.text(pick)
        phone.text("oui")
    phone.text("menu")  # the state forgets the last pick
    which = phone.text("annuler")[0]
    assert "Quelle inscription" in which
    assert "1 Budget" in which and "2 Faire son CV" in which
    assert phone.text("2")[0].startswith("C'est annulé : Faire son CV")
    statuses = dict(rows(fixed_app, "SELECT workshop_key, status FROM signups"))
    assert statuses == {THURSDAY_9AM: "confirmed", THURSDAY_2PM: "cancelled"}


def test_the_simulator_signs_up_in_its_scratch_database(fixed_app: Any) -> None:
    lines = "atelier\n2\noui\n"
    with fixed_app.app_context():
        result = fixed_app.test_cli_runner().invoke(
            args=["simulate", "--json", "-", "--same-contact", "--at", "2026-11-30 10:00"], input=lines)
    assert result.exit_code == 0, result.output
    answers = [json.loads(line) for line in result.output.splitlines()]
    assert answers[-1]["replies"][0].startswith("C'est noté : Faire son CV")
    assert rows(fixed_app, "SELECT COUNT(*) FROM signups")[0][0] == 0  # the real database is untouched


# --- real time: a live server, real workers ------------------------------------------------------

def around_now(days: int = 4, at: str = "14:00-16:00", seats: int = 10, title: str = "Atelier test") -> dict[str, Any]:
    """A workshop some days from the real today."""
    day = datetime.now(BRUSSELS).date() + timedelta(days=days)
    return workshop(title, day, at, seats)


def quiet_away_from_now() -> str:
    """Quiet hours that hold neither the real now nor the next or last 20 hours."""
    start = datetime.now(BRUSSELS) + timedelta(hours=2)
    return f"{start:%H:%M}-{start + timedelta(hours=1):%H:%M}"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def live_app(make_app: Callable[..., Any], tmp_path: Path) -> Iterator[tuple[Any, LiveServer]]:
    """An app on a real port with one 10-seat workshop four days from now and harmless quiet hours."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    flows_dir = flows_copy(tmp_path / "flows", {"test-10": around_now()}, quiet=quiet_away_from_now())
    app = make_app(PUBLIC_BASE_URL=base, TWILIO_API_BASE_URL=base + "/dev/twilio", FLOWS_DIR=flows_dir)
    server = LiveServer(app, port)
    yield app, server
    server.stop()


def run_worker(app: Any, timeout: float = 90) -> subprocess.CompletedProcess[str]:
    """A real RQ worker in burst mode with its scheduler, as the Procfile starts it."""
    return subprocess.run([str(ROOT / ".venv" / "bin" / "rq"), "worker", "--burst", "--with-scheduler",
                           "-w", "worker.main.RelaisWorker", "--url", app.config["REDIS_URL"],
                           "--serializer", "rq.serializers.JSONSerializer", "urgent", "default"],
                          cwd=ROOT, env=worker_env(app), capture_output=True, text=True, timeout=timeout)


def sms_to(redis_client: Any, number: str) -> list[str]:
    return [m["body"] for m in (json.loads(r) for r in redis_client.lrange(SENT_KEY, 0, -1)) if m["to"] == number]


def post_at_once(app: Any, server: LiveServer, phones: list[Phone], body: str) -> list[list[str]]:
    """Every phone sends body at the same moment, over real HTTP to the threaded live server."""
    barrier = threading.Barrier(len(phones))
    answers: list[list[str]] = [[] for _ in phones]
    errors: list[BaseException] = []
    url = app.config["PUBLIC_BASE_URL"] + "/twilio/inbound"

    def send(index: int, phone: Phone) -> None:
        params = phone.params(body)
        headers = {"X-Twilio-Signature": sign(app, url, params)}
        try:
            barrier.wait()
            response = requests.post(server.url + "/twilio/inbound", data=params, headers=headers, timeout=60)
            assert response.status_code == 200, response.text
            answers[index] = replies_of(response.text)
        except BaseException as exc:  # noqa: BLE001 - reported below, in the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=send, args=(i, p)) for i, p in enumerate(phones)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    return answers


@pytest.mark.slow
def test_30_people_at_once_for_10_seats_then_a_cancellation_offers_the_seat(
        live_app: tuple[Any, LiveServer], redis_client: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    app, server = live_app
    phones = [Phone(app, f"+3247091{i:04d}") for i in range(30)]
    for phone in phones:
        assert "1 Atelier test" in phone.text("atelier")[0]
        assert "Répondez OUI pour vous inscrire" in phone.text("1")[0]
    inside, most, lock = [0], [0], threading.Lock()
    real_run = workshops.WorkshopEffects.run

    def counted(self: workshops.WorkshopEffects, *args: Any) -> Any:
        with lock:
            inside[0] += 1
            most[0] = max(most[0], inside[0])
        try:
            return real_run(self, *args)
        finally:
            with lock:
                inside[0] -= 1

    monkeypatch.setattr(workshops.WorkshopEffects, "run", counted)
    answers = post_at_once(app, server, phones, "oui")
    monkeypatch.undo()
    assert most[0] >= 5, f"only {most[0]} sign-ups ran at the same time"
    confirmed = [p for p, a in zip(phones, answers, strict=True) if a[0].startswith("C'est noté")]
    waiting = [p for p, a in zip(phones, answers, strict=True) if "liste d'attente" in a[0]]
    assert (len(confirmed), len(waiting)) == (10, 20)
    assert rows(app, "SELECT status, COUNT(*) FROM signups GROUP BY status ORDER BY status") == [
        ("confirmed", 10), ("waiting", 20)]
    assert taken(app, "test-10") == 10

    first_in_line = rows(app, "SELECT c.address FROM signups s JOIN contacts c ON c.id = s.contact_id "
                              "WHERE s.status = 'waiting' ORDER BY s.waiting_since, s.id LIMIT 1")[0][0]
    assert confirmed[0].text("ANNULER")[0].startswith("C'est annulé : Atelier test")
    statuses = dict(rows(app, "SELECT c.address, s.status FROM signups s JOIN contacts c ON c.id = s.contact_id"))
    assert statuses[first_in_line] == "offered"
    assert statuses[confirmed[0].address] == "cancelled"
    assert list(statuses.values()).count("waiting") == 19
    assert taken(app, "test-10") == 10

    lucky = next(p for p in phones if p.address == first_in_line)
    lucky.text("atelier")
    assert "Répondez OUI pour vous inscrire" in lucky.text("1")[0]  # a yes/no question left open
    worker = run_worker(app)
    assert worker.returncode == 0, worker.stderr[-3000:]
    offer = sms_to(redis_client, first_in_line)
    assert len(offer) == 1 and "une place s'est libérée" in offer[0] and "Répondez OUI avant" in offer[0]
    assert lucky.text("oui")[0].startswith("C'est noté : Atelier test")  # the offer's answer
    assert rows(app, "SELECT COUNT(*) FROM signups WHERE status = 'confirmed'")[0][0] == 10
    assert taken(app, "test-10") == 10


def _signed_up(app: Any, redis_client: Any, number: str = "+32470920001") -> tuple[int, int, int]:
    """One person confirmed through the real app (reminders really scheduled in RQ)."""
    phone = Phone(app, number)
    phone.text("atelier")
    phone.text("1")
    assert phone.text("oui")[0].startswith("C'est noté")
    ids = dict(rows(app, "SELECT kind, id FROM reminders"))
    queue = Queue("default", connection=redis_client, serializer=JSONSerializer)
    assert len(queue.scheduled_job_registry.get_job_ids()) == 2  # both reminders wait in RQ
    contact = rows(app, "SELECT id FROM contacts WHERE address = :a", a=number)[0][0]
    return ids["day_before"], ids["two_hours"], contact


def _make_due(app: Any, reminder_id: int) -> datetime:
    past = datetime.now(UTC) - timedelta(minutes=5)
    with app.extensions["relais.services"].sessions() as session, session.begin():
        reminder = session.get(Reminder, reminder_id)
        reminder.due_at = past
    return past


@pytest.mark.slow
def test_a_due_reminder_is_sent_once_by_a_real_worker_even_when_its_job_runs_twice(
        live_app: tuple[Any, LiveServer], redis_client: Any) -> None:
    app, _server = live_app
    day_before, two_hours, contact = _signed_up(app, redis_client)
    due = _make_due(app, day_before)
    queue = Queue("default", connection=redis_client, serializer=JSONSerializer)
    workshops.enqueue_reminder(redis_client, day_before, due)
    queue.enqueue(workshops.JOB, day_before)  # the same job a second time, under another id
    worker = run_worker(app)
    assert worker.returncode == 0, worker.stderr[-3000:]
    texts = sms_to(redis_client, "+32470920001")
    assert len(texts) == 1 and texts[0].startswith("Rappel : atelier Atelier test")
    assert rows(app, "SELECT status FROM reminders WHERE id = :i", i=day_before)[0][0] == "sent"
    assert rows(app, "SELECT status FROM reminders WHERE id = :i", i=two_hours)[0][0] == "scheduled"
    queue.enqueue(workshops.JOB, day_before)
    run_worker(app)
    assert len(sms_to(redis_client, "+32470920001")) == 1
    assert rows(app, "SELECT COUNT(*) FROM messages WHERE contact_id = :c AND source = 'system'",
                c=contact)[0][0] == 1


@pytest.mark.slow
def test_the_sweeper_re_enqueues_a_reminder_whose_job_vanished(
        live_app: tuple[Any, LiveServer], redis_client: Any) -> None:
    app, _server = live_app
    day_before, two_hours, _contact = _signed_up(app, redis_client, "+32470920002")
    _make_due(app, day_before)
    queue = Queue("default", connection=redis_client, serializer=JSONSerializer)
    for job_id in queue.scheduled_job_registry.get_job_ids():  # Redis lost the scheduled jobs
        queue.scheduled_job_registry.remove(job_id, delete_job=True)
    assert run_worker(app).returncode == 0
    assert sms_to(redis_client, "+32470920002") == []  # nothing left to run it
    sweep = subprocess.run([str(ROOT / ".venv" / "bin" / "flask"), "--app", "bot", "sweep"], cwd=ROOT,
                           env=worker_env(app), capture_output=True, text=True, timeout=60)
    assert sweep.returncode == 0, sweep.stderr
    assert ", 2 reminders" in sweep.stdout, sweep.stdout  # the due one and the later one
    assert len(queue.scheduled_job_registry.get_job_ids()) == 1  # the later one waits for its time
    assert run_worker(app).returncode == 0
    assert len(sms_to(redis_client, "+32470920002")) == 1
    assert rows(app, "SELECT status FROM reminders WHERE id = :i", i=two_hours)[0][0] == "scheduled"
    again = subprocess.run([str(ROOT / ".venv" / "bin" / "flask"), "--app", "bot", "sweep"], cwd=ROOT,
                           env=worker_env(app), capture_output=True, text=True, timeout=60)
    assert ", 0 reminders" in again.stdout, again.stdout  # nothing lost any more


# --- the staff pages -----------------------------------------------------------------------------

def test_the_workshop_pages_need_a_login(fixed_app: Any) -> None:
    client = fixed_app.test_client()
    for url in ("/inbox/workshops", f"/inbox/workshops/{THURSDAY_2PM}"):
        response = client.get(url)
        assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_staff_see_the_workshops_and_who_is_signed_up_in_order(people: People) -> None:
    app = people.app
    first, second, third, fourth = people.new(), people.new("nl"), people.new(), people.new("en")
    for minute, person in enumerate((first, second, third, fourth)):
        people.do(person, "signup", MONDAY + timedelta(minutes=minute), ONE_SEAT)
    people.do(first, "cancel", MONDAY + timedelta(hours=1))  # second: offered; third, fourth: waiting
    user_id = make_user(app)
    client = app.test_client()
    assert log_in(client).status_code == 302
    import re

    from bot.web import workshops as workshop_views

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(workshop_views, "utcnow", lambda: MONDAY)  # the fixed dates stay upcoming
        listing = client.get("/inbox/workshops")
    page = listing.get_data(as_text=True)
    assert listing.status_code == 200
    assert page.index("Budget") < page.index("Faire son CV") < page.index("Logement")
    row = re.search(rf'<tr data-key="{ONE_SEAT}">(.*?)</tr>', page, re.S)
    assert row is not None
    cells = re.findall(r'<td class="num (\w+)">(\d+)', row.group(1))
    assert cells == [("seats", "1"), ("taken", "1"), ("offered", "1"), ("waiting", "2")]

    detail = client.get(f"/inbox/workshops/{ONE_SEAT}")
    html = detail.get_data(as_text=True)
    assert detail.status_code == 200
    numbers = re.findall(r'<a href="tel:(\+\d+)" class="number">', html)
    assert numbers == ["+32470800002", "+32470800003", "+32470800004"]  # offered, then waiting in order
    assert "place proposée" in html and "attente n°1" in html and "attente n°2" in html
    assert "annulé" in html and "+32470800001" in html  # the cancellation, further down
    assert client.get("/inbox/workshops/no-such-workshop").status_code == 404
    audit = rows(app, "SELECT action, user_id, detail FROM audit_log WHERE action LIKE 'view_workshop%' ORDER BY id")
    assert audit == [("view_workshops", user_id, None), ("view_workshop", user_id, f"workshop {ONE_SEAT}")]


def test_the_inbox_links_to_the_workshops(fixed_app: Any) -> None:
    make_user(fixed_app)
    client = fixed_app.test_client()
    log_in(client)
    assert 'href="/inbox/workshops"' in client.get("/inbox").get_data(as_text=True)


def test_the_centre_sample_workshops_load_with_their_texts() -> None:
    flows = load_flows(ROOT / "flows")
    assert len(flows.workshops) >= 3
    for key in ("workshop_reminder_day_before", "workshop_reminder_two_hours", "workshop_offer",
                "workshop_offer_expired"):
        assert set(flows.texts[key]) == set(flows.languages)
    assert {"workshops", "workshop_cancel", "workshop_offer_answer"} <= set(flows.steps)


def test_texts_sent_outside_a_conversation_fit_in_three_sms() -> None:
    from bot.core import sms

    flows, now = load_flows(ROOT / "flows"), local("2026-12-01 10:00")
    for item in flows.workshops.values():
        for kind in workshops.TEXTS:
            for lang in flows.languages:
                text = workshops.reminder_text(kind, item, flows, lang, now, now + timedelta(hours=12))
                prepared = sms.prepare(text, "sms")
                assert sms.segment_info(prepared).segments <= 3, (item.key, kind, lang)
                assert "{" not in text and item.title[lang] in text, text


def test_after_an_offer_oui_answers_it_even_from_an_open_yes_no_question(fixed_flows: Flows) -> None:
    from bot.core.engine import State

    asking = State(lang="fr", step="workshop_confirm", data={"workshop": THURSDAY_2PM})
    assert workshops.ready_for_offer_answer(asking, fixed_flows) == State(lang="fr")
    elsewhere = State(lang="fr", step="workshop_waiting", data={"workshop": THURSDAY_2PM})
    assert workshops.ready_for_offer_answer(elsewhere, fixed_flows) is elsewhere
