"""A case's life: opened by the pipeline or the sweeper, claimed, answered, handed back, closed.

Every function takes the caller's Session and ids and changes rows in that one transaction;
the social workers' actions also record themselves in the audit log. `run` commits an action
and only then hands its outbox messages to the RQ worker, by id. An action that cannot be
done raises Refused (nothing is kept). Logs carry case, message and user ids only.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

import redis
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from bot.adapters import outbox
from bot.adapters.models import Case, Contact, Message, Note, utcnow
from bot.core.flows import Flows
from bot.core.whatsapp import needs_template
from bot.services.audit import record
from bot.services.case_queries import load, other_open, user_names

log = logging.getLogger(__name__)

REFERENCE_ALPHABET = "ACDEFGHJKLMNPQRTUVWXY34679"
SAFE_REPLY = ("Message bien recu. Un travailleur social le lira. / Bericht ontvangen, "
              "een maatschappelijk werker leest het. / Message received, a social worker will read it.")
MAX_REPLY = 1600  # Twilio's limit for one message body
MAX_NOTE = 5000
# the bot's texts while the flows are refused: a plain sentence in the three languages
FALLBACK_TEXTS = {
    "claimed": "Un travailleur social lit vos messages. / Een maatschappelijk werker leest uw berichten. "
               "/ A social worker is reading your messages.",
    "handed_back": "Le robot vous répond de nouveau. MENU pour le menu. / De robot antwoordt weer. "
                   "/ The robot answers again.",
}


class Refused(Exception):
    """An action that cannot be done now; its message is shown to the social worker."""


@dataclass
class Done:
    """What an action did: the confirmation to show and the (message id, queue) pairs to send."""

    notice: str
    to_send: list[tuple[int, str]] = field(default_factory=list)
    delayed: bool = False  # Redis refused a message: the outbox sweep sends it later


@dataclass(frozen=True)
class Sending:
    """What sending to a person needs beyond the database: the flows' texts, a WhatsApp template."""

    flows: Flows | None  # None while the flows are refused
    has_template: bool  # TWILIO_WHATSAPP_TEMPLATE_SID is set


# --- opening ---------------------------------------------------------------------------------

def new_reference() -> str:
    """A short reference a person can read out on the phone: no 0/O, 1/I look-alikes."""
    return "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(6))


def open_case_of(db: Session, contact_id: int) -> Case | None:
    """The contact's newest open case, if any."""
    query = select(Case).where(Case.contact_id == contact_id, Case.status == "open").order_by(Case.id.desc())
    return db.scalars(query).first()


def open_case(db: Session, contact_id: int, message_id: int, priority: str, reason: str, now: datetime,
              reference: str = "") -> Case:
    """A new open case, flushed so that it has an id; a reference is made when none is given."""
    case = Case(contact_id=contact_id, message_id=message_id, priority=priority, reason=reason[:255],
                reference=reference or new_reference(), opened_at=now)
    db.add(case)
    db.flush()
    return case


def open_or_raise(db: Session, contact_id: int, message_id: int, priority: str, reason: str, now: datetime,
                  reference: str = "") -> Case | None:
    """Open a case, or raise the contact's waiting case to urgent; the case to escalate, else None."""
    case = open_case_of(db, contact_id)
    if case is None:
        return open_case(db, contact_id, message_id, priority, reason, now, reference)
    if priority == "urgent" and case.priority != "urgent":
        # a waiting case becomes urgent: it is escalated again, as urgent
        case.priority, case.reason, case.escalated_at, case.opened_at = "urgent", reason[:255], None, now
        db.flush()
        return case
    if case.priority == priority == "normal":
        case.reason = reason[:255]  # the person's answers (talk flow) complete a waiting case; no new alert
    return None


def queue_safe_reply(db: Session, contact: Contact, in_reply_to: int) -> Message:
    """The safe reply to an inbound message, written to the outbox (the caller sends it)."""
    reply = outbox.create(db, contact, SAFE_REPLY, source="bot")
    reply.in_reply_to_id = in_reply_to
    db.flush()
    return reply


# --- running an action -----------------------------------------------------------------------

def run(sessions: sessionmaker[Session], connection: redis.Redis, action: Callable[[Session], Done]) -> Done:
    """Run action in one transaction; after the commit, hand its outbox messages to the worker."""
    with sessions() as db, db.begin():
        done = action(db)
    for message_id, queue_name in done.to_send:
        try:
            outbox.enqueue(connection, message_id, queue_name)
        except redis.RedisError:
            # The row is in the outbox: the worker's sweep sends it when Redis is back.
            log.error("outbound %s not enqueued (Redis unavailable); left for the outbox sweep", message_id)
            done.delayed = True
    return done


def _queue_of(case: Case) -> str:
    return "urgent" if case.priority == "urgent" else "default"


def _say(db: Session, contact: Contact, text: str, source: str, sending: Sending,
         user_id: int | None = None) -> Message:
    """Write a message to the person in the outbox; a template when WhatsApp's window is closed."""
    template = needs_template(contact, utcnow())
    if template and not sending.has_template:
        raise Refused("La personne n'a pas écrit depuis plus de 24 h et aucun modèle WhatsApp "
                      "n'est configuré (TWILIO_WHATSAPP_TEMPLATE_SID) : impossible d'envoyer.")
    message = outbox.create(db, contact, text, source=source)
    message.user_id = user_id
    message.template = template
    db.flush()
    return message


def _text(key: str, contact: Contact, flows: Flows | None) -> str:
    if flows is None:
        return FALLBACK_TEXTS[key]
    return flows.text(key, contact.language or flows.default_language)


# --- the actions -----------------------------------------------------------------------------

def take_over(db: Session, case: Case, contact: Contact, user_id: int) -> None:
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


def claim(db: Session, case_id: int, user_id: int, sending: Sending) -> Done:
    """Take the case: the bot goes silent for this person, who is told a social worker is there."""
    case, contact = load(db, case_id)
    _refuse_if_taken(db, case, contact, user_id)
    if case.claimed_by_id == user_id and contact.owner_id == user_id:
        return Done("Vous avez déjà ce dossier.")
    take_over(db, case, contact, user_id)
    record(db, "claim", user_id=user_id, case_id=case.id)
    log.info("case %s claimed by user %s", case.id, user_id)
    if contact.opted_out:
        return Done("Dossier pris en charge. La personne a demandé STOP : aucun message envoyé.")
    try:
        message = _say(db, contact, _text("claimed", contact, sending.flows), "system", sending)
    except Refused as why:  # the case is taken all the same; the worker knows nobody was told
        return Done(f"Dossier pris en charge. {why}")
    return Done("Dossier pris en charge : la personne est prévenue.", [(message.id, _queue_of(case))])


def reply(db: Session, case_id: int, user_id: int, text: str, sending: Sending) -> Done:
    """Send the social worker's text to the person over SMS or WhatsApp; answering takes the thread."""
    case, contact = load(db, case_id)
    if not text:
        raise Refused("Le message est vide.")
    if len(text) > MAX_REPLY:
        raise Refused(f"Le message est trop long ({len(text)} caractères, {MAX_REPLY} au plus).")
    if contact.opted_out:
        raise Refused("La personne a demandé STOP : elle ne reçoit plus de messages.")
    if case.status != "open":
        raise Refused("Ce dossier est fermé.")
    take_over(db, case, contact, user_id)  # answering someone means the bot stops talking
    message = _say(db, contact, text, "worker", sending, user_id=user_id)
    record(db, "reply", user_id=user_id, case_id=case.id,
           detail=f"message {message.id}" + (" (template)" if message.template else ""))
    log.info("case %s: reply %s by user %s", case.id, message.id, user_id)
    if message.template:
        return Done("La personne n'a pas écrit depuis plus de 24 h : la réponse part comme modèle "
                    "WhatsApp approuvé.", [(message.id, _queue_of(case))])
    return Done("Réponse en cours d'envoi.", [(message.id, _queue_of(case))])


def note(db: Session, case_id: int, user_id: int, body: str) -> Done:
    """Add a note for the team; it is never sent to the person."""
    case, _contact = load(db, case_id)
    if not body:
        raise Refused("La note est vide.")
    if len(body) > MAX_NOTE:
        raise Refused(f"La note est trop longue ({MAX_NOTE} caractères au plus).")
    added = Note(case_id=case.id, user_id=user_id, body=body)
    db.add(added)
    db.flush()
    record(db, "note", user_id=user_id, case_id=case.id, detail=f"note {added.id}")
    return Done("Note ajoutée.")


def close(db: Session, case_id: int, user_id: int, outcome: str) -> Done:
    """Close the case with its outcome; the bot answers the person again unless another case waits."""
    case, contact = load(db, case_id)
    if not outcome:
        raise Refused("Indiquez l'issue du dossier avant de le fermer.")
    if case.status != "open":
        raise Refused("Ce dossier est déjà fermé.")
    case.status, case.closed_at, case.outcome = "closed", utcnow(), outcome[:255]
    if not other_open(db, case):
        contact.owner_id = None  # nobody would see what the person writes next: the bot answers
    record(db, "close", user_id=user_id, case_id=case.id)
    log.info("case %s closed by user %s", case.id, user_id)
    return Done("Dossier fermé.")


def hand_back(db: Session, case_id: int, user_id: int, sending: Sending) -> Done:
    """Give the conversation back to the bot; the case stays open in the queue."""
    case, contact = load(db, case_id)
    if contact.owner_id is None:
        raise Refused("Le robot répond déjà à cette personne.")
    contact.owner_id = None
    record(db, "hand_back", user_id=user_id, case_id=case.id)
    log.info("case %s handed back to the bot by user %s", case.id, user_id)
    if contact.opted_out:
        return Done("Le robot répond de nouveau à cette personne.")
    try:
        message = _say(db, contact, _text("handed_back", contact, sending.flows), "system", sending)
    except Refused as why:
        return Done(f"Le robot répond de nouveau à cette personne. {why}")
    return Done("Le robot répond de nouveau à cette personne ; elle est prévenue.", [(message.id, _queue_of(case))])
