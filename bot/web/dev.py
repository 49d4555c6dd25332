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
from pathlib import Path
from typing import Any

import redis
import requests
from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from twilio.request_validator import RequestValidator

from bot import extensions

log = logging.getLogger(__name__)
bp = Blueprint("dev", __name__, url_prefix="/dev")

SENT_KEY = "relais:dev:sent"  # every message the fake accepted, newest last
OPTED_OUT_KEY = "relais:dev:opted-out"  # addresses the fake refuses with 21610
FAIL_KEY = "relais:dev:undeliverable"  # addresses accepted, then reported undelivered (30003)
DELAY_KEY = "relais:dev:delay"  # seconds the fake waits before answering (a slow Twilio)
REQUESTS_KEY = "relais:dev:requests"  # how many create-message requests reached the fake

# Media the fake serves, as Twilio serves what people send: tiny samples (bot/web/static/dev/,
# written by tests/data/make_media_samples.py),
# and two hostile files that the inbox must never show in a page.
SAMPLES_DIR = Path(__file__).resolve().parent / "static" / "dev"
SAMPLES = {"photo.png": "image/png", "voice.mp3": "audio/mpeg", "letter.pdf": "application/pdf"}
HOSTILE = {
    "drawing.svg": (b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><script>alert(2)</script></svg>',
                    "image/svg+xml"),
    "page.html": (b"<!doctype html><script>alert(document.cookie)</script>", "text/html"),
}
# What the dev phone's buttons send: the sample and its declared type.
PHONE_MEDIA = {"photo": ("photo.png", "image/png"), "voice": ("voice.mp3", "audio/mpeg"),
               "letter": ("letter.pdf", "application/pdf")}
PHONE_LOCATION = {"Latitude": "50.827433", "Longitude": "4.345916",
                  "Address": "Place Van Meenen 39, 1060 Saint-Gilles", "Label": "Maison communale"}


def _redis() -> redis.Redis:
    return extensions.redis()


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
    if data.get("media") in PHONE_MEDIA:
        name, content_type = PHONE_MEDIA[data["media"]]
        params.update(NumMedia="1", MediaUrl0=media_url(params["MessageSid"], name), MediaContentType0=content_type)
    if data.get("location"):
        params.update(PHONE_LOCATION)
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


def media_url(message_sid: str, name: str) -> str:
    """The URL the fake gives a sample media, shaped like Twilio's MediaUrl."""
    cfg = current_app.config
    return (f"{cfg['TWILIO_API_BASE_URL']}/2010-04-01/Accounts/{cfg['TWILIO_ACCOUNT_SID']}"
            f"/Messages/MM{message_sid[2:]}/Media/{name}")


def _authorized() -> bool:
    auth = request.authorization
    return (auth is not None and auth.username == current_app.config["TWILIO_ACCOUNT_SID"]
            and auth.password == current_app.config["TWILIO_AUTH_TOKEN"])


@bp.get("/twilio/2010-04-01/Accounts/<account_sid>/Messages/<message_sid>/Media/<name>")
def fake_media(account_sid: str, message_sid: str, name: str) -> Any:
    """Twilio's media URL: with the account's credentials, a redirect to the file on its CDN."""
    if not _authorized():
        return jsonify(code=20003, message="Authenticate", status=401), 401
    query = request.query_string.decode("latin-1")
    return redirect(url_for("dev.fake_media_cdn", name=name) + (f"?{query}" if query else ""), code=307)


@bp.get("/twilio/cdn/<name>")
def fake_media_cdn(name: str) -> Response:
    """The file itself; `?as=type` serves it under another type (a file that lies about itself)."""
    if name in SAMPLES:
        data, content_type = (SAMPLES_DIR / name).read_bytes(), SAMPLES[name]
    elif name in HOSTILE:
        data, content_type = HOSTILE[name]
    else:
        abort(404)
    return Response(data, content_type=request.args.get("as") or content_type)


@bp.post("/twilio/2010-04-01/Accounts/<account_sid>/Messages.json")
def fake_create_message(account_sid: str) -> tuple[Response, int]:
    """Twilio's 'create a message', as far as Relais uses it."""
    if not _authorized():
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
