"""Dev mode only (no Twilio credentials): a phone in the browser and a local fake of Twilio.

`/dev/phone` texts the bot through the real, signed webhook. `/dev/twilio/...` accepts
what the Twilio client sends (the client is pointed here) and plays Twilio's status
callbacks back; what it receives is shown on the phone page. Tests use the same fake.
"""

from __future__ import annotations

import json
import logging
import secrets
import threading
import time
from typing import Any

import redis
import requests
from flask import Blueprint, Response, current_app, jsonify, render_template, request
from twilio.request_validator import RequestValidator

log = logging.getLogger(__name__)
bp = Blueprint("dev", __name__, url_prefix="/dev")

SENT_KEY = "relais:dev:sent"  # every message the fake accepted, newest last
OPTED_OUT_KEY = "relais:dev:opted-out"  # addresses the fake refuses with 21610
FAIL_KEY = "relais:dev:undeliverable"  # addresses accepted, then reported undelivered (30003)
DELAY_KEY = "relais:dev:delay"  # seconds the fake waits before answering (a slow Twilio)
REQUESTS_KEY = "relais:dev:requests"  # how many create-message requests reached the fake


def _redis() -> redis.Redis:
    return current_app.extensions["relais.redis"]


def _sign(url: str, params: dict[str, str]) -> str:
    return RequestValidator(current_app.config["TWILIO_AUTH_TOKEN"]).compute_signature(url, params)


@bp.get("/phone")
def phone() -> str:
    """A page that texts the bot like a phone would."""
    return render_template("dev_phone.html", to=current_app.config["TWILIO_SMS_FROM"])


@bp.post("/phone/sign")
def phone_sign() -> Response:
    """The form fields and signature Twilio would send for a message typed on the page."""
    data = request.get_json(force=True, silent=True) or {}
    number = str(data.get("from") or "+32470000000").strip()
    channel = data.get("channel", "sms")
    sender = f"whatsapp:{number}" if channel == "whatsapp" else number
    to = current_app.config["TWILIO_WHATSAPP_FROM" if channel == "whatsapp" else "TWILIO_SMS_FROM"]
    params = {
        "MessageSid": "SM" + secrets.token_hex(16),
        "AccountSid": current_app.config["TWILIO_ACCOUNT_SID"],
        "From": sender, "To": to, "Body": str(data.get("body", "")), "NumMedia": "0",
    }
    url = current_app.config["PUBLIC_BASE_URL"] + "/twilio/inbound"
    return jsonify(params=params, signature=_sign(url, params), url="/twilio/inbound")


@bp.get("/phone/messages")
def phone_messages() -> Response:
    """Messages the fake Twilio accepted for one address, after a given index."""
    address = request.args.get("to", "")
    since = int(request.args.get("since", "0") or 0)
    raw: list[bytes] = _redis().lrange(SENT_KEY, since, -1)  # type: ignore[assignment]
    items = [json.loads(r) for r in raw]
    return jsonify(next=since + len(items),
                   messages=[m for m in items if m["to"].removeprefix("whatsapp:") == address.removeprefix("whatsapp:")])


@bp.post("/twilio/2010-04-01/Accounts/<account_sid>/Messages.json")
def fake_create_message(account_sid: str) -> tuple[Response, int]:
    """Twilio's 'create a message', as far as Relais uses it."""
    auth = request.authorization
    if (auth is None or auth.username != current_app.config["TWILIO_ACCOUNT_SID"]
            or auth.password != current_app.config["TWILIO_AUTH_TOKEN"]):
        return jsonify(code=20003, message="Authenticate", status=401), 401
    to, body = request.form.get("To", ""), request.form.get("Body", "")
    _redis().incr(REQUESTS_KEY)
    delay: bytes | None = _redis().get(DELAY_KEY)  # type: ignore[assignment]
    if delay:
        time.sleep(float(delay))
    if _redis().sismember(OPTED_OUT_KEY, to):
        return jsonify(code=21610, message="Attempt to send to unsubscribed recipient",
                       status=400, more_info="https://www.twilio.com/docs/errors/21610"), 400
    content_sid = request.form.get("ContentSid")
    if content_sid:  # an approved WhatsApp template: the text is its variable {{1}}
        body = _template_text(request.form.get("ContentVariables", ""))
    sid = "SM" + secrets.token_hex(16)
    record = {"sid": sid, "to": to, "from": request.form.get("From", ""), "body": body,
              "at": time.time()}
    if content_sid:
        record["content_sid"] = content_sid
    _redis().rpush(SENT_KEY, json.dumps(record))
    callback = request.form.get("StatusCallback")
    if callback:
        final = "undelivered" if _redis().sismember(FAIL_KEY, to) else "delivered"
        token = current_app.config["TWILIO_AUTH_TOKEN"]
        threading.Thread(target=_play_callbacks, args=(callback, sid, final, token), daemon=True).start()
    return jsonify(_resource(account_sid, sid, record)), 201


def _template_text(variables: str) -> str:
    try:
        values = json.loads(variables or "{}")
    except ValueError:
        return ""
    return str(values.get("1", "")) if isinstance(values, dict) else ""


def _resource(account_sid: str, sid: str, record: dict[str, Any]) -> dict[str, Any]:
    return {"sid": sid, "account_sid": account_sid, "to": record["to"], "from": record["from"],
            "body": record["body"], "status": "queued", "num_segments": "1", "direction": "outbound-api",
            "error_code": None, "error_message": None, "price": None, "uri":
            f"/2010-04-01/Accounts/{account_sid}/Messages/{sid}.json"}


def _play_callbacks(url: str, sid: str, final: str, token: str) -> None:
    validator = RequestValidator(token)
    for status in ("sent", final):
        time.sleep(0.05)
        params = {"MessageSid": sid, "MessageStatus": status}
        if status == "undelivered":
            params["ErrorCode"] = "30003"
        try:
            requests.post(url, data=params, timeout=5,
                          headers={"X-Twilio-Signature": validator.compute_signature(url, params)})
        except requests.RequestException as exc:
            log.warning("fake Twilio could not deliver a status callback: %s", exc.__class__.__name__)
