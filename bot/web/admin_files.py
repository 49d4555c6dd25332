"""The flow files behind the admin pages: read, write at once, lock, check, version, diff.

The files in FLOWS_DIR stay the one source of truth: the pages write them (a temp file in
the same folder, then os.replace), and the running app's FlowsStore picks them up as it
picks up any edit. Every version written is kept in `flow_versions` with who and when.
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
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from flask import abort, current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot import extensions
from bot.adapters.models import FlowVersion
from bot.core.flows import FlowError, Flows, Problem, check_dir

log = logging.getLogger(__name__)

FILE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*\.yml$")
FOUND_ON_DISK = "trouvé sur le disque"
CHANGED_ON_DISK = "modifié hors de la page (à la main)"
DEFAULT_TIMEZONE = "Europe/Brussels"  # bot.core.flows' default, for when no valid flows are loaded


def directory() -> Path:
    """The app's flows folder."""
    return Path(current_app.config["FLOWS_DIR"])


def digest(text: str) -> str:
    """The SHA-256 of a flow text as written to disk (UTF-8)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def flow_files(directory: Path) -> list[str]:
    """The names of the flow files the app reads: `*.yml` at the top of directory."""
    return sorted(p.name for p in directory.glob("*.yml") if p.is_file() and FILE_NAME.match(p.name))


def path_of(name: str) -> Path:
    """The path of flow file name in the app's folder; 404 for anything else."""
    folder = directory()
    if not FILE_NAME.match(name) or name not in flow_files(folder):
        abort(404)
    return folder / name


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


def clean_text(raw: str) -> str:
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
    """Check the whole folder with text in place of file (bot.core.flows), writing nothing."""
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
        return extensions.flows_store().get()
    except FlowError:
        return None


def running_state() -> Running:
    """The version served, the version on disk, and the app's last refusal."""
    store = extensions.flows_store()
    served = running_flows()
    report = getattr(store, "last_report", None)
    errors = list(report.errors) if store.last_error is not None and report is not None else []
    return Running(served.version if served else None, folder_digest(store.directory), store.last_error,
                   errors)


def tz() -> ZoneInfo:
    """The centre's timezone (of the running flows, else the default)."""
    flows = running_flows()
    return flows.schedule.tz if flows else ZoneInfo(DEFAULT_TIMEZONE)
