"""Typed access to the shared clients the app factory keeps in `app.extensions`.

`bot.app` puts them there once per app; views, commands and jobs read them here rather
than by string key, so a type checker and a reader see what each one is. Without an
app argument they read the current app (inside a request, a command or a job).
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from flask import Flask, current_app

if TYPE_CHECKING:
    from redis import Redis
    from sqlalchemy import Engine
    from sqlalchemy.orm import Session, sessionmaker
    from twilio.rest import Client

    from bot.adapters.nlu import NluClient
    from bot.core.flows import Flows
    from bot.services.flows_store import FlowsStore
    from bot.services.pipeline import Services

DB = "relais.db"
REDIS = "relais.redis"
NLU = "relais.nlu"
FLOWS = "relais.flows"
SERVICES = "relais.services"
TWILIO = "relais.twilio"

_BUILDING = threading.Lock()  # two threads asking for the Twilio client at once build one


def _get(app: Flask | None, key: str) -> Any:
    return (app or current_app).extensions[key]


def engine(app: Flask | None = None) -> Engine:
    """The SQLAlchemy engine of the app's database."""
    return _get(app, DB)  # type: ignore[no-any-return]


def redis(app: Flask | None = None) -> Redis:
    """The Redis connection (state, queues)."""
    return _get(app, REDIS)  # type: ignore[no-any-return]


def nlu(app: Flask | None = None) -> NluClient:
    """The client of the NLU service (Rasa)."""
    return _get(app, NLU)  # type: ignore[no-any-return]


def flows_store(app: Flask | None = None) -> FlowsStore:
    """The store that loads the flow files and follows their edits."""
    return _get(app, FLOWS)  # type: ignore[no-any-return]


def services(app: Flask | None = None) -> Services:
    """The outside parts the inbound pipeline uses."""
    return _get(app, SERVICES)  # type: ignore[no-any-return]


def sessions(app: Flask | None = None) -> sessionmaker[Session]:
    """The database session factory the pipeline uses."""
    return services(app).sessions


def flows(app: Flask | None = None) -> Flows:
    """The flows served now (as the pipeline sees them)."""
    return services(app).flows()


def twilio(app: Flask | None = None) -> Client:
    """The Twilio REST client, built on first use and kept (opening no connection)."""
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    client = app.extensions.get(TWILIO)
    if client is None:
        with _BUILDING:
            client = app.extensions.get(TWILIO)
            if client is None:
                from bot.adapters import twilio_api  # twilio.rest takes ~100 ms to import
                from bot.config import settings_from_config

                client = twilio_api.make_client(settings_from_config(app.config))
                app.extensions[TWILIO] = client
    return client  # type: ignore[no-any-return]
