"""The scratch pipeline: the real inbound path on a throwaway database, state in memory, nothing sent.

The simulator (`flask simulate`), the admins' preview and the flow tests all talk to the
bot this way: a migrated, empty SQLite database in a temporary folder, the flows they are
given, their own clock; workshop actions write rows and send nothing, no case is
escalated and nothing counts in /metrics.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from sqlalchemy import select

from bot.adapters import db
from bot.adapters.models import Message
from bot.adapters.nlu import NluClient
from bot.adapters.state import MemoryStateStore
from bot.core.flows import Flows
from bot.services import pipeline
from bot.services.workshops import effects_factory

_MIGRATING = threading.Lock()  # Alembic's context is process-wide: one migration at a time
_TEMPLATE: dict[str, Path] = {}  # one migrated empty database per process, copied for each run


def scratch_database(folder: Path) -> str:
    """The URL of a migrated, empty SQLite database in folder (a copy of a template migrated once)."""
    with _MIGRATING:
        template = _TEMPLATE.get("path")
        if template is None or not template.exists():
            template = Path(tempfile.mkdtemp(prefix="relais-scratch-template-")) / "template.db"
            atexit.register(shutil.rmtree, template.parent, ignore_errors=True)
            db.upgrade(f"sqlite:///{template}")
            _TEMPLATE["path"] = template
    target = folder / "scratch.db"
    shutil.copyfile(template, target)
    return f"sqlite:///{target}"


@contextmanager
def scratch_services(flows: Callable[[], Flows], *, nlu: NluClient | None, clock: Callable[[], datetime],
                     pseudonym_key: str, states: pipeline.StateStore | None = None) -> Iterator[pipeline.Services]:
    """Services for the inbound pipeline on a scratch database, removed on leaving the block.

    Args:
        flows: the flows to answer with (the running ones, or an edited, unsaved version).
        nlu: the NLU service to ask for free text; None: the keyword fallback.
        clock: the moment the conversation happens at.
        pseudonym_key: the key of the scratch database's pseudonyms.
        states: where the contacts' states live (default: in memory, each contact new).
    """
    with tempfile.TemporaryDirectory(prefix="relais-scratch-") as folder:
        engine = db.make_engine(scratch_database(Path(folder)))
        try:
            sessions = db.make_sessionmaker(engine)
            yield pipeline.Services(
                sessions=sessions, states=states if states is not None else MemoryStateStore(), nlu=nlu,
                flows=flows, clock=clock, pseudonym_key=pseudonym_key, escalate=None,
                effects=effects_factory(sessions, None),  # rows only: nothing is sent
                counted=False)
        finally:
            engine.dispose()


def send(services: pipeline.Services, form: pipeline.InboundForm) -> tuple[list[str], Message]:
    """Send one message through the pipeline; its replies and the message as stored (detached)."""
    replies = pipeline.handle_inbound(services, form)
    with services.sessions() as session:
        message = session.scalars(select(Message).where(Message.sid == form.sid)).one()
        session.expunge(message)
    return replies, message
