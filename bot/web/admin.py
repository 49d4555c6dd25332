"""The admins' page for the flows: list, edit with checks, preview, save, history, diff, rollback.

The files in FLOWS_DIR stay the one source of truth: the page writes them (a temp file in
the same folder, then os.replace), and the running app's FlowsStore picks them up as it
picks up any edit. Every version written is kept in `flow_versions` with who and when;
an edit with errors is never written. The preview runs the real inbound pipeline on a
scratch database with the unsaved text, a fixed clock and a chosen language: nothing is
sent and nothing touches the real database.
"""

from __future__ import annotations

import contextlib
import difflib
import fcntl
import hashlib
import logging
import os
import re
import stat
import tempfile
import threading
import unicodedata
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from flask import (
    Blueprint,
    abort,
    current_app,
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
from sqlalchemy.orm import Session, sessionmaker

from bot.adapters import db as database
from bot.adapters.models import Case, FlowVersion, Message
from bot.adapters.state import MemoryStateStore
from bot.core import sms
from bot.core.engine import State
from bot.core.flows import FlowError, Flows, Problem, check_dir
from bot.core.lang import LANGUAGES
from bot.services import pipeline
from bot.services.flows_store import FlowsStore
from bot.services.workshops import effects_factory
from bot.web.auth import audit, db_sessions, require_login, secure_headers
from bot.web.inbox import user_names

log = logging.getLogger(__name__)
bp = Blueprint("admin", __name__, url_prefix="/admin")
bp.after_request(secure_headers)

FILE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*\.yml$")
MAX_TEXT = 400_000  # characters: crisis.yml, the largest file, holds about 36,000
MAX_PREVIEW_MESSAGES = 20
MAX_PREVIEW_LENGTH = 1600
MAX_COMMENT = 200
FOUND_ON_DISK = "trouvé sur le disque"
CHANGED_ON_DISK = "modifié hors de la page (à la main)"
PREVIEW_NUMBERS = {"BE": "+32470000000", "FR": "+33600000000"}
CHANNELS = {"sms": "SMS", "whatsapp": "WhatsApp"}
SOURCE_LABELS = {"nlu": "modèle de langue", "fallback": "mots-clés, modèle indisponible", "menu": "menu",
                 "keyword": "mot-clé", "input": "message vide ou image", "answer": "réponse à une question",
                 "pick": "choix dans une liste"}
WEEKDAY_NAMES = (
    ("lundi", "monday", "maandag"), ("mardi", "tuesday", "dinsdag"), ("mercredi", "wednesday", "woensdag"),
    ("jeudi", "thursday", "donderdag"), ("vendredi", "friday", "vrijdag"), ("samedi", "saturday", "zaterdag"),
    ("dimanche", "sunday", "zondag"),
)
RELATIVE_DAYS = {"aujourdhui": 0, "today": 0, "vandaag": 0, "demain": 1, "tomorrow": 1, "morgen": 1}
FR_WEEKDAYS = tuple(names[0] for names in WEEKDAY_NAMES)
DEFAULT_TIMEZONE = "Europe/Brussels"  # bot.core.flows' default, for when no valid flows are loaded


_MIGRATING = threading.Lock()


class Refused(Exception):
    """An action that cannot be done; its message is shown to the admin."""


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


def _store() -> FlowsStore:
    return current_app.extensions["relais.flows"]  # type: ignore[no-any-return]


def _directory() -> Path:
    return Path(current_app.config["FLOWS_DIR"])


# --- the files -----------------------------------------------------------------------------

def digest(text: str) -> str:
    """The SHA-256 of a flow text as written to disk (UTF-8)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def flow_files(directory: Path) -> list[str]:
    """The names of the flow files the app reads: `*.yml` at the top of directory."""
    return sorted(p.name for p in directory.glob("*.yml") if p.is_file() and FILE_NAME.match(p.name))


def _path(name: str) -> Path:
    """The path of flow file name in the app's folder; 404 for anything else."""
    directory = _directory()
    if not FILE_NAME.match(name) or name not in flow_files(directory):
        abort(404)
    return directory / name


def read_flow(path: Path) -> str:
    """The file's text; bytes that are not UTF-8 show as U+FFFD (the loader refuses them anyway)."""
    return path.read_bytes().decode("utf-8", errors="replace")


def disk_digest(path: Path) -> str:
    """The SHA-256 of the file's bytes on disk."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def write_atomically(path: Path, text: str) -> None:
    """Replace path's content by text at once: readers see the old file or the new, never half."""
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(text.encode("utf-8"))
            handle.flush()
            os.fsync(handle.fileno())
        with contextlib.suppress(FileNotFoundError):
            os.chmod(temp, stat.S_IMODE(path.stat().st_mode))
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)
        raise
    folder = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(folder)  # the rename itself survives a power cut
    finally:
        os.close(folder)


@contextlib.contextmanager
def folder_lock(directory: Path) -> Iterator[None]:
    """One writer at a time for this folder, across threads and processes (gunicorn workers).

    The lock is taken on the folder itself, so no lock file is ever left in it.
    """
    fd = os.open(directory, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def _clean_text(raw: str) -> str:
    """The textarea's text as a file: browsers send CRLF line ends."""
    return raw.replace("\r\n", "\n").replace("\r", "\n")


def folder_digest(directory: Path) -> str:
    """The version name the checker gives the files now on disk (as bot.core.flows does)."""
    files = sorted(p for p in directory.glob("*.yml") if p.is_file())
    return hashlib.sha256(b"".join(p.read_bytes() for p in files)).hexdigest()[:12]


# --- checks --------------------------------------------------------------------------------

@dataclass
class Check:
    """What checking an edit found; `excerpts` shows the edited file around each error line."""

    findings: list[Problem]
    file: str
    text: str
    flows: Flows | None = None  # the edited flows as the app would serve them, when they load

    @property
    def errors(self) -> list[Problem]:
        """The problems that block a save."""
        return [f for f in self.findings if f.level == "error"]

    @property
    def warnings(self) -> list[Problem]:
        """The problems worth a look that do not block a save."""
        return [f for f in self.findings if f.level != "error"]

    @property
    def ok(self) -> bool:
        """True when nothing blocks a save."""
        return not self.errors

    def excerpt(self, finding: Problem, around: int = 2) -> list[tuple[int, str, bool]]:
        """The lines of the edited file around a finding: (number, text, is_the_line)."""
        if finding.file != self.file or not finding.line:
            return []
        lines = self.text.split("\n")
        first, last = max(1, finding.line - around), min(len(lines), finding.line + around)
        return [(n, lines[n - 1], n == finding.line) for n in range(first, last + 1)]

    def as_json(self) -> list[dict[str, Any]]:
        """The findings for the page's script."""
        return [{"file": f.file, "line": f.line, "level": f.level, "message": f.message} for f in self.findings]


def check_edit(directory: Path, file: str, text: str) -> Check:
    """Check the whole folder with text in place of file (bot.core.flows.check_dir), writing nothing."""
    report = check_dir(directory, overrides={file: text})
    findings = report.errors + report.warnings
    flows = report.flows if report.ok else None
    if report.ok and flows is None:  # the running app would refuse them too (FlowsStore)
        findings.insert(0, Problem(file, None, "error", "the flows cannot be loaded with this text"))
    return Check(findings, file, text, flows)


# --- versions ------------------------------------------------------------------------------

def versions_of(db: Session, file: str) -> list[FlowVersion]:
    """The saved versions of a file, newest first."""
    return list(db.scalars(select(FlowVersion).where(FlowVersion.file == file)
                           .order_by(FlowVersion.id.desc())))


def latest_version(db: Session, file: str) -> FlowVersion | None:
    """The newest saved version of a file, or None."""
    return db.scalars(select(FlowVersion).where(FlowVersion.file == file)
                      .order_by(FlowVersion.id.desc()).limit(1)).first()


def record(db: Session, file: str, text: str, user_id: int | None, comment: str | None) -> FlowVersion:
    """Add a version of file; the caller commits."""
    version = FlowVersion(file=file, content=text, sha=digest(text), user_id=user_id,
                          comment=comment[:255] if comment else None)
    db.add(version)
    db.flush()
    return version


def record_disk(db: Session, path: Path) -> FlowVersion | None:
    """Keep the file as found on disk when no version holds it yet (first save, or a hand edit)."""
    text = read_flow(path)
    latest = latest_version(db, path.name)
    if latest is not None and latest.sha == digest(text):
        return None
    version = record(db, path.name, text, None, FOUND_ON_DISK if latest is None else CHANGED_ON_DISK)
    log.info("flow %s: version %s recorded from disk", path.name, version.id)
    return version


# --- diffs ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class DiffLine:
    """One line of a unified diff: kind is 'add', 'del', 'hunk', 'file' or 'same'."""

    kind: str
    text: str


def diff_lines(old: str, new: str, old_label: str, new_label: str) -> list[DiffLine]:
    """The unified diff from old to new, line by line, ready to colour."""
    lines = difflib.unified_diff(old.splitlines(), new.splitlines(), old_label, new_label, lineterm="", n=3)
    out = []
    for line in lines:
        if line.startswith(("---", "+++")):
            kind = "file"
        elif line.startswith("@@"):
            kind = "hunk"
        elif line.startswith("+"):
            kind = "add"
        elif line.startswith("-"):
            kind = "del"
        else:
            kind = "same"
        out.append(DiffLine(kind, line))
    return out


# --- preview -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Reply:
    """One answer of the bot, as it would leave."""

    text: str
    encoding: str | None
    segments: int | None
    length: int


@dataclass
class Exchange:
    """A message typed in the preview and what the bot answered."""

    text: str
    replies: list[Reply] = field(default_factory=list)
    intent: str | None = None
    understood_by: str | None = None
    language: str | None = None
    priority: str | None = None


@dataclass
class Preview:
    """A preview's settings and, once run, its conversation."""

    messages: list[str]
    moment: datetime
    language: str
    channel: str
    exchanges: list[Exchange] = field(default_factory=list)
    cases: list[str] = field(default_factory=list)


class _PresetLanguage(MemoryStateStore):
    """States in memory; a new contact starts in the chosen language, as if they had picked it."""

    def __init__(self, language: str) -> None:
        super().__init__()
        self.language = language

    def load(self, contact_id: int) -> State:
        """The contact's state, or a fresh one in the chosen language."""
        return self.states.get(contact_id, State(lang=self.language, lang_locked=True))


def _normalize_words(text: str) -> str:
    plain = unicodedata.normalize("NFD", text.lower())
    return "".join(c for c in plain if not unicodedata.combining(c)).replace("'", "").replace("’", "")


def _weekday(word: str) -> int | None:
    word = word.rstrip(".")
    if word in RELATIVE_DAYS:
        return None
    found = {index for index, names in enumerate(WEEKDAY_NAMES)
             for name in names if len(word) >= 3 and name.startswith(word)}
    return found.pop() if len(found) == 1 else None


def parse_moment(text: str, now: datetime) -> datetime:
    """A local moment from '2026-11-28T23:10', 'Saturday 23:10', 'samedi 23h10' or 'demain 9h'.

    A weekday means the next such day from today (today included); now gives the timezone.
    Raise ValueError with a message for the admin when the text is not understood.
    """
    raw = text.strip()
    with contextlib.suppress(ValueError):
        moment = datetime.fromisoformat(raw)
        return moment.replace(tzinfo=now.tzinfo) if moment.tzinfo is None else moment.astimezone(now.tzinfo)
    match = re.fullmatch(r"([a-z.]+)\s*(?:a\s+)?(\d{1,2})\s*(?:[:h]\s*(\d{2})?)?", _normalize_words(raw))
    if not match:
        raise ValueError(f"« {raw} » n'est pas une date : écrivez par exemple « samedi 23:10 » "
                         "ou « 2026-11-28 23:10 ».")
    word, hour, minute = match.group(1), int(match.group(2)), int(match.group(3) or 0)
    if hour > 23 or minute > 59:
        raise ValueError(f"« {raw} » : l'heure doit être entre 00:00 et 23:59.")
    if word.rstrip(".") in RELATIVE_DAYS:
        day = now.date() + timedelta(days=RELATIVE_DAYS[word.rstrip(".")])
    else:
        weekday = _weekday(word)
        if weekday is None:
            raise ValueError(f"« {word} » n'est pas un jour : écrivez lundi, mardi... ou Monday, "
                             "Tuesday... ou maandag, dinsdag...")
        day = now.date() + timedelta(days=(weekday - now.weekday()) % 7)
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=now.tzinfo)


def run_preview(flows: Flows, preview: Preview) -> Preview:
    """Talk to the real pipeline with the edited flows on a scratch database; nothing leaves."""
    base: pipeline.Services = current_app.extensions["relais.services"]
    with tempfile.TemporaryDirectory(prefix="relais-preview-") as scratch:
        url = f"sqlite:///{Path(scratch) / 'preview.db'}"
        with _MIGRATING:  # Alembic's context is process-wide: one migration at a time
            database.upgrade(url)
        engine = database.make_engine(url)
        try:
            sessions = database.make_sessionmaker(engine)
            moment = preview.moment
            services = pipeline.Services(
                sessions=sessions, states=_PresetLanguage(preview.language), nlu=base.nlu,
                flows=lambda: flows, clock=lambda: moment, pseudonym_key=base.pseudonym_key,
                escalate=None, effects=effects_factory(sessions, None), counted=False)
            number = PREVIEW_NUMBERS.get(flows.country, PREVIEW_NUMBERS["BE"])
            address = f"whatsapp:{number}" if preview.channel == "whatsapp" else number
            for text in preview.messages:
                preview.exchanges.append(_exchange(services, address, text, preview.channel))
            preview.cases = _cases(sessions)
        finally:
            engine.dispose()
    return preview


def _exchange(services: pipeline.Services, address: str, text: str, channel: str) -> Exchange:
    form = pipeline.InboundForm(sid=f"PREVIEW{uuid.uuid4().hex}", address=address, body=text)
    answers = pipeline.handle_inbound(services, form)
    with services.sessions() as db:
        message = db.scalars(select(Message).where(Message.sid == form.sid)).one()
        exchange = Exchange(text, intent=message.intent, understood_by=message.understood_by,
                            language=message.language, priority=message.priority)
    for answer in answers:
        info = sms.segment_info(answer)
        exchange.replies.append(Reply(answer, info.encoding if channel == "sms" else None,
                                      info.segments if channel == "sms" else None, len(answer)))
    return exchange


def _cases(sessions: sessionmaker[Session]) -> list[str]:
    with sessions() as db:
        return [f"{c.priority} : {c.reason}" for c in db.scalars(select(Case).order_by(Case.id))]


def _preview_from_form(flows: Flows) -> Preview:
    """The preview settings posted with the editor, for the edited flows; raise Refused on a bad value."""
    lines = [line.strip() for line in _clean_text(request.form.get("messages", "")).split("\n")]
    messages = [line[:MAX_PREVIEW_LENGTH] for line in lines if line][:MAX_PREVIEW_MESSAGES]
    if not messages:
        raise Refused("Écrivez au moins un message à envoyer au robot (un par ligne).")
    tz = flows.schedule.tz
    now = datetime.now(tz)
    when = request.form.get("when", "").strip() or request.form.get("at", "").strip()
    try:
        moment = parse_moment(when, now) if when else now
    except ValueError as error:
        raise Refused(str(error)) from None
    language = request.form.get("lang", flows.default_language)
    if language not in flows.languages:
        language = flows.default_language
    channel = request.form.get("channel", "sms")
    if channel not in CHANNELS:
        channel = "sms"
    return Preview(messages, moment, language, channel)


# --- the running flows ---------------------------------------------------------------------

@dataclass(frozen=True)
class Running:
    """What the help line serves now, and whether the files on disk were refused."""

    version: str | None  # None: no valid version since the start (the bot gives safe replies only)
    on_disk: str
    error: FlowError | None
    errors: list[Any] = field(default_factory=list)  # every error of the last refused check

    @property
    def pending(self) -> bool:
        """True when the files changed and the app has not taken them yet (a few seconds)."""
        return self.version != self.on_disk and self.error is None


def running_flows() -> Flows | None:
    """The flows the app serves (taking the files first when they changed), or None."""
    try:
        return _store().get()
    except FlowError:
        return None


def running_state() -> Running:
    """The version served, the version on disk, and the app's last refusal."""
    store = _store()
    served = running_flows()
    report = getattr(store, "last_report", None)
    errors = list(report.errors) if store.last_error is not None and report is not None else []
    return Running(served.version if served else None, folder_digest(store.directory), store.last_error,
                   errors)


# --- views ---------------------------------------------------------------------------------

def _tz() -> ZoneInfo:
    flows = running_flows()
    return flows.schedule.tz if flows else ZoneInfo(DEFAULT_TIMEZONE)


def _wants_json() -> bool:
    return request.accept_mimetypes.best == "application/json"


@bp.get("")
def index() -> ResponseReturnValue:
    """The admin pages start at the list of flow files."""
    return redirect(url_for("admin.flows"))


@bp.get("/flows")
def flows() -> str:
    """The flow files, each with its last saved version, and the state of the running flows."""
    directory = _directory()
    names = flow_files(directory)
    with db_sessions()() as db:
        latest = {v.file: v for v in (latest_version(db, name) for name in names) if v is not None}
        counts = {name: count for name, count in db.execute(
            select(FlowVersion.file, func.count(FlowVersion.id)).group_by(FlowVersion.file))}
        names_by_id = user_names(db, (v.user_id for v in latest.values()))
    rows = [{"name": name, "latest": latest.get(name), "count": counts.get(name, 0),
             "by_hand": name in latest and latest[name].sha != disk_digest(directory / name)}
            for name in names]
    return render_template("admin/flows.html", rows=rows, names=names_by_id, running=running_state(),
                           tz=_tz())


def _editor(file: str, text: str, base: str, status: int = 200, **context: Any) -> ResponseReturnValue:
    """The editor page with text in the box (saved or not) and whatever a view found."""
    flows = running_flows()
    languages = flows.languages if flows else LANGUAGES
    tz = flows.schedule.tz if flows else ZoneInfo(DEFAULT_TIMEZONE)
    with db_sessions()() as db:
        latest = latest_version(db, file)
        latest_by = user_names(db, [latest.user_id if latest else None])
    form = request.form if request.method == "POST" else {}
    running = running_state()
    context.setdefault("preview_settings", {
        "messages": form.get("messages", "horaires"), "when": form.get("when", ""),
        "at": form.get("at", "") or datetime.now(tz).strftime("%Y-%m-%dT%H:%M"),
        "lang": form.get("lang", flows.default_language if flows else languages[0]),
        "channel": form.get("channel", "sms")})
    return render_template(
        "admin/edit.html", file=file, text=text, base=base, latest=latest, latest_by=latest_by,
        comment=form.get("comment", ""), languages=languages, channels=CHANNELS, tz=tz,
        running=running, refused_here=running.error is not None and running.error.file == file,
        **context), status


@bp.get("/flows/<file>")
def edit(file: str) -> ResponseReturnValue:
    """The editor of one flow file, as it is on disk."""
    path = _path(file)
    return _editor(file, read_flow(path), disk_digest(path))


def _posted(file: str) -> tuple[Path, str, str]:
    """The file's path, the edited text and the digest of the file the edit started from."""
    path = _path(file)
    text = _clean_text(request.form.get("text", ""))
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
            outcome = run_preview(result.flows, _preview_from_form(result.flows))
        except Refused as why:
            refusal = str(why)
    log.info("flow %s previewed by user %s: %s", file, current_user.id,
             f"{len(outcome.exchanges)} message(s)" if outcome else "not run")
    fragment: dict[str, Any] = {"check": result, "preview": outcome, "refusal": refusal,
                                "source_labels": SOURCE_LABELS, "weekdays": FR_WEEKDAYS}
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
        by = f"{who or 'quelqu’un'} (le {latest.created_at.astimezone(_tz()).strftime('%d/%m à %H:%M')})"
    else:
        by = "quelqu’un, hors de cette page"
    log.info("flow %s: save by user %s refused, the file changed meanwhile", path.name, current_user.id)
    changes = diff_lines(on_disk, text, f"{path.name} (version actuelle)", f"{path.name} (votre texte)")
    return _editor(path.name, text, disk_digest(path), 409, conflict=changes,
                   refused=f"Rien n'a été enregistré : ce fichier a été modifié par {by} pendant que vous "
                           "l'éditiez. Voici les différences entre la version actuelle et votre texte. "
                           "Reprenez ses changements dans votre texte si besoin ; « Enregistrer » "
                           "remplacera alors la version actuelle.")


@bp.get("/flows/<file>/history")
def history(file: str) -> str:
    """Every saved version of a file: who, when, why."""
    path = _path(file)
    with db_sessions()() as db:
        versions = versions_of(db, file)
        names = user_names(db, (v.user_id for v in versions))
    current = disk_digest(path)
    by_hand = bool(versions) and versions[0].sha != current
    return render_template("admin/history.html", file=file, versions=versions, names=names, current=current,
                           by_hand=by_hand, tz=_tz())


def _version(db: Session, file: str, version_id: int) -> FlowVersion:
    version = db.get(FlowVersion, version_id)
    if version is None or version.file != file:
        abort(404)
    return version


@bp.get("/flows/<file>/versions/<int:version_id>")
def version(file: str, version_id: int) -> ResponseReturnValue:
    """One version: how it differs from the file now, and the way back to it."""
    path = _path(file)
    with db_sessions()() as db:
        chosen = _version(db, file, version_id)
    return _version_page(file, chosen, read_flow(path))


def _version_page(file: str, chosen: FlowVersion, current: str, status: int = 200,
                  **context: Any) -> ResponseReturnValue:
    with db_sessions()() as db:
        names = user_names(db, [chosen.user_id])
    changes = diff_lines(chosen.content, current, f"{file} version #{chosen.id}", f"{file} actuel")
    return render_template("admin/version.html", file=file, version=chosen, names=names, changes=changes,
                           same=chosen.content == current, tz=_tz(), **context), status


@bp.post("/flows/<file>/versions/<int:version_id>/rollback")
def rollback(file: str, version_id: int) -> ResponseReturnValue:
    """Write an earlier version back, after checking it against the folder as it is now."""
    path = _path(file)
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
