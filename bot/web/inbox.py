"""The social workers' inbox: the queue of open cases, a case's thread, and what they do on it.

Every view of a case and every action writes an AuditEntry in the same transaction. A
message to the person is written to the outbox first, then handed to the RQ worker by id.
Phone numbers are masked in lists; logs carry case, message and user ids only.
"""

from __future__ import annotations

import logging
import mimetypes
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import phonenumbers
import redis
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
from sqlalchemy import case as sql_case
from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from bot.adapters import outbox as outbound
from bot.adapters import twilio_media
from bot.adapters.models import Case, Contact, Message, Note, User, utcnow
from bot.core import sms
from bot.core.flows import FlowError, Flows
from bot.web.auth import audit, db_sessions, require_login, secure_headers

log = logging.getLogger(__name__)
bp = Blueprint("inbox", __name__, url_prefix="/inbox")
bp.after_request(secure_headers)

WHATSAPP_WINDOW = timedelta(hours=24)
MAX_REPLY = 1600  # Twilio's limit for one message body
MAX_NOTE = 5000
FAILED_STATUSES = ("failed", "undelivered")
STOPPED_CODE = 21610  # the person texted STOP: nothing reaches them any more
URGENT_FIRST = sql_case((Case.priority == "urgent", 0), else_=1)
OUTCOMES = ("Information donnée", "Rendez-vous fixé", "Réorienté vers un service",
            "Urgence prise en charge (112, 107...)", "Sans suite")

STATUS_LABELS = {
    "received": "reçu", "processed": "reçu", "replied": "envoyé", "queued": "en attente d'envoi",
    "accepted": "accepté", "sending": "envoi en cours", "sent": "envoyé", "delivered": "remis",
    "read": "lu", "undelivered": "non remis", "failed": "échec", "unknown": "incertain (à vérifier)",
}
ERROR_LABELS = {
    21610: "la personne a envoyé STOP", 21211: "numéro invalide", 21614: "pas un numéro de mobile",
    30003: "téléphone injoignable", 30005: "numéro inconnu", 30006: "ligne fixe ou opérateur",
    30007: "filtré comme spam", 63016: "hors de la fenêtre WhatsApp de 24 h",
}
SOURCE_LABELS = {"bot": "Robot", "system": "Message automatique", "staff": "Équipe", "worker": "Travailleur social"}


FALLBACK_TEXTS = {
    "claimed": "Un travailleur social lit vos messages. / Een maatschappelijk werker leest uw berichten. "
               "/ A social worker is reading your messages.",
    "handed_back": "Le robot vous répond de nouveau. MENU pour le menu. / De robot antwoordt weer. "
                   "/ The robot answers again.",
}


class Refused(Exception):
    """An action that cannot be done now; its message is shown to the social worker."""


bp.before_request(require_login)


def _flows() -> Flows:
    return current_app.extensions["relais.services"].flows()  # type: ignore[no-any-return]


def _served() -> Flows | None:
    """The flows, or None while the app has no valid version (the inbox must still work)."""
    try:
        return _flows()
    except FlowError:
        return None


def _tz() -> ZoneInfo:
    """The centre's timezone for showing times; Brussels while the flows are refused."""
    flows = _served()
    return flows.schedule.tz if flows else ZoneInfo("Europe/Brussels")


# --- pure helpers ------------------------------------------------------------------------

def mask(address: str) -> str:
    """A phone number fit for a list: country and first group, then only the last two digits."""
    number = address.removeprefix("whatsapp:")
    try:
        formatted = phonenumbers.format_number(phonenumbers.parse(number, None),
                                               phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    except phonenumbers.NumberParseException:
        formatted = number
    groups = formatted.split(" ")
    if len(groups) > 2:
        head, tail = " ".join(groups[:2]) + " ", " ".join(groups[2:])
    else:  # not a number phonenumbers can group: keep only its first four characters
        head, tail = formatted[:4], formatted[4:]
    return head + _hide_digits(tail, keep=2)


def _hide_digits(text: str, keep: int) -> str:
    out, seen = [], 0
    for char in reversed(text):
        seen += char.isdigit()
        out.append("•" if char.isdigit() and seen > keep else char)
    return "".join(reversed(out))


def waited(delta: timedelta) -> str:
    """How long someone has waited, the way a person says it: '12 min', '2 h 05', '3 j 4 h'."""
    minutes = max(0, int(delta.total_seconds() // 60))
    if minutes < 1:
        return "< 1 min"
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes:02d}"
    days, hours = divmod(hours, 24)
    return f"{days} j {hours} h"


def needs_template(contact: Contact, now: datetime) -> bool:
    """True when WhatsApp only accepts an approved template: the person last wrote over 24 h ago."""
    if contact.channel != "whatsapp":
        return False
    return contact.last_inbound_at is None or now - contact.last_inbound_at > WHATSAPP_WINDOW


def is_failed(message: Message) -> bool:
    """True when a message did not reach the person."""
    return message.status in FAILED_STATUSES or message.error_code == STOPPED_CODE


def sms_rules() -> dict[str, Any]:
    """bot/core/sms.py's GSM-7 alphabet and replacements, for the segment counter in the browser."""
    return {"basic": "".join(sorted(sms.GSM7_BASIC)), "extension": "".join(sorted(sms.GSM7_EXTENSION)),
            "replacements": sms._REPLACEMENTS}


def channel_label(channel: str) -> str:
    """'SMS' or 'WhatsApp'."""
    return "WhatsApp" if channel == "whatsapp" else "SMS"


# --- the queue -----------------------------------------------------------------------------

@dataclass(frozen=True)
class QueueRow:
    """One open case as the queue shows it."""

    id: int
    reference: str
    priority: str
    reason: str
    channel: str
    who: str
    waited: str
    opened_at: datetime
    claimed_by: str | None
    mine: bool
    bot_talks: bool
    failed: bool
    unanswered: bool


def ordered_cases(db: Session, status: str = "open") -> list[Case]:
    """Cases in a status, most urgent first, then the longest waiting."""
    query = select(Case).where(Case.status == status).order_by(URGENT_FIRST, Case.opened_at, Case.id)
    return list(db.scalars(query))


def user_names(db: Session, ids: Iterable[int | None]) -> dict[int, str]:
    """The names of these users, by id."""
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    return {i: name for i, name in db.execute(select(User.id, User.name).where(User.id.in_(wanted)))}


def queue_rows(db: Session, now: datetime, user_id: int) -> list[QueueRow]:
    """The open cases with what a social worker needs to pick the next one."""
    cases = ordered_cases(db)
    contact_ids = {c.contact_id for c in cases}
    contacts = {c.id: c for c in db.scalars(select(Contact).where(Contact.id.in_(contact_ids)))}
    failed = set(db.scalars(select(Message.contact_id).distinct().where(
        Message.contact_id.in_(contact_ids),
        or_(Message.status.in_(FAILED_STATUSES), Message.error_code == STOPPED_CODE))))
    last_ids = select(func.max(Message.id)).where(Message.contact_id.in_(contact_ids)).group_by(Message.contact_id)
    unanswered = set(db.scalars(select(Message.contact_id).where(Message.id.in_(last_ids),
                                                                  Message.direction == "in")))
    names = user_names(db, (c.claimed_by_id for c in cases))
    return [QueueRow(
        id=c.id, reference=c.reference or str(c.id), priority=c.priority, reason=c.reason,
        channel=channel_label(contacts[c.contact_id].channel), who=mask(contacts[c.contact_id].address),
        waited=waited(now - c.opened_at), opened_at=c.opened_at,
        claimed_by=names.get(c.claimed_by_id) if c.claimed_by_id else None,
        mine=c.claimed_by_id == user_id, bot_talks=contacts[c.contact_id].owner_id is None,
        failed=c.contact_id in failed, unanswered=c.contact_id in unanswered,
    ) for c in cases]


@bp.get("")
def queue() -> str:
    """The queue of open cases; it refreshes itself from /inbox/queue every 3 s."""
    with db_sessions()() as db:
        rows = queue_rows(db, utcnow(), current_user.id)
    return render_template("inbox/queue.html", rows=rows, tz=_tz())


@bp.get("/queue")
def queue_fragment() -> Response:
    """The queue as an HTML fragment in JSON, for the page's polling."""
    with db_sessions()() as db:
        rows = queue_rows(db, utcnow(), current_user.id)
    html = render_template("inbox/_queue.html", rows=rows, tz=_tz())
    return jsonify(html=html, count=len(rows), urgent=sum(r.priority == "urgent" for r in rows),
                   ids=[r.id for r in rows])


# --- a case's thread -----------------------------------------------------------------------

def _load(db: Session, case_id: int) -> tuple[Case, Contact]:
    case = db.get(Case, case_id)
    if case is None:
        abort(404)
    contact = db.get(Contact, case.contact_id)
    assert contact is not None
    return case, contact


def _thread_messages(db: Session, contact_id: int) -> list[Message]:
    return list(db.scalars(select(Message).where(Message.contact_id == contact_id)
                           .order_by(Message.created_at, Message.id)))


def _messages_html(db: Session, contact_id: int) -> str:
    messages = _thread_messages(db, contact_id)
    names = user_names(db, (m.user_id for m in messages))
    return render_template("inbox/_messages.html", messages=messages, names=names, tz=_tz(),
                           **_labels())


def _labels() -> dict[str, Any]:
    return {"status_labels": STATUS_LABELS, "error_labels": ERROR_LABELS, "source_labels": SOURCE_LABELS,
            "is_failed": is_failed, "shown_as": shown_as}


def shown_as(entry: dict[str, str]) -> str:
    """How the thread shows one entry of Message.media: image, audio, video, download, refused, location."""
    if entry.get("kind") == "location":
        return "location"
    content_type = twilio_media.mime(entry.get("type", ""))
    if content_type in twilio_media.INLINE:
        return content_type.split("/")[0]
    return "download" if content_type in twilio_media.DOWNLOAD else "refused"


# --- media: streamed from Twilio, never stored, never linked to Twilio in a page ----------------

@bp.get("/messages/<int:message_id>/media/<int:index>")
def message_media(message_id: int, index: int) -> Response:
    """One photo, sound or document a person sent, fetched from Twilio and streamed back."""
    with db_sessions()() as db, db.begin():
        message = db.get(Message, message_id)
        entries = (message.media or []) if message is not None and message.direction == "in" else []
        entry = entries[index] if index < len(entries) else {}
        if not entry.get("url"):
            abort(404)
        assert message is not None
        case_id = db.scalar(select(Case.id).where(Case.contact_id == message.contact_id)
                            .order_by(Case.id.desc()).limit(1))
        audit(db, "view_media", user_id=current_user.id, case_id=case_id, detail=f"message {message_id} media {index}")
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
    with db_sessions()() as db, db.begin():
        case, contact = _load(db, case_id)
        audit(db, "view_case", user_id=current_user.id, case_id=case.id)
        messages_html = _messages_html(db, contact.id)
        case_ids = list(db.scalars(select(Case.id).where(Case.contact_id == contact.id)))
        notes = list(db.scalars(select(Note).where(Note.case_id.in_(case_ids)).order_by(Note.created_at, Note.id)))
        names = user_names(db, [case.claimed_by_id, contact.owner_id, *(n.user_id for n in notes)])
        other_open = db.scalar(select(func.count(Case.id)).where(
            Case.contact_id == contact.id, Case.status == "open", Case.id != case.id)) or 0
    log.info("case %s viewed by user %s", case_id, current_user.id)
    return render_template(
        "inbox/thread.html", case=case, contact=contact, messages_html=messages_html, notes=notes,
        names=names, tz=_tz(), channel=channel_label(contact.channel),
        template_needed=needs_template(contact, now), window_ends=_window_end(contact),
        sms_rules=sms_rules(), outcomes=OUTCOMES, other_open=other_open, max_reply=MAX_REPLY,
        language=contact.language or _default_language())


def _default_language() -> str:
    flows = _served()
    return flows.default_language if flows else "fr"  # French while the flows are refused


def _window_end(contact: Contact) -> datetime | None:
    if contact.channel != "whatsapp" or contact.last_inbound_at is None:
        return None
    return contact.last_inbound_at + WHATSAPP_WINDOW


@bp.get("/cases/<int:case_id>/messages")
def thread_fragment(case_id: int) -> Response:
    """The conversation as an HTML fragment in JSON, for the thread page's polling."""
    with db_sessions()() as db:
        case, contact = _load(db, case_id)
        html = _messages_html(db, contact.id)
    return jsonify(html=html)


# --- actions -------------------------------------------------------------------------------

def _act(case_id: int, action: Callable[[Session, Case, Contact], tuple[str, list[tuple[int, str]]]],
         done: str | None = None) -> ResponseReturnValue:
    """Run action in one transaction, then hand its outbox messages to the worker.

    action returns the confirmation to show and the (message id, queue) pairs to enqueue;
    Refused rolls everything back and shows its message instead.
    """
    back = url_for("inbox.thread", case_id=case_id)
    try:
        with db_sessions()() as db, db.begin():
            case, contact = _load(db, case_id)
            confirmation, to_send = action(db, case, contact)
    except Refused as refusal:
        flash(str(refusal), "error")
        return redirect(back)
    for message_id, queue_name in to_send:
        _enqueue(message_id, queue_name)
    flash(confirmation, "ok")
    return redirect(done or back)


def _enqueue(message_id: int, queue_name: str) -> None:
    try:
        outbound.enqueue(current_app.extensions["relais.redis"], message_id, queue_name)
    except redis.RedisError:
        # The row is in the outbox: the worker's sweep sends it when Redis is back.
        log.error("outbound %s not enqueued (Redis unavailable); left for the outbox sweep", message_id)
        flash("L'envoi est retardé (file d'envoi indisponible) ; il partira automatiquement.", "error")


def _queue_of(case: Case) -> str:
    return "urgent" if case.priority == "urgent" else "default"


def _say(db: Session, contact: Contact, text: str, source: str, user_id: int | None = None) -> Message:
    """Write a message to the person in the outbox; a template when WhatsApp's window is closed."""
    template = needs_template(contact, utcnow())
    if template and not current_app.config.get("TWILIO_WHATSAPP_TEMPLATE_SID"):
        raise Refused("La personne n'a pas écrit depuis plus de 24 h et aucun modèle WhatsApp "
                      "n'est configuré (TWILIO_WHATSAPP_TEMPLATE_SID) : impossible d'envoyer.")
    message = outbound.create(db, contact, text, source=source)
    message.user_id = user_id
    message.template = template
    db.flush()
    return message


def _text(key: str, contact: Contact) -> str:
    flows = _served()
    if flows is None:  # the bot's texts are refused: a plain sentence in the three languages
        return FALLBACK_TEXTS[key]
    return flows.text(key, contact.language or flows.default_language)


def _grab(db: Session, case: Case, contact: Contact, user_id: int) -> None:
    """Claim whatever of the case and the thread is still free for user_id."""
    # Conditional updates: of two social workers clicking at once, only one gets the case.
    if case.claimed_by_id is None:
        taken = db.execute(update(Case).where(Case.id == case.id, Case.claimed_by_id.is_(None))
                           .values(claimed_by_id=user_id, claimed_at=utcnow())
                           .execution_options(synchronize_session="fetch"))
        if taken.rowcount != 1:  # type: ignore[attr-defined]
            raise Refused("Un collègue vient de prendre ce dossier.")
    if contact.owner_id is None:
        owned = db.execute(update(Contact).where(Contact.id == contact.id, Contact.owner_id.is_(None))
                           .values(owner_id=user_id).execution_options(synchronize_session="fetch"))
        if owned.rowcount != 1:  # type: ignore[attr-defined]
            raise Refused("Un collègue vient de prendre cette conversation.")


def _refuse_if_taken(db: Session, case: Case, contact: Contact, user_id: int) -> None:
    if case.status != "open":
        raise Refused("Ce dossier est fermé.")
    for holder, what in ((contact.owner_id, "Cette personne est déjà suivie"),
                         (case.claimed_by_id, "Ce dossier est déjà pris en charge")):
        if holder is not None and holder != user_id:
            raise Refused(f"{what} par {user_names(db, [holder]).get(holder, 'un collègue')}.")


@bp.post("/cases/<int:case_id>/claim")
def claim(case_id: int) -> ResponseReturnValue:
    """Take the case: the bot goes silent for this person, who is told a social worker is there."""
    user_id = current_user.id

    def action(db: Session, case: Case, contact: Contact) -> tuple[str, list[tuple[int, str]]]:
        _refuse_if_taken(db, case, contact, user_id)
        if case.claimed_by_id == user_id and contact.owner_id == user_id:
            return "Vous avez déjà ce dossier.", []
        _grab(db, case, contact, user_id)
        audit(db, "claim", user_id=user_id, case_id=case.id)
        log.info("case %s claimed by user %s", case.id, user_id)
        if contact.opted_out:
            return "Dossier pris en charge. La personne a demandé STOP : aucun message envoyé.", []
        try:
            message = _say(db, contact, _text("claimed", contact), "system")
        except Refused as why:  # the case is taken all the same; the worker knows nobody was told
            return f"Dossier pris en charge. {why}", []
        return "Dossier pris en charge : la personne est prévenue.", [(message.id, _queue_of(case))]

    return _act(case_id, action)


@bp.post("/cases/<int:case_id>/reply")
def reply(case_id: int) -> ResponseReturnValue:
    """Send the social worker's text to the person over SMS or WhatsApp."""
    user_id = current_user.id
    text = request.form.get("body", "").replace("\r\n", "\n").replace("\r", "\n").strip()

    def action(db: Session, case: Case, contact: Contact) -> tuple[str, list[tuple[int, str]]]:
        if not text:
            raise Refused("Le message est vide.")
        if len(text) > MAX_REPLY:
            raise Refused(f"Le message est trop long ({len(text)} caractères, {MAX_REPLY} au plus).")
        if contact.opted_out:
            raise Refused("La personne a demandé STOP : elle ne reçoit plus de messages.")
        if case.status != "open":
            raise Refused("Ce dossier est fermé.")
        _grab(db, case, contact, user_id)  # answering someone means the bot stops talking
        message = _say(db, contact, text, "worker", user_id=user_id)
        audit(db, "reply", user_id=user_id, case_id=case.id,
              detail=f"message {message.id}" + (" (template)" if message.template else ""))
        log.info("case %s: reply %s by user %s", case.id, message.id, user_id)
        if message.template:
            return ("La personne n'a pas écrit depuis plus de 24 h : la réponse part comme modèle "
                    "WhatsApp approuvé.", [(message.id, _queue_of(case))])
        return "Réponse en cours d'envoi.", [(message.id, _queue_of(case))]

    return _act(case_id, action)


@bp.post("/cases/<int:case_id>/notes")
def note(case_id: int) -> ResponseReturnValue:
    """Add a note for the team; it is never sent to the person."""
    user_id = current_user.id
    body = request.form.get("body", "").strip()

    def action(db: Session, case: Case, contact: Contact) -> tuple[str, list[tuple[int, str]]]:
        if not body:
            raise Refused("La note est vide.")
        if len(body) > MAX_NOTE:
            raise Refused(f"La note est trop longue ({MAX_NOTE} caractères au plus).")
        added = Note(case_id=case.id, user_id=user_id, body=body)
        db.add(added)
        db.flush()
        audit(db, "note", user_id=user_id, case_id=case.id, detail=f"note {added.id}")
        return "Note ajoutée.", []

    return _act(case_id, action)


@bp.post("/cases/<int:case_id>/close")
def close(case_id: int) -> ResponseReturnValue:
    """Close the case with its outcome; the bot answers the person again."""
    user_id = current_user.id
    outcome = request.form.get("outcome", "").strip()

    def action(db: Session, case: Case, contact: Contact) -> tuple[str, list[tuple[int, str]]]:
        if not outcome:
            raise Refused("Indiquez l'issue du dossier avant de le fermer.")
        if case.status != "open":
            raise Refused("Ce dossier est déjà fermé.")
        case.status, case.closed_at, case.outcome = "closed", utcnow(), outcome[:255]
        others = db.scalar(select(func.count(Case.id)).where(
            Case.contact_id == contact.id, Case.status == "open", Case.id != case.id)) or 0
        if not others:
            contact.owner_id = None  # nobody would see what the person writes next: the bot answers
        audit(db, "close", user_id=user_id, case_id=case.id)
        log.info("case %s closed by user %s", case.id, user_id)
        return "Dossier fermé.", []

    return _act(case_id, action, done=url_for("inbox.queue"))


@bp.post("/cases/<int:case_id>/handback")
def hand_back(case_id: int) -> ResponseReturnValue:
    """Give the conversation back to the bot; the case stays open in the queue."""
    user_id = current_user.id

    def action(db: Session, case: Case, contact: Contact) -> tuple[str, list[tuple[int, str]]]:
        if contact.owner_id is None:
            raise Refused("Le robot répond déjà à cette personne.")
        contact.owner_id = None
        audit(db, "hand_back", user_id=user_id, case_id=case.id)
        log.info("case %s handed back to the bot by user %s", case.id, user_id)
        if contact.opted_out:
            return "Le robot répond de nouveau à cette personne.", []
        try:
            message = _say(db, contact, _text("handed_back", contact), "system")
        except Refused as why:
            return f"Le robot répond de nouveau à cette personne. {why}", []
        return "Le robot répond de nouveau à cette personne ; elle est prévenue.", [(message.id, _queue_of(case))]

    return _act(case_id, action)
