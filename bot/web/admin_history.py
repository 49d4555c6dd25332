"""The admins' history pages of a flow file: every version, one version's diff, the way back to it."""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user
from sqlalchemy.orm import Session

from bot.adapters.models import FlowVersion
from bot.services.case_queries import user_names
from bot.web.admin_files import (
    check_edit,
    diff_lines,
    disk_digest,
    folder_lock,
    path_of,
    read_flow,
    record,
    record_disk,
    tz,
    versions_of,
    write_atomically,
)
from bot.web.auth import audit, db_sessions

log = logging.getLogger(__name__)
MAX_COMMENT = 200


def register(bp: Blueprint) -> None:
    """Attach the history pages to the admin blueprint (their endpoints: admin.history, ...)."""
    bp.add_url_rule("/flows/<file>/history", view_func=history, methods=["GET"])
    bp.add_url_rule("/flows/<file>/versions/<int:version_id>", view_func=version, methods=["GET"])
    bp.add_url_rule("/flows/<file>/versions/<int:version_id>/rollback", view_func=rollback, methods=["POST"])


def history(file: str) -> str:
    """Every saved version of a file: who, when, why."""
    path = path_of(file)
    with db_sessions()() as db:
        versions = versions_of(db, file)
        names = user_names(db, (v.user_id for v in versions))
    current = disk_digest(path)
    by_hand = bool(versions) and versions[0].sha != current
    return render_template("admin/history.html", file=file, versions=versions, names=names, current=current,
                           by_hand=by_hand, tz=tz())


def _version(db: Session, file: str, version_id: int) -> FlowVersion:
    version = db.get(FlowVersion, version_id)
    if version is None or version.file != file:
        abort(404)
    return version


def version(file: str, version_id: int) -> ResponseReturnValue:
    """One version: how it differs from the file now, and the way back to it."""
    path = path_of(file)
    with db_sessions()() as db:
        chosen = _version(db, file, version_id)
    return _version_page(file, chosen, read_flow(path))


def _version_page(file: str, chosen: FlowVersion, current: str, status: int = 200,
                  **context: Any) -> ResponseReturnValue:
    with db_sessions()() as db:
        names = user_names(db, [chosen.user_id])
    changes = diff_lines(chosen.content, current, f"{file} version #{chosen.id}", f"{file} actuel")
    return render_template("admin/version.html", file=file, version=chosen, names=names, changes=changes,
                           same=chosen.content == current, tz=tz(), **context), status


def rollback(file: str, version_id: int) -> ResponseReturnValue:
    """Write an earlier version back, after checking it against the folder as it is now."""
    path = path_of(file)
    comment = request.form.get("comment", "").strip()[:MAX_COMMENT]
    with db_sessions()() as db:
        chosen = _version(db, file, version_id)
    with folder_lock(path.parent):
        current = read_flow(path)
        if chosen.content == current:
            flash(f"Le fichier est déjà identique à la version #{chosen.id}.", "info")
            return redirect(url_for("admin.history", file=file))
        result = check_edit(path.parent, file, chosen.content)
        if not result.ok:
            log.info("flow %s: rollback to %s by user %s refused", file, chosen.id, current_user.id)
            return _version_page(file, chosen, current, 422, check=result)
        note = f"retour à la version #{chosen.id}" + (f" : {comment}" if comment else "")
        with db_sessions()() as db, db.begin():
            record_disk(db, path)
            restored = record(db, file, chosen.content, current_user.id, note)
            audit(db, "flow_rollback", user_id=current_user.id, detail=f"{file} #{restored.id} = #{chosen.id}")
            write_atomically(path, chosen.content)
    log.info("flow %s: rolled back to version %s (new version %s) by user %s", file, chosen.id, restored.id,
             current_user.id)
    flash(f"Retour à la version #{chosen.id} fait (nouvelle version #{restored.id}). "
          "Le robot l'utilise d'ici quelques secondes.", "ok")
    return redirect(url_for("admin.history", file=file))
