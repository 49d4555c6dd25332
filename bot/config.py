"""Configuration, read from environment variables only (a `.env` file is read when present).

Every variable is documented in the README with its default. A variable that is set
but malformed stops the app at start with a message that names it.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DEV_AUTH_TOKEN = "dev-auth-token-not-secret"
DEV_ACCOUNT_SID = "AC" + "0" * 32
DEV_TEMPLATE_SID = "HX" + "0" * 32


class ConfigError(RuntimeError):
    """A configuration variable is missing or malformed."""


def envfloat(env: Mapping[str, str], name: str, default: float, *, above: float | None = None) -> float:
    """Read a number (strictly greater than above, when given), naming the variable when it is not one."""
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number, not {raw!r}") from None
    if value != value or value in (float("inf"), float("-inf")):  # nan, inf: no use as a timeout
        raise ConfigError(f"{name} must be a finite number, not {raw!r}")
    if above is not None and value <= above:
        raise ConfigError(f"{name} must be more than {above:g}, not {raw!r}")
    return value


def envint(env: Mapping[str, str], name: str, default: int, *, least: int | None = None,
           most: int | None = None) -> int:
    """Read a whole number ("1.5" is refused, not truncated), naming the variable when it is not one."""
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw.strip())
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, not {raw!r}") from None
    if (least is not None and value < least) or (most is not None and value > most):
        bounds = f"at least {least}" if most is None else f"between {least} and {most}"
        raise ConfigError(f"{name} must be {bounds}, not {raw!r}")
    return value


def envlevel(env: Mapping[str, str], name: str, default: str) -> str:
    """Read a logging level name (DEBUG, INFO, WARNING, ERROR, CRITICAL; any case), naming the variable."""
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    level = raw.strip().upper()
    if level not in logging.getLevelNamesMapping():
        names = ", ".join(("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"))
        raise ConfigError(f"{name} must be a logging level ({names}), not {raw!r}")
    return level


@dataclass(frozen=True)
class Settings:
    """Everything the app and the worker read from the environment."""

    port: int
    public_base_url: str
    database_url: str
    redis_url: str
    rasa_url: str
    nlu_timeout: float
    nlu_cache_size: int
    flows_dir: Path
    state_ttl: int
    secret_key: str
    pseudonym_key: str
    twilio_account_sid: str
    twilio_auth_token: str
    twilio_sms_from: str
    twilio_whatsapp_from: str
    twilio_api_base_url: str
    twilio_timeout: float
    twilio_whatsapp_template_sid: str
    media_timeout: float
    media_max_bytes: int
    dev_mode: bool
    log_level: str

    def as_flask_config(self) -> dict[str, Any]:
        """The settings as upper-case Flask config keys."""
        return {k.upper(): v for k, v in self.__dict__.items()}


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Build settings from the environment; raise ConfigError naming a bad variable."""
    if env is None:
        _load_dotenv()
        env = os.environ
    sid = env.get("TWILIO_ACCOUNT_SID", "")
    token = env.get("TWILIO_AUTH_TOKEN", "")
    if bool(sid) != bool(token):
        raise ConfigError("TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN must be set together")
    dev_mode = not sid
    port = envint(env, "PORT", 5000, least=1, most=65535)
    public_base_url = env.get("PUBLIC_BASE_URL") or f"http://127.0.0.1:{port}"
    secret_key = env.get("SECRET_KEY", "")
    if not secret_key:
        if not dev_mode:
            raise ConfigError("SECRET_KEY is required when Twilio credentials are set")
        secret_key = "dev-secret-key-not-secret"
    return Settings(
        port=port,
        public_base_url=public_base_url.rstrip("/"),
        database_url=env.get("DATABASE_URL") or f"sqlite:///{ROOT / 'var' / 'relais.db'}",
        redis_url=env.get("REDIS_URL") or "redis://127.0.0.1:6379/0",
        rasa_url=(env.get("RASA_URL") or "http://127.0.0.1:5005").rstrip("/"),
        nlu_timeout=envfloat(env, "NLU_TIMEOUT", 1.5, above=0),
        nlu_cache_size=envint(env, "NLU_CACHE_SIZE", 4096, least=0),
        flows_dir=Path(env.get("FLOWS_DIR") or ROOT / "flows"),
        state_ttl=envint(env, "STATE_TTL", 6 * 3600, least=1),
        secret_key=secret_key,
        pseudonym_key=env.get("PSEUDONYM_KEY") or secret_key,
        twilio_account_sid=sid or DEV_ACCOUNT_SID,
        twilio_auth_token=token or DEV_AUTH_TOKEN,
        twilio_sms_from=env.get("TWILIO_SMS_FROM") or "+32460000000",
        twilio_whatsapp_from=env.get("TWILIO_WHATSAPP_FROM") or "whatsapp:+32460000000",
        twilio_api_base_url=(
            env.get("TWILIO_API_BASE_URL")
            or (f"http://127.0.0.1:{port}/dev/twilio" if dev_mode else "")
        ).rstrip("/"),
        twilio_timeout=envfloat(env, "TWILIO_TIMEOUT", 10.0, above=0),
        # An approved WhatsApp template with one variable ({{1}}: the social worker's text),
        # used for replies outside WhatsApp's 24-hour window. The dev fake accepts any HX sid.
        twilio_whatsapp_template_sid=env.get("TWILIO_WHATSAPP_TEMPLATE_SID")
        or (DEV_TEMPLATE_SID if dev_mode else ""),
        media_timeout=envfloat(env, "MEDIA_TIMEOUT", 10.0, above=0),
        media_max_bytes=envint(env, "MEDIA_MAX_BYTES", 16 * 1024 * 1024, least=1),  # WhatsApp's own limit
        dev_mode=dev_mode,
        log_level=envlevel(env, "LOG_LEVEL", "INFO"),
    )


def _load_dotenv() -> None:
    dotenv = ROOT / ".env"
    if dotenv.exists():
        from dotenv import load_dotenv

        load_dotenv(dotenv, override=False)


def settings_from_config(config: Mapping[str, Any]) -> Settings:
    """The settings back from an app's config (test_config overrides included)."""
    return Settings(**{name: config[name.upper()] for name in Settings.__dataclass_fields__})
