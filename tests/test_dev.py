"""Dev mode: the browser phone, the local fake of Twilio, and /healthz."""

from __future__ import annotations

from typing import Any

from tests.conftest import replies_of, rows


def test_the_dev_phone_page_exists_in_dev_mode(client: Any) -> None:
    page = client.get("/dev/phone")
    assert page.status_code == 200
    assert b"/dev/phone/sign" in page.data and b"X-Twilio-Signature" in page.data


def test_a_message_typed_on_the_dev_phone_goes_through_the_signed_webhook(app: Any, client: Any) -> None:
    signed = client.post("/dev/phone/sign", json={"from": "+32470005555", "channel": "sms", "body": "1"}).get_json()
    assert signed["params"]["From"] == "+32470005555"
    answer = client.post(signed["url"], data=signed["params"], headers={"X-Twilio-Signature": signed["signature"]})
    assert answer.status_code == 200
    assert "Horaires" in replies_of(answer.get_data(as_text=True))[0]
    assert rows(app, "SELECT COUNT(*) FROM messages WHERE direction = 'in'")[0][0] == 1


def test_the_dev_phone_can_text_as_whatsapp(client: Any) -> None:
    signed = client.post("/dev/phone/sign", json={"from": "+33612345678", "channel": "whatsapp", "body": "4"}).get_json()
    assert signed["params"]["From"] == "whatsapp:+33612345678"
    answer = client.post(signed["url"], data=signed["params"], headers={"X-Twilio-Signature": signed["signature"]})
    assert "Français" in replies_of(answer.get_data(as_text=True))[0]


def test_dev_routes_do_not_exist_with_real_credentials(make_app: Any) -> None:
    app = make_app(DEV_MODE=False, TWILIO_ACCOUNT_SID="AC" + "1" * 32, TWILIO_AUTH_TOKEN="real-token")
    client = app.test_client()
    assert client.get("/dev/phone").status_code == 404
    assert client.post("/dev/twilio/2010-04-01/Accounts/AC1/Messages.json").status_code == 404


def test_the_fake_twilio_refuses_wrong_credentials(client: Any) -> None:
    answer = client.post("/dev/twilio/2010-04-01/Accounts/ACx/Messages.json",
                         data={"To": "+32470000000", "Body": "x"}, auth=("ACx", "wrong"))
    assert answer.status_code == 401


def test_messages_sent_by_the_system_show_on_the_dev_phone(app: Any, client: Any) -> None:
    cfg = app.config
    created = client.post(f"/dev/twilio/2010-04-01/Accounts/{cfg['TWILIO_ACCOUNT_SID']}/Messages.json",
                          data={"To": "+32470006666", "From": cfg["TWILIO_SMS_FROM"], "Body": "Rappel : atelier demain"},
                          auth=(cfg["TWILIO_ACCOUNT_SID"], cfg["TWILIO_AUTH_TOKEN"]))
    assert created.status_code == 201 and created.get_json()["sid"].startswith("SM")
    shown = client.get("/dev/phone/messages?to=%2B32470006666&since=0").get_json()
    assert [m["body"] for m in shown["messages"]] == ["Rappel : atelier demain"]
    assert client.get("/dev/phone/messages?to=%2B32470007777&since=0").get_json()["messages"] == []


def test_healthz_reports_each_part(client: Any) -> None:
    answer = client.get("/healthz")
    assert answer.status_code == 200
    body = answer.get_json()
    assert body["database"] == "ok" and body["redis"] == "ok"
    assert body["nlu"].startswith("down")  # the test app's NLU points at a closed port


def test_healthz_says_when_redis_is_down(make_app: Any) -> None:
    app = make_app(REDIS_URL="redis://127.0.0.1:1/0")
    body = app.test_client().get("/healthz").get_json()
    assert body["redis"] == "down" and body["database"] == "ok"


def test_the_bot_still_answers_when_redis_is_down(make_app: Any) -> None:
    from tests.conftest import Phone

    app = make_app(REDIS_URL="redis://127.0.0.1:1/0")
    assert "Horaires" in Phone(app).text("bonjour")[0]


def test_metrics_count_answered_messages(client: Any) -> None:
    from tests.conftest import Phone

    Phone(client.application).text("1")
    answer = client.get("/metrics")
    assert answer.status_code == 200
    assert b"relais_inbound_messages_total{understood_by=\"menu\"}" in answer.data
