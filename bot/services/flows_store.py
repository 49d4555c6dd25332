"""The flows the running app serves: reloaded when `flows/` changes, the last valid version kept."""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

from bot.core.flows import FlowError, Flows, Report, check_dir
from bot.core.flows.report import as_error

log = logging.getLogger(__name__)
CHECK_EVERY = 2.0  # seconds between looks at the files' modification times


class FlowsStore:
    """Loads flows at start (a folder with errors stops the app) and picks up valid edits later.

    Every version goes through the one validator (bot.core.flows.check_dir), so an edit with an error
    (a missing step, a text too long for SMS, ...) never reaches the people who write in.
    """

    def __init__(self, directory: Path | str, strict: bool = True) -> None:
        """strict: a folder with errors raises FlowError. Not strict (the app): the store starts
        without flows, `get` raises until a valid version is written, and the commands that
        fix or check the folder (`flask --app bot flows check`, the admin page) still run."""
        self.directory = Path(directory)
        self._lock = threading.Lock()
        self._stamp = self._fingerprint()
        report = check_dir(self.directory)
        self.last_report: Report = report  # the newest check, refused or not (for the admin page)
        self.last_error: FlowError | None = None
        self._flows: Flows | None = report.flows if report.flows is not None and report.ok else None
        if self._flows is None:
            self.last_error = as_error(report)
            if strict:
                raise self.last_error
            log.error("flows refused at start, nothing to serve until they are fixed: %s", self.last_error)
        self._checked = time.monotonic()

    def _fingerprint(self) -> tuple[tuple[str, int, int], ...]:
        return tuple((p.name, p.stat().st_mtime_ns, p.stat().st_size)
                     for p in sorted(self.directory.glob("*.yml")))

    def get(self) -> Flows:
        """The current flows, reloading first when the files changed."""
        if time.monotonic() - self._checked >= CHECK_EVERY:
            with self._lock:
                self._checked = time.monotonic()
                stamp = self._fingerprint()
                if stamp != self._stamp:
                    self._reload(stamp)
        if self._flows is None:
            raise self.last_error or FlowError(str(self.directory), None, "no valid flows yet")
        return self._flows

    @property
    def version(self) -> str | None:
        """The version served, or None when no valid version was ever loaded."""
        return self._flows.version if self._flows else None

    def _reload(self, stamp: tuple[tuple[str, int, int], ...]) -> None:
        self._stamp = stamp
        try:
            report = check_dir(self.directory)
        except Exception as exc:  # a bug in the checker must not stop the bot: keep serving
            log.exception("flow check failed, still serving version %s", self.version)
            self.last_error = FlowError("?", None, f"the check itself failed ({exc.__class__.__name__})")
            return
        self.last_report = report
        if report.flows is None or not report.ok:
            self.last_error = as_error(report)
            log.error("flow edit refused, still serving version %s: %s", self.version,
                      self.last_error)
            return
        self._flows = report.flows
        self.last_error = None
        log.info("flows reloaded: version %s (%d warnings)", self._flows.version, len(report.warnings))

