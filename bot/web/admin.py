"""The admins' page for the flows: list, edit with checks, preview, save (history: admin_history).

The files in FLOWS_DIR stay the one source of truth (bot.web.admin_files writes them and
keeps each version); an edit with errors is never written. The preview (admin_preview)
runs the real inbound pipeline on a scratch database with the unsaved text, a fixed clock
and a chosen language: nothing is sent and nothing touches the real database.
"""

from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from flask import (
    Blueprint,
    abort,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_login import current_user
from sqlalchemy import func, select

from bot.adapters.models import FlowVersion
from bot.core.lang import LANGUAGES
from bot.core.text import WEEKDAY_NAMES
from bot.services.case_queries import user_names
from bot.web import admin_history
from bot.web.admin_files import (
    DEFAULT_TIMEZONE,
    check_edit,
    clean_text,
    diff_lines,
    digest,
    directory,
    disk_digest,
    flow_files,
    folder_lock,
    latest_version,
    path_of,
    read_flow,
    record,
    record_disk,
    running_flows,
    running_state,
    tz,
    write_atomically,
)
from bot.web.admin_preview import CHANNELS, Refused, preview_from_form, run_preview
from bot.web.auth import audit, db_sessions, require_login, secure_headers

log = logging.getLogger(__name__)
bp = Blueprint("admin", __name__, url_prefix="/admin")
bp.after_request(secure_headers)

MAX_TEXT = 400_000  # characters: crisis.yml, the largest file, holds about 36,000
MAX_COMMENT = admin_history.MAX_COMMENT
SOURCE_LABELS = {"nlu": "modèle de langue", "fallback": "mots-clés, modèle indisponible", "menu": "menu",
                 "keyword": "mot-clé", "input": "message vide ou image", "answer": "réponse à une question",
                 "pick": "choix dans une liste"}


# --- access --------------------------------------------------------------------------------

@bp.before_request
def _require_admin() -> ResponseReturnValue | None:
    refused = require_login()
    if refused is not None:
        return refused
    if current_user.role != "admin":
        log.info("user %s (not an admin) refused at %s", current_user.id, request.path)
        return render_template("admin/forbidden.html"), 403
    return None


def _wants_json() -> bool:
    return request.accept_mimetypes.best == "application/json"


@bp.get("")
def index() -> ResponseReturnValue:
    """The admin pages start at the list of flow files."""
    return redirect(url_for("admin.flows"))


@bp.get("/flows")
def flows() -> str:
    """The flow files, each with its last saved version, and the state of the running flows."""
    folder = directory()
    names = flow_files(folder)
    with db_sessions()() as db:
        latest = {v.file: v for v in (latest_version(db, name) for name in names) if v is not None}
        counts = {name: count for name, count in db.execute(
            select(FlowVersion.file, func.count(FlowVersion.id)).group_by(FlowVersion.file))}
        names_by_id = user_names(db, (v.user_id for v in latest.values()))
    rows = [{"name": name, "latest": latest.get(name), "count": counts.get(name, 0),
             "by_hand": name in latest and latest[name].sha != disk_digest(folder / name)}
            for name in names]
    return render_template("admin/flows.html", rows=rows, names=names_by_id, running=running_state(),
                           tz=tz())


def _editor(file: str, text: str, base: str, status: int = 200, **context: Any) -> ResponseReturnValue:
    """The editor page with text in the box (saved or not) and whatever a view found."""
    flows = running_flows()
    languages = flows.languages if flows else LANGUAGES
    zone = flows.schedule.tz if flows else ZoneInfo(DEFAULT_TIMEZONE)
    with db_sessions()() as db:
        latest = latest_version(db, file)
        latest_by = user_names(db, [latest.user_id if latest else None])
    form = request.form if request.method == "POST" else {}
    running = running_state()
    context.setdefault("preview_settings", {
        "messages": form.get("messages", "horaires"), "when": form.get("when", ""),
        "at": form.get("at", "") or datetime.now(zone).strftime("%Y-%m-%dT%H:%M"),
        "lang": form.get("lang", flows.default_language if flows else languages[0]),
        "channel": form.get("channel", "sms")})
    return render_template(
        "admin/edit.html", file=file, text=text, base=base, latest=latest, latest_by=latest_by,
        comment=form.get("comment", ""), languages=languages, channels=CHANNELS, tz=zone,
        running=running, refused_here=running.error is not None and running.error.file == file,
        **context), status


@bp.get("/flows/<file>")
def edit(file: str) -> ResponseReturnValue:
    """The editor of one flow file, as it is on disk."""
    path = path_of(file)
    return _editor(file, read_flow(path), disk_digest(path))


def _posted(file: str) -> tuple[Path, str, str]:
    """The file's path, the edited text and the digest of the file the edit started from."""
    path = path_of(file)
    text = clean_text(request.form.get("text", ""))
    if len(text) > MAX_TEXT:
        abort(413)
    return path, text, request.form.get("base", "")


@bp.post("/flows/<file>/check")
def check(file: str) -> ResponseReturnValue:
    """Check the edited text with the rest of the folder; nothing is written."""
    path, text, base = _posted(file)
    result = check_edit(path.parent, file, text)
    log.info("flow %s checked by user %s: %d error(s), %d warning(s)", file, current_user.id,
             len(result.errors), len(result.warnings))
    if _wants_json():
        html = render_template("admin/_check.html", check=result, file=file, checked=True)
        return jsonify(ok=result.ok, html=html, problems=result.as_json())
    return _editor(file, text, base, check=result, checked=True)


@bp.post("/flows/<file>/preview")
def preview(file: str) -> ResponseReturnValue:
    """Run the typed messages through the real pipeline with the edited, unsaved flows."""
    path, text, base = _posted(file)
    result, outcome, refusal = check_edit(path.parent, file, text), None, None
    if result.ok and result.flows is not None:
        try:
            outcome = run_preview(result.flows, preview_from_form(result.flows))
        except Refused as why:
            refusal = str(why)
    log.info("flow %s previewed by user %s: %s", file, current_user.id,
             f"{len(outcome.exchanges)} message(s)" if outcome else "not run")
    fragment: dict[str, Any] = {"check": result, "preview": outcome, "refusal": refusal,
                                "source_labels": SOURCE_LABELS, "weekdays": WEEKDAY_NAMES["fr"]}
    if _wants_json():
        html = render_template("admin/_preview.html", file=file, channels=CHANNELS, **fragment)
        return jsonify(ok=outcome is not None, html=html, problems=result.as_json())
    return _editor(file, text, base, previewed=True, **fragment)


@bp.post("/flows/<file>")
def save(file: str) -> ResponseReturnValue:
    """Check, then write the file and keep the version; refuse errors and stale bases."""
    path, text, base = _posted(file)
    comment = request.form.get("comment", "").strip()[:MAX_COMMENT] or None
    with folder_lock(path.parent):
        on_disk = read_flow(path)
        if text == on_disk:
            flash("Aucune modification : le fichier est déjà ainsi.", "info")
            return redirect(url_for("admin.edit", file=file))
        if base != disk_digest(path):
            return _stale(path, text, on_disk)
        result = check_edit(path.parent, file, text)  # before the transaction: it takes a moment
        if not result.ok:
            log.info("flow %s: save by user %s refused (%d error(s))", file, current_user.id, len(result.errors))
            return _editor(file, text, base, 422, check=result, checked=True,
                           refused="Rien n'a été enregistré : corrigez les erreurs ci-dessous.")
        with db_sessions()() as db, db.begin():
            record_disk(db, path)
            version = record(db, file, text, current_user.id, comment)
            audit(db, "flow_save", user_id=current_user.id, detail=f"{file} #{version.id}")
            write_atomically(path, text)
    log.info("flow %s: version %s saved by user %s", file, version.id, current_user.id)
    warned = f" ({len(result.warnings)} avertissement(s) à regarder)" if result.warnings else ""
    flash(f"Enregistré : version #{version.id}{warned}. Le robot l'utilise d'ici quelques secondes.", "ok")
    return redirect(url_for("admin.edit", file=file))


def _stale(path: Path, text: str, on_disk: str) -> ResponseReturnValue:
    """Someone saved the file since this edit began: show what differs, overwrite nothing."""
    with db_sessions()() as db:
        latest = latest_version(db, path.name)
        who = user_names(db, [latest.user_id]).get(latest.user_id) if latest and latest.user_id else None
    if latest is not None and latest.sha == digest(on_disk):
        by = f"{who or 'quelqu’un'} (le {latest.created_at.astimezone(tz()).strftime('%d/%m à %H:%M')})"
    else:
        by = "quelqu’un, hors de cette page"
    log.info("flow %s: save by user %s refused, the file changed meanwhile", path.name, current_user.id)
    changes = diff_lines(on_disk, text, f"{path.name} (version actuelle)", f"{path.name} (votre texte)")
    return _editor(path.name, text, disk_digest(path), 409, conflict=changes,
                   refused=f"Rien n'a été enregistré : ce fichier a été modifié par {by} pendant que vous "
                           "l'éditiez. Voici les différences entre la version actuelle et votre texte. "
                           "Reprenez ses changements dans votre texte si besoin ; « Enregistrer » "
                           "remplacera alors la version actuelle.")


admin_history.register(bp)
