"""POST /twilio/inbound and /twilio/status through the real Flask app, Redis and database."""

from __future__ import annotations

import json
import threading
from typing import Any

import requests

from tests.conftest import PUBLIC, Clock, Phone, replies_of, rows, sign


def count(app: Any, table: str) -> int:
    return rows(app, f"SELECT COUNT(*) FROM {table}")[0][0]


# --- signatures ----------------------------------------------------------------------------

def test_it_answers_a_correctly_signed_message_with_twiml(phone: Phone) -> None:
    replies = phone.text("1")
    assert len(replies) == 1
    assert "Horaires" in replies[0] or "ouvert" in replies[0]


def test_it_rejects_a_forged_signature_and_stores_nothing(app: Any, phone: Phone) -> None:
    params = phone.params("bonjour")
    response = phone.client.post("/twilio/inbound", data=params,
                                 headers={"X-Twilio-Signature": "bm90IGEgc2lnbmF0dXJl"})
    assert response.status_code == 403
    assert count(app, "messages") == 0 and count(app, "contacts") == 0


def test_it_rejects_a_missing_signature_with_403_not_500(app: Any, phone: Phone) -> None:
    response = phone.client.post("/twilio/inbound", data=phone.params("bonjour"))
    assert response.status_code == 403
    assert count(app, "messages") == 0


def test_it_rejects_a_signature_made_with_another_token(app: Any, phone: Phone) -> None:
    from twilio.request_validator import RequestValidator

    params = phone.params("bonjour")
    forged = RequestValidator("someone-elses-token").compute_signature(PUBLIC + "/twilio/inbound", params)
    response = phone.client.post("/twilio/inbound", data=params, headers={"X-Twilio-Signature": forged})
    assert response.status_code == 403


def test_it_rejects_a_signed_request_whose_body_was_changed(phone: Phone) -> None:
    params = phone.params("bonjour")
    signature = sign(phone.app, PUBLIC + "/twilio/inbound", params)
    params["Body"] = "autre chose"
    response = phone.client.post("/twilio/inbound", data=params, headers={"X-Twilio-Signature": signature})
    assert response.status_code == 403


def test_it_validates_against_the_public_url_behind_a_proxy(app: Any, phone: Phone) -> None:
    """Twilio signs https://relais.example.org/...; the app sees http://localhost/... behind the proxy."""
    params = phone.params("1")
    public_signature = sign(app, PUBLIC + "/twilio/inbound", params)
    internal_signature = sign(app, "http://localhost/twilio/inbound", params)
    client = app.test_client()
    ok = client.post("/twilio/inbound", data=params, headers={"X-Twilio-Signature": public_signature},
                     base_url="http://localhost")
    assert ok.status_code == 200
    refused = client.post("/twilio/inbound", data=phone.params("1"),
                          headers={"X-Twilio-Signature": internal_signature}, base_url="http://localhost")
    assert refused.status_code == 403


def test_it_includes_the_raw_query_string_in_the_signed_url(app: Any, phone: Phone) -> None:
    params = phone.params("1")
    url = PUBLIC + "/twilio/inbound?centre=stgilles&x=a%20b"
    response = app.test_client().post("/twilio/inbound?centre=stgilles&x=a%20b", data=params,
                                      headers={"X-Twilio-Signature": sign(app, url, params)})
    assert response.status_code == 200
    without_query = app.test_client().post("/twilio/inbound?centre=other", data=params,
                                           headers={"X-Twilio-Signature": sign(app, url, params)})
    assert without_query.status_code == 403


# --- storing first, exactly once -----------------------------------------------------------

def test_it_stores_the_message_and_its_reply(app: Any, phone: Phone) -> None:
    phone.text("1")
    stored = rows(app, "SELECT direction, body, status, processed_at FROM messages ORDER BY id")
    assert [r[0] for r in stored] == ["in", "out"]
    assert stored[0][1] == "1" and stored[0][2] == "processed" and stored[0][3] is not None
    assert stored[1][2] == "replied"


def test_a_replayed_request_gets_the_same_answer_and_is_processed_once(app: Any, phone: Phone) -> None:
    params = phone.params("0")  # opens a case: a second processing would open a second one
    first = phone.post(params)
    second = phone.post(params)
    assert first.status_code == second.status_code == 200
    assert replies_of(first.get_data(as_text=True)) == replies_of(second.get_data(as_text=True))
    assert count(app, "cases") == 1
    assert rows(app, "SELECT COUNT(*) FROM messages WHERE direction = 'in'")[0][0] == 1
    assert rows(app, "SELECT COUNT(*) FROM messages WHERE direction = 'out'")[0][0] == 1


def test_concurrent_duplicates_are_processed_once(live: Any) -> None:
    app, server = live
    params = Phone(app).params("0")
    signature = sign(app, server.url + "/twilio/inbound", params)
    answers: list[requests.Response] = []
    barrier = threading.Barrier(6)

    def post() -> None:
        barrier.wait()
        answers.append(requests.post(server.url + "/twilio/inbound", data=params,
                                     headers={"X-Twilio-Signature": signature}, timeout=30))

    threads = [threading.Thread(target=post) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [a.status_code for a in answers] == [200] * 6
    bodies = {tuple(replies_of(a.text)) for a in answers}
    assert len(bodies) == 1 and bodies.pop()  # every copy got the same, non-empty answer
    assert count(app, "cases") == 1
    assert rows(app, "SELECT COUNT(*) FROM messages WHERE direction = 'in'")[0][0] == 1


def test_the_same_new_person_sending_two_messages_at_once_gets_one_contact(live: Any) -> None:
    app, server = live
    phone = Phone(app, "+32470999999")
    batch = [phone.params("1"), phone.params("2")]
    barrier = threading.Barrier(2)

    def post(params: dict[str, str]) -> None:
        barrier.wait()
        requests.post(server.url + "/twilio/inbound", data=params, timeout=30,
                      headers={"X-Twilio-Signature": sign(app, server.url + "/twilio/inbound", params)})

    threads = [threading.Thread(target=post, args=(p,)) for p in batch]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert count(app, "contacts") == 1
    assert rows(app, "SELECT COUNT(*) FROM messages WHERE direction = 'in' AND processed_at IS NOT NULL")[0][0] == 2


# --- every kind of input gets an answer, never a 500 ---------------------------------------

def test_an_empty_body_gets_the_menu(phone: Phone) -> None:
    replies = phone.text("")
    assert "vide" in replies[0] and "1 Horaires" in replies[0]


def test_a_missing_body_field_gets_an_answer(phone: Phone) -> None:
    params = phone.params("x")
    del params["Body"]
    response = phone.post(params)
    assert response.status_code == 200 and replies_of(response.get_data(as_text=True))


def test_a_media_only_message_is_answered_and_its_media_kept(app: Any, phone: Phone) -> None:
    replies = phone.text("", NumMedia="1", MediaUrl0="https://api.twilio.com/media/ME1",
                         MediaContentType0="image/jpeg")
    assert "regarder votre photo" in replies[0]
    media = rows(app, "SELECT num_media, media FROM messages WHERE direction = 'in'")[0]
    assert media[0] == 1
    stored = media[1] if isinstance(media[1], list) else json.loads(media[1])
    assert stored == [{"url": "https://api.twilio.com/media/ME1", "type": "image/jpeg"}]


def test_a_body_over_1600_characters_is_stored_whole_and_answered(app: Any, phone: Phone) -> None:
    body = "bonjour " * 400
    replies = phone.text(body)
    assert replies and all(len(r) <= 1600 for r in replies)
    assert rows(app, "SELECT LENGTH(body) FROM messages WHERE direction = 'in'")[0][0] == len(body)


def test_emoji_right_to_left_and_control_characters_are_answered(phone: Phone) -> None:
    for body in ["🙏🙏 horaires ?", "مرحبا، متى تفتحون؟", "שלום", "hor\x00aires\x1b\x07", "\u202e1"]:
        replies = phone.text(body)
        assert replies and replies[0].strip(), body


def test_a_non_numeric_num_media_is_not_a_500(phone: Phone) -> None:
    assert phone.text("1", NumMedia="abc")


def test_a_request_without_sender_is_a_400_not_a_500(app: Any) -> None:
    params = {"MessageSid": "SMnofrom", "Body": "bonjour"}
    response = app.test_client().post("/twilio/inbound", data=params,
                                      headers={"X-Twilio-Signature": sign(app, PUBLIC + "/twilio/inbound", params)})
    assert response.status_code == 400
    assert count(app, "messages") == 0


def test_a_whatsapp_sender_keeps_accents_and_sms_gets_gsm7(app: Any) -> None:
    sms = Phone(app, "+32470000011").text("4")
    whatsapp = Phone(app, "whatsapp:+32470000012").text("4")
    assert "Francais" in sms[0] and "ç" not in sms[0]
    assert "Français" in whatsapp[0]
    channels = rows(app, "SELECT channel, segments, encoding FROM messages WHERE direction = 'out' ORDER BY id")
    assert channels[0][0] == "sms" and channels[0][1] >= 1 and channels[0][2] == "GSM-7"
    assert channels[1][0] == "whatsapp" and channels[1][1] is None


def test_every_sms_reply_records_its_segment_count(app: Any, phone: Phone) -> None:
    from bot.core.sms import segment_info

    phone.text("1")
    body, segments, encoding = rows(app, "SELECT body, segments, encoding FROM messages WHERE direction = 'out'")[0]
    assert (segments, encoding) == (segment_info(body).segments, "GSM-7")


def test_a_processing_failure_still_gets_a_reply_and_is_marked_for_review(app: Any, phone: Phone) -> None:
    def broken() -> Any:
        raise RuntimeError("flows exploded")

    app.extensions["relais.services"].flows = broken
    replies = phone.text("bonjour")
    assert "recu" in replies[0]
    assert rows(app, "SELECT needs_review, review_reason FROM messages WHERE direction = 'in'")[0] == (True, "processing_error")
    # the reply promises a person will read it: a case puts it in the social workers' queue
    assert rows(app, "SELECT priority, status, reason FROM cases") == [
        ("normal", "open", "the bot could not answer this message (processing error)")]


# --- conversation, hours, language --------------------------------------------------------

def test_bonjour_then_hours_on_a_saturday_night(app: Any, phone: Phone, clock: Clock) -> None:
    clock.set("2026-11-28 23:10")
    assert "1 Horaires" in phone.text("bonjour")[0]
    hours = phone.text("1")[0]
    assert "Nous sommes fermés maintenant" in hours
    assert "Nous rouvrons lundi à 9h" in hours


def test_state_is_kept_in_redis_with_an_idle_expiry(app: Any, phone: Phone, redis_client: Any) -> None:
    phone.text("NL")
    contact_id = rows(app, "SELECT id FROM contacts")[0][0]
    key = f"relais:state:{contact_id}"
    assert json.loads(redis_client.get(key))["lang"] == "nl"
    assert 0 < redis_client.ttl(key) <= app.config["STATE_TTL"]
    assert "Openingsuren" in phone.text("1")[0] or "open" in phone.text("1")[0]


def test_the_language_is_remembered_when_redis_state_expires(app: Any, phone: Phone, redis_client: Any) -> None:
    phone.text("EN")
    redis_client.flushdb()
    assert "Reply with a number" in phone.text("menu")[0]


def test_a_thread_held_by_a_social_worker_gets_no_bot_answer(app: Any, phone: Phone) -> None:
    phone.text("bonjour")
    from sqlalchemy import update

    from bot.adapters.models import Contact, User

    with app.extensions["relais.services"].sessions() as session, session.begin():
        worker = User(email="as@cpas.example", name="Aicha", password_hash="x")
        session.add(worker)
        session.flush()
        session.execute(update(Contact).values(owner_id=worker.id))
    assert phone.text("vous etes la ?") == []
    assert rows(app, "SELECT processed_at IS NOT NULL FROM messages WHERE body = 'vous etes la ?'")[0][0]


# --- status callbacks -----------------------------------------------------------------------

def _outbound(app: Any, sid: str, status: str = "queued") -> int:
    from bot.adapters.models import Contact, Message

    with app.extensions["relais.services"].sessions() as session, session.begin():
        contact = Contact(address="+32470000077", channel="sms", pseudonym="c-test")
        session.add(contact)
        session.flush()
        message = Message(contact_id=contact.id, direction="out", channel="sms", body="x", status=status, sid=sid)
        session.add(message)
        session.flush()
        return message.id


def _status(app: Any, params: dict[str, str]) -> int:
    url = PUBLIC + "/twilio/status"
    return app.test_client().post("/twilio/status", data=params,
                                  headers={"X-Twilio-Signature": sign(app, url, params)}).status_code


def test_status_callbacks_move_forward_only(app: Any) -> None:
    message_id = _outbound(app, "SMout1")
    for status in ("sent", "delivered", "sent", "queued"):
        assert _status(app, {"MessageSid": "SMout1", "MessageStatus": status}) == 204
    assert rows(app, "SELECT status FROM messages WHERE id = :i", i=message_id)[0][0] == "delivered"


def test_a_failed_delivery_keeps_its_error_code(app: Any) -> None:
    message_id = _outbound(app, "SMout2", status="sent")
    _status(app, {"MessageSid": "SMout2", "MessageStatus": "undelivered", "ErrorCode": "30003"})
    assert rows(app, "SELECT status, error_code FROM messages WHERE id = :i", i=message_id)[0] == ("undelivered", 30003)


def test_a_status_callback_needs_a_valid_signature(app: Any) -> None:
    message_id = _outbound(app, "SMout3")
    response = app.test_client().post("/twilio/status", data={"MessageSid": "SMout3", "MessageStatus": "delivered"})
    assert response.status_code == 403
    assert rows(app, "SELECT status FROM messages WHERE id = :i", i=message_id)[0][0] == "queued"


def test_a_status_for_an_unknown_message_is_accepted_and_ignored(app: Any) -> None:
    assert _status(app, {"MessageSid": "SMnobody", "MessageStatus": "delivered"}) == 204
