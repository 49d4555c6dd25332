"""The JSON API (contract 4): `GET /api/v1/cases?status=open` with `Authorization: Bearer TOKEN`.

Tokens come from `flask --app bot users token EMAIL`; only their SHA-256 is stored. The
answer names a contact by its pseudonym, never by its number.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, Response, jsonify, request

from bot import extensions
from bot.adapters.models import Case, Contact
from bot.services.case_queries import contacts_of, ordered_cases, user_names
from bot.web import auth

log = logging.getLogger(__name__)
bp = Blueprint("api", __name__, url_prefix="/api/v1")
STATUSES = ("open", "closed")


@bp.after_request
def _no_store(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    return response


def iso(moment: datetime | None) -> str | None:
    """ISO 8601 in UTC with a Z, to the second."""
    if moment is None:
        return None
    return moment.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _bearer() -> str:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


@bp.get("/cases")
def cases() -> tuple[Response, int] | Response:
    """The cases in a status (default open), most urgent first, then the longest waiting."""
    status = request.args.get("status", "open")
    sessions = extensions.sessions()
    with sessions() as db, db.begin():
        user = auth.user_for_api_token(db, _bearer())
        if user is None:
            log.warning("API call refused: missing or unknown token")
            return auth.api_unauthorized()
        if status not in STATUSES:
            return jsonify(error=f"status must be one of: {', '.join(STATUSES)}"), 400
        found = ordered_cases(db, status)
        contacts = contacts_of(db, found)
        names = user_names(db, (k.claimed_by_id for k in found))
        auth.audit(db, "api_cases", user_id=user.id, detail=f"status={status} count={len(found)}")
        return jsonify([_case(k, contacts[k.contact_id], names) for k in found])


def _case(case: Case, contact: Contact, names: dict[int, str]) -> dict[str, Any]:
    return {
        "id": case.id,
        "priority": case.priority,
        "contact": contact.pseudonym,
        "opened_at": iso(case.opened_at),
        "reason": case.reason,
        "reference": case.reference,
        "channel": contact.channel,
        "status": case.status,
        "claimed_by": names.get(case.claimed_by_id) if case.claimed_by_id else None,
        "closed_at": iso(case.closed_at),
    }
