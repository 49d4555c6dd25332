"""The app factory: settings, the shared clients in app.extensions, the blueprints, the CLI."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import redis
from flask import Flask

from bot import extensions as ext
from bot.adapters.db import make_engine, make_sessionmaker
from bot.adapters.nlu import NluClient
from bot.adapters.outbox import enqueue_escalation
from bot.adapters.state import RedisStateStore
from bot.config import load_settings
from bot.core import spelling
from bot.services import workshops
from bot.services.flows_store import FlowsStore
from bot.services.pipeline import Services


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Build the app: defaults, then the environment, then test_config."""
    app = Flask("bot", template_folder="web/templates", static_folder="web/static")
    app.config.from_mapping(load_settings().as_flask_config())
    if test_config:
        app.config.from_mapping(test_config)
    logging.basicConfig(level=app.config["LOG_LEVEL"],
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    _extensions(app)
    _blueprints(app)
    from bot.web import auth

    auth.init_app(app)  # sessions, CSRF, login and its throttling: after the blueprints
    from bot.cli import register

    register(app)
    return app


def _extensions(app: Flask) -> None:
    """The shared clients (bot.extensions reads them); the Twilio client is built on first use."""
    cfg = app.config
    engine = make_engine(cfg["DATABASE_URL"])
    connection = redis.Redis.from_url(cfg["REDIS_URL"], socket_timeout=2, socket_connect_timeout=2)
    nlu = NluClient(cfg["RASA_URL"], cfg["NLU_TIMEOUT"], cache_size=cfg.get("NLU_CACHE_SIZE", 0),
                    speller=spelling.from_training_data())
    flows = FlowsStore(cfg["FLOWS_DIR"], strict=False)  # broken flows: safe replies, /healthz says why
    app.extensions[ext.DB] = engine
    app.extensions[ext.REDIS] = connection
    app.extensions[ext.NLU] = nlu
    app.extensions[ext.FLOWS] = flows
    sessions = make_sessionmaker(engine)
    app.extensions[ext.SERVICES] = Services(
        sessions=sessions,
        states=RedisStateStore(connection, cfg["STATE_TTL"]),
        nlu=nlu,
        flows=flows.get,
        clock=lambda: datetime.now(UTC),
        pseudonym_key=cfg["PSEUDONYM_KEY"],
        escalate=lambda case_id, priority: enqueue_escalation(connection, case_id, priority),
        effects=workshops.effects_factory(sessions, workshops.rq_enqueue_at(connection)),
    )


def _blueprints(app: Flask) -> None:
    from bot.web import admin, api, auth, dev, health, inbox, webhook
    from bot.web import workshops as workshop_views

    app.register_blueprint(webhook.bp)
    app.register_blueprint(health.bp)
    app.register_blueprint(auth.bp)
    app.register_blueprint(inbox.bp)
    app.register_blueprint(workshop_views.bp)
    app.register_blueprint(admin.bp)
    app.register_blueprint(api.bp)
    if app.config["DEV_MODE"]:
        app.register_blueprint(dev.bp)
