"""The social workers' inbox: the queue of open cases, a case's thread, and what they do on it.

The views parse the request, call bot.services.cases (the actions) or case_queries (what
the pages read) and render. Those write the audit log in the same transaction and hand the
outbox to the RQ worker only after the commit. Phone numbers are masked in lists; logs
carry case, message and user ids only.
"""

from __future__ import annotations

import logging
import mimetypes
from collections.abc import Callable
from zoneinfo import ZoneInfo

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_login import current_user
from sqlalchemy.orm import Session

from bot import extensions
from bot.adapters import twilio_media
from bot.adapters.models import utcnow
from bot.core import whatsapp
from bot.core.flows import FlowError, Flows
from bot.services import case_queries, cases
from bot.services.case_queries import Conversation, is_failed
from bot.web.auth import db_sessions, require_login, secure_headers
from bot.web.inbox_display import (
    ERROR_LABELS,
    SOURCE_LABELS,
    STATUS_LABELS,
    channel_label,
    queue_rows,
    shown_as,
    sms_rules,
)

log = logging.getLogger(__name__)
bp = Blueprint("inbox", __name__, url_prefix="/inbox")
bp.after_request(secure_headers)
bp.before_request(require_login)

OUTCOMES = ("Information donnée", "Rendez-vous fixé", "Réorienté vers un service",
            "Urgence prise en charge (112, 107...)", "Sans suite")


def _served() -> Flows | None:
    """The flows, or None while the app has no valid version (the inbox must still work)."""
    try:
        return extensions.flows()
    except FlowError:
        return None


def _tz() -> ZoneInfo:
    """The centre's timezone for showing times; Brussels while the flows are refused."""
    flows = _served()
    return flows.schedule.tz if flows else ZoneInfo("Europe/Brussels")


@bp.get("")
def queue() -> str:
    """The queue of open cases; it refreshes itself from /inbox/queue every 3 s."""
    with db_sessions()() as db:
        rows = queue_rows(case_queries.open_queue(db), utcnow(), current_user.id)
    return render_template("inbox/queue.html", rows=rows, tz=_tz())


@bp.get("/queue")
def queue_fragment() -> Response:
    """The queue as an HTML fragment in JSON, for the page's polling."""
    with db_sessions()() as db:
        rows = queue_rows(case_queries.open_queue(db), utcnow(), current_user.id)
    html = render_template("inbox/_queue.html", rows=rows, tz=_tz())
    return jsonify(html=html, count=len(rows), urgent=sum(r.priority == "urgent" for r in rows),
                   ids=[r.id for r in rows])


# --- a case's thread -----------------------------------------------------------------------

def _messages_html(talk: Conversation) -> str:
    return render_template("inbox/_messages.html", messages=talk.messages, names=talk.names, tz=_tz(),
                           status_labels=STATUS_LABELS, error_labels=ERROR_LABELS, source_labels=SOURCE_LABELS,
                           is_failed=is_failed, shown_as=shown_as)


@bp.get("/messages/<int:message_id>/media/<int:index>")
def message_media(message_id: int, index: int) -> Response:
    """One photo, sound or document a person sent, fetched from Twilio and streamed back; never stored."""
    with db_sessions()() as db, db.begin():
        entry = case_queries.media_entry(db, message_id, index, current_user.id)
    if entry is None:
        abort(404)
    cfg = current_app.config
    try:
        fetched = twilio_media.fetch(
            entry["url"], entry.get("type", ""), account_sid=cfg["TWILIO_ACCOUNT_SID"],
            auth_token=cfg["TWILIO_AUTH_TOKEN"], fake_base=cfg["TWILIO_API_BASE_URL"] if cfg["DEV_MODE"] else "",
            timeout=cfg["MEDIA_TIMEOUT"], max_bytes=cfg["MEDIA_MAX_BYTES"])
    except twilio_media.MediaRefused as refusal:
        log.warning("media %s of message %s refused: %s", index, message_id, refusal)
        return Response(f"Fichier non affiché : {refusal}.", status=refusal.status, mimetype="text/plain")
    log.info("media %s of message %s streamed to user %s", index, message_id, current_user.id)
    response = Response(stream_with_context(fetched.chunks), content_type=fetched.content_type)
    name = f"relais-{message_id}-{index + 1}{mimetypes.guess_extension(fetched.content_type) or ''}"
    response.headers["Content-Disposition"] = f'{"inline" if fetched.inline else "attachment"}; filename="{name}"'
    if fetched.length is not None:
        response.headers["Content-Length"] = str(fetched.length)
    # a file is never a page: no script, no plug-in, nothing it could load (auth.secure_headers keeps this)
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


@bp.get("/cases/<int:case_id>")
def thread(case_id: int) -> str:
    """The whole conversation with the person, the notes, and the actions on the case."""
    now = utcnow()
    try:
        with db_sessions()() as db, db.begin():
            shown = case_queries.read_thread(db, case_id, current_user.id)
            messages_html = _messages_html(shown.conversation)
    except case_queries.NotFound:
        abort(404)
    log.info("case %s viewed by user %s", case_id, current_user.id)
    flows, contact = _served(), shown.contact
    return render_template(
        "inbox/thread.html", case=shown.case, contact=contact, messages_html=messages_html, notes=shown.notes,
        names=shown.names, tz=_tz(), channel=channel_label(contact.channel),
        template_needed=whatsapp.needs_template(contact, now), window_ends=whatsapp.window_end(contact),
        sms_rules=sms_rules(), outcomes=OUTCOMES, other_open=shown.other_open, max_reply=cases.MAX_REPLY,
        language=contact.language or (flows.default_language if flows else "fr"))  # French while refused


@bp.get("/cases/<int:case_id>/messages")
def thread_fragment(case_id: int) -> Response:
    """The conversation as an HTML fragment in JSON, for the thread page's polling."""
    with db_sessions()() as db:
        try:
            _case, contact = case_queries.load(db, case_id)
        except case_queries.NotFound:
            abort(404)
        html = _messages_html(case_queries.conversation(db, contact.id))
    return jsonify(html=html)


# --- actions -------------------------------------------------------------------------------

def _act(case_id: int, action: Callable[[Session], cases.Done], done: str | None = None) -> ResponseReturnValue:
    """Run the action (cases.run: one transaction, then the outbox to the worker) and say how it went."""
    back = url_for("inbox.thread", case_id=case_id)
    try:
        result = cases.run(db_sessions(), extensions.redis(), action)
    except case_queries.NotFound:
        abort(404)
    except cases.Refused as refusal:
        flash(str(refusal), "error")
        return redirect(back)
    if result.delayed:
        flash("L'envoi est retardé (file d'envoi indisponible) ; il partira automatiquement.", "error")
    flash(result.notice, "ok")
    return redirect(done or back)


def _sending() -> cases.Sending:
    return cases.Sending(_served(), bool(current_app.config.get("TWILIO_WHATSAPP_TEMPLATE_SID")))


@bp.post("/cases/<int:case_id>/claim")
def claim(case_id: int) -> ResponseReturnValue:
    """Take the case: the bot goes silent for this person, who is told a social worker is there."""
    user_id, sending = current_user.id, _sending()
    return _act(case_id, lambda db: cases.claim(db, case_id, user_id, sending))


@bp.post("/cases/<int:case_id>/reply")
def reply(case_id: int) -> ResponseReturnValue:
    """Send the social worker's text to the person over SMS or WhatsApp."""
    user_id, sending = current_user.id, _sending()
    text = request.form.get("body", "").replace("\r\n", "\n").replace("\r", "\n").strip()
    return _act(case_id, lambda db: cases.reply(db, case_id, user_id, text, sending))


@bp.post("/cases/<int:case_id>/notes")
def note(case_id: int) -> ResponseReturnValue:
    """Add a note for the team; it is never sent to the person."""
    user_id, body = current_user.id, request.form.get("body", "").strip()
    return _act(case_id, lambda db: cases.note(db, case_id, user_id, body))


@bp.post("/cases/<int:case_id>/close")
def close(case_id: int) -> ResponseReturnValue:
    """Close the case with its outcome; the bot answers the person again."""
    user_id, outcome = current_user.id, request.form.get("outcome", "").strip()
    return _act(case_id, lambda db: cases.close(db, case_id, user_id, outcome), done=url_for("inbox.queue"))


@bp.post("/cases/<int:case_id>/handback")
def hand_back(case_id: int) -> ResponseReturnValue:
    """Give the conversation back to the bot; the case stays open in the queue."""
    user_id, sending = current_user.id, _sending()
    return _act(case_id, lambda db: cases.hand_back(db, case_id, user_id, sending))
