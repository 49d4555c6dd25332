"""The RQ worker class of Relais: builds the app once, before forking, so jobs start fast."""

from __future__ import annotations

from typing import Any

from rq import Worker

from bot import extensions
from worker.jobs import _app


class RelaisWorker(Worker):
    """An RQ worker whose work horses inherit a ready app (no connection is opened here)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The Twilio client (twilio.rest takes ~100 ms to import) is built once, here, and kept
        # for every job; building it opens no connection.
        extensions.twilio(_app())
        import twilio.rest.api.v2010.account.message  # noqa: F401
