"""The shared clients (bot.extensions) and the one scratch pipeline (bot.services.scratch)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from bot import extensions
from bot.core.flows import load_flows
from bot.services import pipeline
from bot.services.flows_store import FlowsStore
from bot.services.pipeline import Services
from bot.services.scratch import scratch_services, send
from tests.conftest import BRUSSELS, ROOT, rows


def test_the_accessors_give_what_the_app_factory_built(app: Any) -> None:
    with app.app_context():
        assert isinstance(extensions.services(), Services)
        assert isinstance(extensions.flows_store(), FlowsStore)
        assert extensions.sessions() is extensions.services().sessions
        assert extensions.nlu() is extensions.services().nlu
        assert extensions.redis().ping()
    assert extensions.flows(app).version == extensions.flows_store(app).get().version


def test_the_twilio_client_is_built_once_per_app_and_kept(app: Any, make_app: Any) -> None:
    first = extensions.twilio(app)

    assert extensions.twilio(app) is first
    assert first.api.base_url == app.config["TWILIO_API_BASE_URL"]
    assert extensions.twilio(make_app()) is not first


def test_a_scratch_run_answers_and_leaves_the_real_database_untouched(app: Any) -> None:
    flows = load_flows(ROOT / "flows")
    moment = datetime(2026, 11, 28, 23, 10, tzinfo=BRUSSELS)
    with scratch_services(lambda: flows, nlu=None, clock=lambda: moment, pseudonym_key="k") as services:
        form = pipeline.InboundForm(sid="SCRATCH1", address="+32470000009", body="horaires")
        replies, message = send(services, form)
        folder = Path(services.sessions.kw["bind"].url.database).parent

    assert replies and message.sid == "SCRATCH1" and message.intent
    assert services.counted is False and services.escalate is None
    assert not folder.exists()  # the scratch database went with its block
    assert rows(app, "SELECT id FROM messages") == []
