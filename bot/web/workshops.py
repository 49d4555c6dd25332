"""The staff's workshop pages: the upcoming workshops, and who is signed up for each.

Any logged-in user (worker or admin) sees them. Every view writes an AuditEntry: the
participants page shows phone numbers, so that staff can call people.
"""

from __future__ import annotations

import logging

from flask import Blueprint, abort, render_template
from flask_login import current_user

from bot import extensions
from bot.adapters.models import Workshop, utcnow
from bot.core.flows import Flows
from bot.services import workshops
from bot.web.auth import audit, db_sessions, require_login, secure_headers

log = logging.getLogger(__name__)
bp = Blueprint("workshops", __name__, url_prefix="/inbox/workshops")
bp.after_request(secure_headers)

STATUS_LABELS = {"confirmed": "inscrit", "offered": "place proposée", "waiting": "liste d'attente",
                 "cancelled": "annulé", "expired": "offre expirée"}


bp.before_request(require_login)


def _flows() -> Flows:
    return extensions.flows()


@bp.get("")
def index() -> str:
    """The upcoming workshops with their seats, the seats taken and the waiting list."""
    flows = _flows()
    with db_sessions()() as db, db.begin():
        rows = workshops.overview(db, flows, utcnow())
        audit(db, "view_workshops", user_id=current_user.id)
    log.info("workshops viewed by user %s", current_user.id)
    return render_template("workshops/index.html", rows=rows, tz=flows.schedule.tz)


@bp.get("/<key>")
def participants(key: str) -> str:
    """Who is signed up for one workshop: confirmed, offered, then the waiting list in order."""
    flows = _flows()
    workshop = flows.workshops.get(key)
    with db_sessions()() as db, db.begin():
        row = db.get(Workshop, key)
        if workshop is None and row is None:
            abort(404)
        people = workshops.participants(db, key)
        audit(db, "view_workshop", user_id=current_user.id, detail=f"workshop {key}")
    log.info("workshop %s participants viewed by user %s", key, current_user.id)
    lang = flows.default_language
    return render_template(
        "workshops/participants.html", key=key, people=people, tz=flows.schedule.tz,
        title=workshop.title[lang] if workshop else key,
        when=workshops.starts_at(workshop, flows) if workshop else (row.starts_at if row else None),
        place=workshop.place[lang] if workshop else None,
        seats=workshop.seats if workshop else (row.seats if row else 0),
        taken=row.taken if row else 0, status_labels=STATUS_LABELS)
