"""The flows the running app serves: reloaded when `flows/` changes, the last valid version kept."""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

from bot.flows import FlowError, Flows, load_flows

log = logging.getLogger(__name__)
CHECK_EVERY = 2.0  # seconds between looks at the files' modification times


class FlowsStore:
    """Loads flows at start (a broken folder stops the app) and picks up valid edits later."""

    def __init__(self, directory: Path | str) -> None:
        self.directory = Path(directory)
        self._lock = threading.Lock()
        self._stamp = self._fingerprint()
        self._flows = load_flows(self.directory)
        self._checked = time.monotonic()
        self.last_error: FlowError | None = None

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
        return self._flows

    def _reload(self, stamp: tuple[tuple[str, int, int], ...]) -> None:
        self._stamp = stamp
        try:
            self._flows = load_flows(self.directory)
        except FlowError as exc:
            self.last_error = exc
            log.error("flow edit refused, still serving version %s: %s", self._flows.version, exc)
            return
        self.last_error = None
        log.info("flows reloaded: version %s", self._flows.version)
