"""Messages the system sends: outbox row -> real RQ worker -> twilio-python -> local fake Twilio."""

from __future__ import annotations

import json
import subprocess
from datetime import timedelta
from typing import Any

import pytest
from click.testing import Result

from bot.adapters import outbox as outbound
from bot.adapters.models import Message, utcnow
from bot.web.dev import OPTED_OUT_KEY, SENT_KEY
from tests.conftest import ROOT, rows, run_worker_burst, wait_for, worker_env


def send(app: Any, to: str, text: str) -> int:
    result: Result = app.test_cli_runner().invoke(args=["messages", "send", to, text])
    assert result.exit_code == 0, result.output
    return int(result.output.split()[1])


def sent(redis_client: Any) -> list[dict[str, Any]]:
    return [json.loads(r) for r in redis_client.lrange(SENT_KEY, 0, -1)]


def status_of(app: Any, message_id: int) -> tuple[Any, ...]:
    return tuple(rows(app, "SELECT status, sid, error_code FROM messages WHERE id = :i", i=message_id)[0])


def test_a_queued_message_reaches_twilio_and_is_delivered(live: Any, redis_client: Any) -> None:
    app, _server = live
    message_id = send(app, "+32470001234", "Votre rendez-vous est confirmé ; à lundi.")
    assert status_of(app, message_id)[0] == "queued"
    worker = run_worker_burst(app)
    assert worker.returncode == 0, worker.stderr
    received = sent(redis_client)
    assert len(received) == 1, worker.stderr[-3000:]
    assert received[0]["to"] == "+32470001234"
    assert received[0]["body"] == "Votre rendez-vous est confirmé ; à lundi."
    sid = status_of(app, message_id)[1]
    assert sid == received[0]["sid"]
    # the fake plays Twilio's callbacks: sent, then delivered, through the signed /twilio/status
    wait_for(lambda: status_of(app, message_id)[0] == "delivered")


def test_sms_text_is_made_gsm7_and_whatsapp_keeps_it(live: Any, redis_client: Any) -> None:
    app, _server = live
    send(app, "+32470001235", "Ça reprend « bientôt » : l’accueil rouvre…")
    send(app, "whatsapp:+32470001236", "Ça reprend « bientôt »")
    run_worker_burst(app)
    bodies = {m["to"]: m["body"] for m in sent(redis_client)}
    assert bodies["+32470001235"] == 'Ça reprend "bientot" : l\'accueil rouvre...'
    assert bodies["whatsapp:+32470001236"] == "Ça reprend « bientôt »"


def test_a_person_who_texted_stop_is_not_retried(live: Any, redis_client: Any) -> None:
    app, _server = live
    redis_client.sadd(OPTED_OUT_KEY, "+32470001237")
    message_id = send(app, "+32470001237", "Rappel")
    run_worker_burst(app)
    assert status_of(app, message_id) == ("failed", None, 21610)
    assert sent(redis_client) == []
    from rq import Queue
    from rq.serializers import JSONSerializer

    queue = Queue("default", connection=redis_client, serializer=JSONSerializer)
    assert queue.count == 0 and queue.scheduled_job_registry.count == 0  # no retry planned


def test_an_undelivered_message_shows_the_error(live: Any, redis_client: Any) -> None:
    from bot.web.dev import FAIL_KEY

    app, _server = live
    redis_client.sadd(FAIL_KEY, "+32470001238")
    message_id = send(app, "+32470001238", "Rappel")
    run_worker_burst(app)
    wait_for(lambda: status_of(app, message_id)[0] == "undelivered")
    assert status_of(app, message_id)[2] == 30003


def test_running_the_job_twice_sends_once(live: Any, redis_client: Any) -> None:
    app, _server = live
    message_id = send(app, "+32470001239", "Une fois")
    outbound.queue(redis_client).enqueue("worker.jobs.send_message", message_id)  # a second job
    run_worker_burst(app)
    assert len(sent(redis_client)) == 1


def test_a_message_twilio_reports_as_queued_is_not_sent_again(live: Any, redis_client: Any) -> None:
    # Twilio answers "queued" for a message it accepted; our outbox also calls a message to
    # send "queued". A job or a sweep that runs after Twilio's answer must not send it again.
    app, _server = live
    message_id = send(app, "+32470001240", "Une seule fois")
    run_worker_burst(app)
    with app.extensions["relais.services"].sessions() as session, session.begin():
        message = session.get(Message, message_id)
        message.status, message.created_at = "queued", utcnow() - timedelta(minutes=5)  # old enough to sweep
    outbound.queue(redis_client).enqueue("worker.jobs.send_message", message_id)
    sweep = subprocess.run([str(ROOT / ".venv" / "bin" / "flask"), "--app", "bot", "sweep"], cwd=ROOT,
                           env=worker_env(app), capture_output=True, text=True, timeout=60)
    run_worker_burst(app)

    assert sweep.returncode == 0 and sweep.stdout.startswith("0 cases, 0 messages"), sweep.stdout
    assert len(sent(redis_client)) == 1


@pytest.mark.parametrize("port_note", ["nothing listens"])
def test_twilio_unreachable_keeps_the_message_queued_for_retry(make_app: Any, redis_client: Any,
                                                              port_note: str) -> None:
    app = make_app(TWILIO_API_BASE_URL="http://127.0.0.1:9/dev/twilio")
    message_id = send(app, "+32470001240", "Plus tard")
    run_worker_burst(app)
    assert status_of(app, message_id)[0] == "queued"  # nothing reached Twilio: safe to retry
    from rq import Queue
    from rq.serializers import JSONSerializer

    queue = Queue("default", connection=redis_client, serializer=JSONSerializer)
    assert queue.scheduled_job_registry.count == 1  # RQ retries it later with backoff
