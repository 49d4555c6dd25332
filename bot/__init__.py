"""Relais: an SMS/WhatsApp help line for a social centre.

`create_app` builds the web app (`flask --app bot`, `gunicorn 'bot:create_app()'`). The
package itself imports nothing, so `import bot.core.engine` loads no web or I/O library.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flask import Flask


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Build the app: defaults, then the environment, then test_config (see bot.app)."""
    from bot.app import create_app as build

    return build(test_config)
