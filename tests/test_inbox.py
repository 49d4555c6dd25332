"""The social workers' inbox: queue, thread, claim, reply (real RQ worker + fake Twilio), close,
hand back, notes and the audit log, through the real Flask app, Redis and database."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any

import pytest
from markupsafe import escape
from rq import Queue
from rq.serializers import JSONSerializer

from bot.adapters.models import Case, Contact, Message, utcnow
from bot.config import DEV_TEMPLATE_SID
from bot.core import sms
from bot.web.dev import SENT_KEY
from bot.web.inbox_display import mask, waited
from tests.conftest import Phone, csrf_of, log_in, make_user, rows, run_worker_burst, wait_for

CRISIS = "je vais me suicider ce soir"


# --- helpers -------------------------------------------------------------------------------

def open_case(app: Any, address: str, text: str = "0") -> int:
    """Text the bot from address; return the id of the case the message opened."""
    Phone(app, address).text(text)
    found = rows(app, "SELECT cases.id FROM cases JOIN contacts ON contacts.id = cases.contact_id "
                      "WHERE contacts.address = :a ORDER BY cases.id DESC", a=address)
    assert found, f"no case opened by {text!r}"
    return int(found[0][0])


def change(app: Any, model: Any, key: int, **values: Any) -> None:
    with app.extensions["relais.services"].sessions() as session, session.begin():
        row = session.get(model, key)
        for name, value in values.items():
            setattr(row, name, value)


def contact_of(app: Any, case_id: int) -> int:
    return int(rows(app, "SELECT contact_id FROM cases WHERE id = :i", i=case_id)[0][0])


def post(client: Any, url: str, **data: str) -> Any:
    """Post a form with the session's CSRF token, as the page's forms do."""
    token = csrf_of(client.get("/inbox").get_data(as_text=True))
    return client.post(url, data={"csrf_token": token, **data})


def sent_to(redis_client: Any, address: str) -> list[dict[str, Any]]:
    return [m for m in (json.loads(r) for r in redis_client.lrange(SENT_KEY, 0, -1)) if m["to"] == address]


def queue_order(html: str) -> list[int]:
    return [int(i) for i in re.findall(r'data-case-id="(\d+)"', html)]


def audit_log(app: Any) -> list[tuple[str, Any]]:
    return [(a, c) for a, c in rows(app, "SELECT action, case_id FROM audit_log WHERE action NOT LIKE 'login%' "
                                         "ORDER BY id")]


def outbound_rows(app: Any, contact_id: int) -> list[Any]:
    return rows(app, "SELECT id, body, source, status, user_id, template FROM messages "
                     "WHERE contact_id = :c AND direction = 'out' AND source != 'bot' ORDER BY id", c=contact_id)


# --- pure helpers --------------------------------------------------------------------------

def test_a_number_is_masked_but_for_its_country_first_group_and_last_two_digits() -> None:
    assert mask("+32470123412") == "+32 470 •• •• 12"
    assert mask("whatsapp:+33612345678") == "+33 6 •• •• •• 78"
    assert "1234" not in mask("+3247012")


def test_the_time_waited_reads_like_a_person_says_it() -> None:
    assert waited(timedelta(seconds=20)) == "< 1 min"
    assert waited(timedelta(minutes=12)) == "12 min"
    assert waited(timedelta(hours=2, minutes=5)) == "2 h 05"
    assert waited(timedelta(days=3, hours=4)) == "3 j 4 h"


# --- the queue -----------------------------------------------------------------------------

def test_the_queue_lists_urgent_cases_first_then_the_longest_waiting(app: Any, worker: Any) -> None:
    now = utcnow()
    normal_recent = open_case(app, "+32470000011")
    urgent_recent = open_case(app, "+32470000012", CRISIS)
    normal_old = open_case(app, "+32470000013")
    urgent_old = open_case(app, "+32470000014", CRISIS)
    for case_id, minutes in ((normal_recent, 50), (urgent_recent, 5), (normal_old, 130), (urgent_old, 30)):
        change(app, Case, case_id, opened_at=now - timedelta(minutes=minutes))
    page = worker.get("/inbox").get_data(as_text=True)
    assert queue_order(page) == [urgent_old, urgent_recent, normal_old, normal_recent]
    assert "attend depuis 2 h 10" in page and "attend depuis 30 min" in page
    assert "+32 470 •• •• 14" in page
    assert "+32470000014" not in page and "470 00 00 14" not in page  # never the full number in a list


def test_the_queue_shows_reason_channel_who_has_it_and_hides_closed_cases(app: Any, worker: Any) -> None:
    sms_case = open_case(app, "+32470000021")
    whatsapp_case = open_case(app, "whatsapp:+32470000022")
    closed = open_case(app, "+32470000023")
    change(app, Case, closed, status="closed")
    change(app, Case, sms_case, claimed_by_id=1)
    page = worker.get("/inbox").get_data(as_text=True)
    assert queue_order(page) == [sms_case, whatsapp_case]
    reason = rows(app, "SELECT reason FROM cases WHERE id = :i", i=sms_case)[0][0]
    assert str(escape(reason)) in page
    first, second = page.split('data-case-id="')[1:3]
    assert "SMS" in first and "Vous" in first
    assert "WhatsApp" in second and "Personne (libre)" in second


def test_the_fragment_endpoint_gives_the_queue_as_json_and_sees_a_new_urgent_case(app: Any, worker: Any) -> None:
    empty = worker.get("/inbox/queue", headers={"Accept": "application/json"}).get_json()
    assert empty["count"] == 0 and "Aucun dossier" in empty["html"]
    normal = open_case(app, "+32470000031")
    change(app, Case, normal, opened_at=utcnow() - timedelta(hours=3))
    urgent = open_case(app, "+32470000032", CRISIS)
    data = worker.get("/inbox/queue", headers={"Accept": "application/json"}).get_json()
    assert data["count"] == 2 and data["urgent"] == 1
    assert data["ids"] == [urgent, normal]
    assert queue_order(data["html"]) == [urgent, normal]
    assert "URGENT" in data["html"]


def test_a_failed_delivery_is_marked_in_the_queue_and_in_the_thread(app: Any, worker: Any) -> None:
    failing = open_case(app, "+32470000041")
    fine = open_case(app, "+32470000042")
    with app.extensions["relais.services"].sessions() as session, session.begin():
        session.add(Message(contact_id=contact_of(app, failing), direction="out", channel="sms",
                            body="Rappel", status="failed", error_code=21610, source="worker"))
    page = worker.get("/inbox").get_data(as_text=True)
    failing_row = page.split(f'data-case-id="{failing}"')[1].split("</li>")[0]
    fine_row = page.split(f'data-case-id="{fine}"')[1].split("</li>")[0]
    assert "message non remis" in failing_row
    assert "message non remis" not in fine_row
    thread = worker.get(f"/inbox/cases/{failing}").get_data(as_text=True)
    assert "non remis (21610 : la personne a envoyé STOP)" in thread


def test_an_undelivered_status_is_marked_as_failed(app: Any, worker: Any) -> None:
    case_id = open_case(app, "+32470000043")
    with app.extensions["relais.services"].sessions() as session, session.begin():
        session.add(Message(contact_id=contact_of(app, case_id), direction="out", channel="sms",
                            body="Rappel", status="undelivered", error_code=30003, source="worker"))
    assert "message non remis" in worker.get("/inbox").get_data(as_text=True)
    assert "30003 : téléphone injoignable" in worker.get(f"/inbox/cases/{case_id}").get_data(as_text=True)


# --- the thread ------------------------------------------------------------------------------

def test_the_thread_shows_the_whole_conversation_with_status_priority_and_reason(app: Any, worker: Any) -> None:
    phone = Phone(app, "+32470000051")
    phone.text("bonjour")
    case_id = open_case(app, "+32470000051", CRISIS)
    page = worker.get(f"/inbox/cases/{case_id}").get_data(as_text=True)
    assert "bonjour" in page and CRISIS in page  # inbound messages
    assert "Robot" in page and "Si vous etes en danger" in page  # the bot's replies
    assert "URGENT" in page
    reason = rows(app, "SELECT reason FROM cases WHERE id = :i", i=case_id)[0][0]
    assert str(escape(reason)) in page
    assert page.count('data-status="processed"') == 2 and 'data-status="replied"' in page
    assert 'href="tel:+32470000051"' in page  # a logged-in worker may call the person back
    assert ("view_case", case_id) in audit_log(app)


def test_the_thread_fragment_gives_the_messages_for_polling(app: Any, worker: Any) -> None:
    case_id = open_case(app, "+32470000052")
    before = worker.get(f"/inbox/cases/{case_id}/messages", headers={"Accept": "application/json"}).get_json()
    Phone(app, "+32470000052").text("une question de plus")
    after = worker.get(f"/inbox/cases/{case_id}/messages", headers={"Accept": "application/json"}).get_json()
    assert "une question de plus" not in before["html"]
    assert "une question de plus" in after["html"]


def test_an_unknown_case_is_404(worker: Any) -> None:
    assert worker.get("/inbox/cases/999").status_code == 404


# --- claim -----------------------------------------------------------------------------------

def test_claiming_silences_the_bot_and_tells_the_person_a_social_worker_is_there(
        live: Any, redis_client: Any) -> None:
    app, _server = live
    make_user(app)
    worker = app.test_client()
    log_in(worker)
    phone = Phone(app, "+32470000061")
    assert phone.text("0")  # the bot answers before the claim
    case_id = open_case(app, "+32470000061", "jveux parler a qqn")
    response = post(worker, f"/inbox/cases/{case_id}/claim")
    assert response.status_code == 302
    claimed_by, claimed_at = rows(app, "SELECT claimed_by_id, claimed_at FROM cases WHERE id = :i", i=case_id)[0]
    assert claimed_by == 1 and claimed_at is not None
    assert rows(app, "SELECT owner_id FROM contacts WHERE address = '+32470000061'")[0][0] == 1
    expected = sms.prepare(app.extensions["relais.flows"].get().text("claimed", "fr"), "sms")
    assert run_worker_burst(app).returncode == 0
    assert [m["body"] for m in sent_to(redis_client, "+32470000061")] == [expected]
    # the bot now stays silent: an empty TwiML answer
    response = phone.post(phone.params("vous etes la ?"))
    assert response.status_code == 200 and "<Message>" not in response.get_data(as_text=True)
    assert ("claim", case_id) in audit_log(app)
    assert "Vous" in worker.get("/inbox").get_data(as_text=True)


def test_the_claimed_message_is_in_the_persons_language(app: Any, worker: Any) -> None:
    phone = Phone(app, "+32470000062")
    phone.text("NL")
    case_id = open_case(app, "+32470000062")
    post(worker, f"/inbox/cases/{case_id}/claim")
    body, source = outbound_rows(app, contact_of(app, case_id))[0][1:3]
    assert body == app.extensions["relais.flows"].get().text("claimed", "nl")
    assert source == "system"
    claim_job = f"send-message-{outbound_rows(app, contact_of(app, case_id))[0][0]}"
    assert claim_job in Queue("default", connection=app.extensions["relais.redis"],
                              serializer=JSONSerializer).job_ids


def test_a_case_claimed_by_a_colleague_cannot_be_taken(app: Any, worker: Any) -> None:
    case_id = open_case(app, "+32470000063")
    colleague = make_user(app, email="tom@cpas.example", name="Tom")
    change(app, Case, case_id, claimed_by_id=colleague)
    change(app, Contact, contact_of(app, case_id), owner_id=colleague)
    response = post(worker, f"/inbox/cases/{case_id}/claim")
    assert response.status_code == 302
    assert rows(app, "SELECT claimed_by_id FROM cases WHERE id = :i", i=case_id)[0][0] == colleague
    assert "déjà suivie par Tom" in worker.get(f"/inbox/cases/{case_id}").get_data(as_text=True)
    assert outbound_rows(app, contact_of(app, case_id)) == []


def test_a_claim_without_csrf_token_gets_400_and_changes_nothing(app: Any, worker: Any) -> None:
    case_id = open_case(app, "+32470000064")
    response = worker.post(f"/inbox/cases/{case_id}/claim")
    assert response.status_code == 400
    assert rows(app, "SELECT claimed_by_id FROM cases WHERE id = :i", i=case_id)[0][0] is None
    assert rows(app, "SELECT owner_id FROM contacts WHERE id = :i", i=contact_of(app, case_id))[0][0] is None
    assert outbound_rows(app, contact_of(app, case_id)) == []
    assert ("claim", case_id) not in audit_log(app)


# --- reply -----------------------------------------------------------------------------------

def test_a_reply_goes_through_the_worker_to_twilio_and_ends_delivered(live: Any, redis_client: Any) -> None:
    app, _server = live
    make_user(app)
    worker = app.test_client()
    log_in(worker)
    case_id = open_case(app, "+32470000071", CRISIS)
    text = "Bonjour, je suis Ana du CPAS. Êtes-vous en sécurité ce soir ?"
    response = post(worker, f"/inbox/cases/{case_id}/reply", body=text)
    assert response.status_code == 302
    message_id, body, source, status, user_id, template = outbound_rows(app, contact_of(app, case_id))[-1]
    assert (source, status, user_id, template) == ("worker", "queued", 1, False)
    urgent = Queue("urgent", connection=redis_client, serializer=JSONSerializer)
    assert f"send-message-{message_id}" in urgent.job_ids  # an urgent case's reply jumps the queue
    assert run_worker_burst(app).returncode == 0
    received = sent_to(redis_client, "+32470000071")
    assert [m["body"] for m in received] == [sms.prepare(text, "sms")]
    assert "content_sid" not in received[0]
    wait_for(lambda: rows(app, "SELECT status FROM messages WHERE id = :i", i=message_id)[0][0] == "delivered")
    # answering claims the case: the bot is silent for this person now
    assert rows(app, "SELECT claimed_by_id FROM cases WHERE id = :i", i=case_id)[0][0] == 1
    assert Phone(app, "+32470000071").text("oui merci") == []
    assert ("reply", case_id) in audit_log(app)
    page = worker.get(f"/inbox/cases/{case_id}").get_data(as_text=True)
    assert "Ana" in page and 'data-status="delivered"' in page


def test_an_empty_or_too_long_reply_is_refused(app: Any, worker: Any) -> None:
    case_id = open_case(app, "+32470000072")
    post(worker, f"/inbox/cases/{case_id}/reply", body="   ")
    post(worker, f"/inbox/cases/{case_id}/reply", body="x" * 1601)
    assert outbound_rows(app, contact_of(app, case_id)) == []
    assert "trop long" in worker.get(f"/inbox/cases/{case_id}").get_data(as_text=True)


def test_a_reply_to_someone_who_texted_stop_is_refused(app: Any, worker: Any) -> None:
    case_id = open_case(app, "+32470000073")
    change(app, Contact, contact_of(app, case_id), opted_out=True)
    post(worker, f"/inbox/cases/{case_id}/reply", body="Bonjour")
    assert outbound_rows(app, contact_of(app, case_id)) == []
    assert "STOP" in worker.get(f"/inbox/cases/{case_id}").get_data(as_text=True)


def test_a_whatsapp_reply_after_24_hours_goes_out_as_an_approved_template(live: Any, redis_client: Any) -> None:
    app, _server = live
    make_user(app)
    worker = app.test_client()
    log_in(worker)
    address = "whatsapp:+32470000074"
    case_id = open_case(app, address)
    change(app, Contact, contact_of(app, case_id), last_inbound_at=utcnow() - timedelta(hours=25))
    page = worker.get(f"/inbox/cases/{case_id}").get_data(as_text=True)
    assert "modèle approuvé" in page  # the worker is told before writing
    text = "Bonjour, votre rendez-vous est lundi à 10h. Ça vous va ?"
    post(worker, f"/inbox/cases/{case_id}/reply", body=text)
    message_id, body, _source, _status, _user, template = outbound_rows(app, contact_of(app, case_id))[-1]
    assert template and body == text
    after = worker.get(f"/inbox/cases/{case_id}").get_data(as_text=True)
    assert "la réponse part comme modèle" in after and "modèle WhatsApp" in after
    assert run_worker_burst(app).returncode == 0
    received = sent_to(redis_client, address)
    assert received[-1]["content_sid"] == DEV_TEMPLATE_SID
    assert received[-1]["body"] == text  # the text travelled as the template's variable
    wait_for(lambda: rows(app, "SELECT status FROM messages WHERE id = :i", i=message_id)[0][0] == "delivered")


def test_a_whatsapp_reply_within_24_hours_is_a_plain_message(live: Any, redis_client: Any) -> None:
    app, _server = live
    make_user(app)
    worker = app.test_client()
    log_in(worker)
    address = "whatsapp:+32470000075"
    case_id = open_case(app, address)
    post(worker, f"/inbox/cases/{case_id}/reply", body="Bonjour « à bientôt »")
    assert outbound_rows(app, contact_of(app, case_id))[-1][5] in (False, 0)
    run_worker_burst(app)
    received = sent_to(redis_client, address)
    assert received[-1]["body"] == "Bonjour « à bientôt »" and "content_sid" not in received[-1]


def test_without_a_template_configured_a_late_whatsapp_reply_is_refused_but_the_claim_works(
        make_app: Any) -> None:
    app = make_app(TWILIO_WHATSAPP_TEMPLATE_SID="")
    make_user(app)
    worker = app.test_client()
    log_in(worker)
    case_id = open_case(app, "whatsapp:+32470000076")
    change(app, Contact, contact_of(app, case_id), last_inbound_at=utcnow() - timedelta(hours=30))
    post(worker, f"/inbox/cases/{case_id}/claim")
    assert rows(app, "SELECT claimed_by_id FROM cases WHERE id = :i", i=case_id)[0][0] == 1
    post(worker, f"/inbox/cases/{case_id}/reply", body="Bonjour")
    assert outbound_rows(app, contact_of(app, case_id)) == []
    assert "TWILIO_WHATSAPP_TEMPLATE_SID" in worker.get(f"/inbox/cases/{case_id}").get_data(as_text=True)


# --- close, hand back, notes -----------------------------------------------------------------

def test_closing_records_the_outcome_and_the_bot_answers_again(app: Any, worker: Any) -> None:
    case_id = open_case(app, "+32470000081")
    post(worker, f"/inbox/cases/{case_id}/claim")
    refused = post(worker, f"/inbox/cases/{case_id}/close", outcome="  ")
    assert refused.headers["Location"] == f"/inbox/cases/{case_id}"
    assert rows(app, "SELECT status FROM cases WHERE id = :i", i=case_id)[0][0] == "open"
    response = post(worker, f"/inbox/cases/{case_id}/close", outcome="Rendez-vous fixé")
    assert response.headers["Location"] == "/inbox"
    status, closed_at, outcome = rows(app, "SELECT status, closed_at, outcome FROM cases WHERE id = :i", i=case_id)[0]
    assert (status, outcome) == ("closed", "Rendez-vous fixé") and closed_at is not None
    assert rows(app, "SELECT owner_id FROM contacts WHERE id = :i", i=contact_of(app, case_id))[0][0] is None
    assert case_id not in queue_order(worker.get("/inbox").get_data(as_text=True))
    assert Phone(app, "+32470000081").text("1")  # the bot answers again
    assert ("close", case_id) in audit_log(app)


def test_handing_back_gives_the_thread_to_the_bot_and_tells_the_person(app: Any, worker: Any) -> None:
    phone = Phone(app, "+32470000082")
    case_id = open_case(app, "+32470000082")
    post(worker, f"/inbox/cases/{case_id}/claim")
    assert phone.text("allo ?") == []
    post(worker, f"/inbox/cases/{case_id}/handback")
    assert rows(app, "SELECT owner_id FROM contacts WHERE id = :i", i=contact_of(app, case_id))[0][0] is None
    bodies = [r[1] for r in outbound_rows(app, contact_of(app, case_id))]
    assert bodies[-1] == sms.prepare(app.extensions["relais.flows"].get().text("handed_back", "fr"), "sms")
    assert phone.text("1")  # the bot answers again
    assert rows(app, "SELECT status FROM cases WHERE id = :i", i=case_id)[0][0] == "open"
    assert ("hand_back", case_id) in audit_log(app)


def test_notes_are_shown_to_the_team_and_never_sent(app: Any, worker: Any) -> None:
    case_id = open_case(app, "+32470000083")
    post(worker, f"/inbox/cases/{case_id}/notes", body="Connue du service logement, rappeler lundi.")
    post(worker, f"/inbox/cases/{case_id}/notes", body="   ")
    notes = rows(app, "SELECT case_id, user_id, body FROM notes")
    assert notes == [(case_id, 1, "Connue du service logement, rappeler lundi.")]
    assert "rappeler lundi" in worker.get(f"/inbox/cases/{case_id}").get_data(as_text=True)
    assert outbound_rows(app, contact_of(app, case_id)) == []
    assert ("note", case_id) in audit_log(app)


def test_every_view_and_action_on_a_case_is_audited_in_order(app: Any, worker: Any) -> None:
    case_id = open_case(app, "+32470000084")
    worker.get(f"/inbox/cases/{case_id}")
    post(worker, f"/inbox/cases/{case_id}/claim")
    post(worker, f"/inbox/cases/{case_id}/reply", body="Bonjour")
    post(worker, f"/inbox/cases/{case_id}/notes", body="Note")
    post(worker, f"/inbox/cases/{case_id}/handback")
    post(worker, f"/inbox/cases/{case_id}/close", outcome="Information donnée")
    assert audit_log(app) == [("view_case", case_id), ("claim", case_id), ("reply", case_id),
                              ("note", case_id), ("hand_back", case_id), ("close", case_id)]
    assert {r[0] for r in rows(app, "SELECT DISTINCT user_id FROM audit_log")} == {1}


# --- the page itself -------------------------------------------------------------------------

def test_the_reply_box_gets_bot_sms_gsm7_rules_for_its_segment_counter(app: Any, worker: Any) -> None:
    case_id = open_case(app, "+32470000091")
    page = worker.get(f"/inbox/cases/{case_id}").get_data(as_text=True)
    raw = re.search(r"data-sms='([^']+)'", page)
    assert raw
    import html

    rules = json.loads(html.unescape(raw.group(1)))
    assert set(rules["basic"]) == sms.GSM7_BASIC and set(rules["extension"]) == sms.GSM7_EXTENSION
    assert rules["replacements"]["’"] == "'"


@pytest.mark.parametrize("path", ["/login", "/inbox"])
def test_the_pages_are_made_for_a_phone_and_send_no_inline_script(app: Any, worker: Any, path: str) -> None:
    response = worker.get(path) if path != "/login" else app.test_client().get(path)
    page = response.get_data(as_text=True)
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in page
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert "<script>" not in page
    css = app.test_client().get("/static/relais.css").get_data(as_text=True)
    assert "@media (max-width: 600px)" in css and "min-height: 44px" in css


def test_the_inbox_works_while_the_flows_are_refused(make_app: Any, flows_dir: Any) -> None:
    # an app started on a broken flows folder answers people safely; the team must still work
    flows = flows_dir
    menu = flows / "menu.yml"
    menu.write_text(menu.read_text(encoding="utf-8").replace("    next: menu\n", "    next: menuu\n", 1),
                    encoding="utf-8")
    app = make_app(FLOWS_DIR=flows)
    make_user(app)
    worker = app.test_client()
    log_in(worker)
    # the safe reply, and a case so that a person does read it
    case_id = open_case(app, "+32470000062", "jveux parler a qqn")

    queue = worker.get("/inbox")
    thread = worker.get(f"/inbox/cases/{case_id}")
    claim = post(worker, f"/inbox/cases/{case_id}/claim")

    assert queue.status_code == thread.status_code == 200
    assert claim.status_code == 302
    said = rows(app, "SELECT body FROM messages WHERE source = 'system' ORDER BY id DESC")
    assert said and "Un travailleur social lit vos messages" in said[0][0]
