"""The audit log: who did what, written in the transaction of the action itself."""

from __future__ import annotations

from sqlalchemy.orm import Session

from bot.adapters.models import AuditEntry


def record(db: Session, action: str, *, user_id: int | None = None, case_id: int | None = None,
           detail: str | None = None) -> None:
    """Record who did what; the caller commits with the action itself."""
    db.add(AuditEntry(user_id=user_id, action=action, case_id=case_id,
                      detail=detail[:255] if detail else None))
