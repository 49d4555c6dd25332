"""Exceptions, each saying whether trying again can help."""

from __future__ import annotations


class RelaisError(Exception):
    """Base class; `permanent` tells a retry loop to give up."""

    permanent = False


class NluUnavailable(RelaisError):
    """The NLU service did not give a usable answer (down, slow or garbage)."""


class TransportError(RelaisError):
    """Sending through Twilio failed; permanent when Twilio refused the message itself."""

    def __init__(self, reason: str, permanent: bool = False, code: int | None = None) -> None:
        super().__init__(reason)
        self.permanent, self.code = permanent, code


class FlowError(ValueError):
    """A flow file cannot be used: which file, which line, and why."""

    def __init__(self, file: str, line: int | None, reason: str) -> None:
        self.file, self.line, self.reason = file, line, reason
        where = f"{file}:{line}" if line else file
        super().__init__(f"{where}: {reason}")
