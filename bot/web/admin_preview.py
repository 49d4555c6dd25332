"""The admins' preview: the typed messages through the real pipeline with the edited, unsaved flows.

It runs on the scratch pipeline (bot.services.scratch) with a fixed clock and a chosen
language: nothing is sent and nothing touches the real database.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime

from flask import request
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot import extensions
from bot.adapters.models import Case
from bot.adapters.state import MemoryStateStore
from bot.core import sms
from bot.core.engine import State
from bot.core.flows import Flows
from bot.core.text import parse_moment
from bot.services import pipeline
from bot.services.scratch import scratch_services, send
from bot.web.admin_files import clean_text

MAX_PREVIEW_MESSAGES = 20
MAX_PREVIEW_LENGTH = 1600
PREVIEW_NUMBERS = {"BE": "+32470000000", "FR": "+33600000000"}
CHANNELS = {"sms": "SMS", "whatsapp": "WhatsApp"}


class Refused(Exception):
    """An action that cannot be done; its message is shown to the admin."""


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


def run_preview(flows: Flows, preview: Preview) -> Preview:
    """Talk to the real pipeline with the edited flows on a scratch database; nothing leaves."""
    base = extensions.services()
    moment = preview.moment
    with scratch_services(lambda: flows, nlu=base.nlu, clock=lambda: moment, pseudonym_key=base.pseudonym_key,
                          states=_PresetLanguage(preview.language)) as services:
        number = PREVIEW_NUMBERS.get(flows.country, PREVIEW_NUMBERS["BE"])
        address = f"whatsapp:{number}" if preview.channel == "whatsapp" else number
        for text in preview.messages:
            preview.exchanges.append(_exchange(services, address, text, preview.channel))
        preview.cases = _cases(services.sessions)
    return preview


def _exchange(services: pipeline.Services, address: str, text: str, channel: str) -> Exchange:
    form = pipeline.InboundForm(sid=f"PREVIEW{uuid.uuid4().hex}", address=address, body=text)
    answers, message = send(services, form)
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


def preview_from_form(flows: Flows) -> Preview:
    """The preview settings posted with the editor, for the edited flows; raise Refused on a bad value."""
    lines = [line.strip() for line in clean_text(request.form.get("messages", "")).split("\n")]
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

