"""GET /healthz (state of Redis, the database and the NLU service) and GET /metrics."""

from __future__ import annotations

import redis
from flask import Blueprint, Response, jsonify
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from bot import extensions

bp = Blueprint("health", __name__)

@bp.get("/healthz")
def healthz() -> tuple[Response, int]:
    """200 while the database answers (the help line can then still reply); details per part."""
    checks = {"database": "ok", "redis": "ok", "nlu": "ok"}
    try:
        with extensions.sessions()() as session:
            session.execute(text("SELECT 1"))
    except SQLAlchemyError:
        checks["database"] = "down"
    try:
        extensions.redis().ping()
    except redis.RedisError:
        checks["redis"] = "down"
    if not extensions.nlu().ping():
        checks["nlu"] = "down (keyword fallback in use)"
    store = extensions.flows_store()
    if store.last_error is not None:
        served = f"version {store.version} served" if store.version else "nothing served: safe replies only"
        checks["flows"] = f"refused ({store.last_error}); {served}"
    else:
        checks["flows"] = "ok"
    status = 200 if checks["database"] == "ok" and store.version else 503
    return jsonify(status="ok" if status == 200 else "down", **checks), status


@bp.get("/metrics")
def metrics() -> Response:
    """Prometheus metrics of this process."""
    return Response(generate_latest(), mimetype=CONTENT_TYPE_LATEST)
