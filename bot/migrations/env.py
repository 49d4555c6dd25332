"""Alembic environment: migrations run against the URL that bot.adapters.db.upgrade passes."""

from __future__ import annotations

from alembic import context

from bot.adapters.db import make_engine
from bot.adapters.models import Base

config = context.config
engine = make_engine(config.get_main_option("sqlalchemy.url") or "")
with engine.connect() as connection:
    context.configure(connection=connection, target_metadata=Base.metadata,
                      render_as_batch=connection.dialect.name == "sqlite")
    with context.begin_transaction():
        context.run_migrations()
engine.dispose()
