"""Urgent cases reach a human: real webhook, real RQ worker, real database, local fake Twilio."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import pytest
from rq import Worker

from bot.web.dev import DELAY_KEY, REQUESTS_KEY, SENT_KEY
from tests.conftest import ROOT, Phone, RasaServer, at, rows, run_worker_burst, wait_for, worker_env

ON_CALL_SATURDAY = "+32470100002"  # flows/oncall.yml: astreinte2 on weekends
SATURDAY_NIGHT = "2026-11-21 23:00"  # a Saturday already past, so the sweeper sees it as old
CRISIS = "je veux me suicider ce soir"


class RunningWorker:
    """A real `rq worker` process (the Procfile's worker class) that a test can kill."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.process = subprocess.Popen(
            [str(ROOT / ".venv" / "bin" / "rq"), "worker", "-w", "worker.main.RelaisWorker",
             "--url", app.config["REDIS_URL"], "--serializer", "rq.serializers.JSONSerializer",
             "urgent", "default"],
            cwd=ROOT, env=worker_env(app), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True)
        import redis

        connection = redis.Redis.from_url(app.config["REDIS_URL"])
        wait_for(lambda: Worker.count(connection=connection) > 0, timeout=30)

    def kill(self) -> None:
        """SIGKILL the worker and its work horse (RQ puts the horse in a session of its own)."""
        if self.process.poll() is None:
            subprocess.run(["pkill", "-KILL", "-P", str(self.process.pid)], check=False)
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


@pytest.fixture
def worker(live: Any) -> Iterator[RunningWorker]:
    app, _server = live
    running = RunningWorker(app)
    yield running
    running.kill()


def worker_idle(redis_client: Any) -> bool:
    """Nothing queued, being handed over or running: every job enqueued so far has finished.

    Read in the order a job moves (queue, intermediate queue, started registry), so that a job
    cannot slip past the three reads unseen.
    """
    from rq import Queue
    from rq.registry import StartedJobRegistry

    queues = [Queue(name, connection=redis_client) for name in ("urgent", "default")]
    return (all(q.count == 0 for q in queues)
            and all(redis_client.llen(q.intermediate_queue_key) == 0 for q in queues)
            and all(StartedJobRegistry(q.name, connection=redis_client).count == 0 for q in queues))


def sms_to(redis_client: Any, number: str) -> list[dict[str, Any]]:
    return [m for m in (json.loads(r) for r in redis_client.lrange(SENT_KEY, 0, -1)) if m["to"] == number]


def urgent_text(app: Any, text: str = CRISIS, number: str = "+32470555001") -> tuple[list[str], float]:
    app.extensions["relais.services"].clock = at(SATURDAY_NIGHT)
    started = time.monotonic()
    return Phone(app, number).text(text), started


def test_an_urgent_text_on_saturday_night_alerts_the_on_call_worker_within_2_seconds(
        live: Any, worker: RunningWorker, redis_client: Any) -> None:
    app, _server = live
    replies, started = urgent_text(app)
    assert "112" in replies[0] and "0800 32 123" in replies[0]
    assert "garde" in replies[0]  # the honest answer: someone on call has been told
    sms = wait_for(lambda: sms_to(redis_client, ON_CALL_SATURDAY), timeout=2.0)
    assert time.monotonic() - started < 2.0
    case_id, priority, reference, escalated = rows(app, "SELECT id, priority, reference, escalated_at FROM cases")[0]
    assert priority == "urgent" and reference in replies[0]
    assert sms[0]["body"] == (f"Relais: cas URGENT {reference}. Ouvrez {app.config['PUBLIC_BASE_URL']}"
                              f"/inbox/cases/{case_id}")
    assert "suicid" not in sms[0]["body"] and "555001" not in sms[0]["body"]
    wait_for(lambda: rows(app, "SELECT escalated_at FROM cases")[0][0] is not None)


def test_it_works_with_the_nlu_service_stopped(live: Any, worker: RunningWorker, redis_client: Any) -> None:
    app, _server = live  # this app's NLU points at a closed port: the keyword fallback decides
    replies, _ = urgent_text(app, "jvais me tuer jen peux plus")
    assert "112" in replies[0]
    wait_for(lambda: sms_to(redis_client, ON_CALL_SATURDAY), timeout=2.0)
    assert rows(app, "SELECT needs_review, priority FROM messages WHERE direction = 'in'")[0] == (True, "urgent")


def test_with_the_real_nlu_the_urgent_intent_escalates(live: Any, rasa_up: RasaServer, redis_client: Any) -> None:
    from bot.adapters.nlu import NluClient

    app, _server = live
    app.extensions["relais.services"].nlu = NluClient(rasa_up.url, 5)
    replies, _ = urgent_text(app, "jai avalé toute la boite de cachets")
    assert "112" in replies[0]
    assert rows(app, "SELECT priority FROM cases")[0][0] == "urgent"
    run_worker_burst(app)
    assert rows(app, "SELECT kind, status FROM alerts") == [("oncall", "sent")]


def test_the_same_message_delivered_three_times_opens_one_case_and_sends_one_sms(
        live: Any, worker: RunningWorker, redis_client: Any, clock: Any) -> None:
    app, _server = live
    clock.set(SATURDAY_NIGHT)
    phone = Phone(app, "+32470555002")
    params = phone.params(CRISIS)
    answers = [phone.post(params) for _ in range(3)]
    assert len({a.get_data(as_text=True) for a in answers}) == 1
    wait_for(lambda: sms_to(redis_client, ON_CALL_SATURDAY))
    wait_for(lambda: worker_idle(redis_client))  # a wrong second SMS would be out by now
    assert len(sms_to(redis_client, ON_CALL_SATURDAY)) == 1
    assert rows(app, "SELECT COUNT(*) FROM cases")[0][0] == 1
    assert rows(app, "SELECT COUNT(*) FROM alerts")[0][0] == 1


def test_a_second_urgent_message_joins_the_open_case(live: Any, worker: RunningWorker, redis_client: Any) -> None:
    app, _server = live
    first, _ = urgent_text(app, number="+32470555003")
    second, _ = urgent_text(app, "il va me frapper encore", number="+32470555003")
    assert rows(app, "SELECT COUNT(*) FROM cases")[0][0] == 1
    reference = rows(app, "SELECT reference FROM cases")[0][0]
    assert reference in first[0] and reference in second[0]


def test_a_worker_killed_during_escalation_still_ends_with_the_case_escalated_once(
        live: Any, worker: RunningWorker, redis_client: Any) -> None:
    app, _server = live
    redis_client.set(DELAY_KEY, "3")  # Twilio answers slowly: the job is mid-send when killed
    urgent_text(app, number="+32470555004")
    wait_for(lambda: redis_client.get(REQUESTS_KEY), timeout=5)  # the job is inside the send
    worker.kill()
    assert rows(app, "SELECT escalated_at FROM cases")[0][0] is None
    redis_client.delete(DELAY_KEY)
    # the request the killed job made still reaches Twilio: the on-call SMS left once already
    wait_for(lambda: sms_to(redis_client, ON_CALL_SATURDAY), timeout=10)
    from rq import Queue
    from rq.serializers import JSONSerializer

    for name in ("urgent", "default"):  # Redis lost the queues too
        Queue(name, connection=redis_client, serializer=JSONSerializer).empty()
    sweep = subprocess.run([str(ROOT / ".venv" / "bin" / "flask"), "--app", "bot", "sweep"], cwd=ROOT,
                           env=worker_env(app), capture_output=True, text=True, timeout=60)
    assert sweep.returncode == 0 and "1 cases" in sweep.stdout, sweep.stderr
    run_worker_burst(app)
    assert rows(app, "SELECT COUNT(*) FROM cases WHERE escalated_at IS NOT NULL")[0][0] == 1
    assert rows(app, "SELECT kind, status FROM alerts") == [("oncall", "sent")]
    assert sms_to(redis_client, ON_CALL_SATURDAY)  # better twice than never: at least one arrived
    run_worker_burst(app)  # running everything again changes nothing
    assert rows(app, "SELECT COUNT(*) FROM alerts")[0][0] == 1


def test_during_opening_hours_no_on_call_sms_is_sent(live: Any, redis_client: Any, clock: Any) -> None:
    app, _server = live
    clock.set("2026-11-24 10:00")  # a Tuesday morning
    replies = Phone(app, "+32470555005").text(CRISIS)
    assert "aujourd'hui" in replies[0]
    run_worker_burst(app)
    assert rows(app, "SELECT escalated_at IS NOT NULL FROM cases")[0][0]
    assert rows(app, "SELECT COUNT(*) FROM alerts")[0][0] == 0
    assert redis_client.llen(SENT_KEY) == 0


def test_the_backup_is_alerted_when_nobody_claims(live: Any, redis_client: Any) -> None:
    from worker import escalation  # noqa: F401 - the job path must exist

    app, _server = live
    urgent_text(app, number="+32470555006")
    run_worker_burst(app)
    from rq import Queue
    from rq.serializers import JSONSerializer

    queue = Queue("urgent", connection=redis_client, serializer=JSONSerializer)
    scheduled = queue.scheduled_job_registry.get_job_ids()
    case_id = rows(app, "SELECT id FROM cases")[0][0]
    assert scheduled == [f"check-claimed-{case_id}"]
    job = queue.fetch_job(scheduled[0])
    queue.scheduled_job_registry.remove(job)
    queue.enqueue_job(job)  # its time has come
    run_worker_burst(app)
    assert sorted(rows(app, "SELECT kind, status FROM alerts")) == [("backup", "sent"), ("oncall", "sent")]
    assert sms_to(redis_client, "+32470100001")  # the backup


def test_a_claimed_case_does_not_alert_the_backup(live: Any, redis_client: Any) -> None:
    app, _server = live
    urgent_text(app, number="+32470555007")
    run_worker_burst(app)
    from bot.adapters.models import Case, User

    with app.extensions["relais.services"].sessions() as session, session.begin():
        user = User(email="w@cpas.example", name="W", password_hash="x")
        session.add(user)
        session.flush()
        case = session.query(Case).one()
        case.claimed_by_id = user.id
        case_id = case.id
    from bot.adapters.outbox import queue

    queue(redis_client, "urgent").enqueue("worker.escalation.check_claimed", case_id)
    run_worker_burst(app)
    assert rows(app, "SELECT kind FROM alerts") == [("oncall",)]


def test_a_figure_of_speech_is_not_escalated(app: Any, clock: Any) -> None:
    clock.set(SATURDAY_NIGHT)
    replies = Phone(app, "+32470555008").text("ce formulaire me tue")
    assert "112" not in replies[0]
    assert rows(app, "SELECT COUNT(*) FROM cases WHERE priority = 'urgent'")[0][0] == 0


def test_a_crisis_in_the_middle_of_a_menu_is_still_triaged(app: Any) -> None:
    phone = Phone(app, "+32470555009")
    phone.text("2")  # in the procedures answer
    replies = phone.text("jai pris 20 doliprane")
    assert "112" in replies[0]
    assert rows(app, "SELECT priority, reason FROM cases")[0][0] == "urgent"


def test_a_crisis_in_a_thread_held_by_a_worker_still_gets_the_numbers(app: Any) -> None:
    from tests.conftest import hold_thread

    phone = Phone(app, "+32470555010")
    phone.text("0")  # a normal case: waiting for a human
    hold_thread(app, phone, "x@cpas.example")
    assert phone.text("merci") == []  # the worker talks, the bot is silent
    replies = phone.text("il me frappe encore au secours")
    assert "112" in replies[0]
    assert rows(app, "SELECT COUNT(*), MAX(priority) FROM cases") == [(1, "urgent")]


def test_the_reason_tells_the_social_worker_which_words_matched(app: Any) -> None:
    Phone(app, "+32470555011").text("jdors dehors ce soir avec mes enfants")
    reason = rows(app, "SELECT reason FROM cases")[0][0]
    assert "dehors" in reason


def test_a_message_stored_but_never_answered_gets_the_safe_reply_and_a_case(
        live: Any, redis_client: Any) -> None:
    # the web process died between storing the message and answering it
    from datetime import timedelta

    from bot.adapters.models import Message, utcnow
    from bot.services import pipeline

    app, _server = live
    services = app.extensions["relais.services"]
    stored = pipeline._store(services, pipeline.InboundForm("SMorphan0001", "+32470555009", "vous etes la ?"))
    with services.sessions() as session, session.begin():
        session.get(Message, stored.message_id).created_at = utcnow() - timedelta(minutes=5)

    def sweep() -> str:
        done = subprocess.run([str(ROOT / ".venv" / "bin" / "flask"), "--app", "bot", "sweep"], cwd=ROOT,
                              env=worker_env(app), capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        return done.stdout

    assert "1 unanswered" in sweep()
    assert "0 unanswered" in sweep()  # a second sweeper does nothing more
    run_worker_burst(app)

    assert rows(app, "SELECT review_reason FROM messages WHERE id = :i", i=stored.message_id) == [("not_answered",)]
    assert rows(app, "SELECT COUNT(*), MIN(priority) FROM cases") == [(1, "normal")]
    assert [m["body"] for m in sms_to(redis_client, "+32470555009")] == [pipeline.SAFE_REPLY]
