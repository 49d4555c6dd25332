"""Social workers' accounts: password login, sessions that logout really ends, API tokens, audit.

Flask-Login keeps `users.session_token` (not the user id) in the signed session cookie, so
clearing that column on logout kills every copy of the cookie on the server side. Login is
throttled per IP and per email with Flask-Limiter (failed attempts only, never a lock-out).
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import time
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import (
    Blueprint,
    Flask,
    Response,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_limiter import Limiter, RequestLimit
from flask_limiter.util import get_remote_address
from flask_login import LoginManager, UserMixin, current_user, login_required, login_user, logout_user
from flask_wtf.csrf import CSRFError, CSRFProtect
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot import extensions
from bot.adapters.models import User
from bot.services.audit import record as audit

log = logging.getLogger(__name__)
security_log = logging.getLogger("relais.security")
bp = Blueprint("auth", __name__)

ROLES = ("worker", "admin")
MIN_PASSWORD_LENGTH = 10
LOGIN_RATE_LIMIT = "5 per minute"  # failed logins, per IP and per email; tests shorten it
CSRF_EXEMPT_BLUEPRINTS = ("twilio", "dev", "api")  # Twilio signs its requests; the API uses tokens
_hasher = PasswordHasher()


# --- accounts ----------------------------------------------------------------------------

@dataclass(frozen=True, eq=False)
class Worker(UserMixin):
    """The logged-in user as Flask-Login sees it: its id is the session token, not users.id."""

    id: int
    email: str
    name: str
    role: str
    session_token: str

    def get_id(self) -> str:
        """The alternative token Flask-Login stores in the session cookie."""
        return self.session_token

    @classmethod
    def of(cls, user: User) -> Worker:
        """A detached copy of a user row that has a session token."""
        assert user.session_token is not None
        return cls(user.id, user.email, user.name, user.role, user.session_token)


def hash_password(password: str) -> str:
    """An argon2id hash of password."""
    return _hasher.hash(password)


def check_password(user: User | None, password: str) -> bool:
    """True when password matches; upgrades an old hash. Takes as long for an unknown user."""
    stored = user.password_hash if user is not None else _dummy_hash()
    try:
        _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False
    if user is None:
        return False
    if _hasher.check_needs_rehash(stored):
        user.password_hash = _hasher.hash(password)
    return True


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return _hasher.hash(secrets.token_hex(16))


def create_user(db: Session, email: str, name: str, role: str, password: str) -> User:
    """Add a user; raise ValueError on a bad role, a short password or a taken email."""
    email = email.strip().lower()
    if "@" not in email:
        raise ValueError(f"'{email}' is not an email address")
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValueError(f"the password must have at least {MIN_PASSWORD_LENGTH} characters")
    if db.scalars(select(User).where(User.email == email)).first() is not None:
        raise ValueError(f"a user with the email {email} already exists")
    user = User(email=email, name=name.strip() or email, role=role, password_hash=hash_password(password))
    db.add(user)
    db.flush()
    return user


def user_by_email(db: Session, email: str) -> User | None:
    """The user with this email (any case), or None."""
    return db.scalars(select(User).where(User.email == email.strip().lower())).one_or_none()


def token_digest(token: str) -> str:
    """The SHA-256 of an API token: the only form stored."""
    return hashlib.sha256(token.encode()).hexdigest()


def issue_api_token(user: User) -> str:
    """A new API token for user (the old one stops working); only its digest is kept."""
    token = secrets.token_urlsafe(32)
    user.api_token_hash = token_digest(token)
    return token


def user_for_api_token(db: Session, token: str) -> User | None:
    """The active user whose API token this is, or None."""
    if not token:
        return None
    query = select(User).where(User.api_token_hash == token_digest(token), User.active.is_(True))
    return db.scalars(query).one_or_none()


def db_sessions() -> sessionmaker[Session]:
    """The app's database sessions (the staff pages use them too)."""
    return extensions.sessions()


# --- the app's security setup --------------------------------------------------------------

def init_app(app: Flask) -> None:
    """Sessions, CSRF, login and login throttling; call after the blueprints are registered."""
    app.config.update(
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=str(app.config["PUBLIC_BASE_URL"]).startswith("https://"),
    )
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", None)  # a token lives as long as the session
    app.config.setdefault("LOGIN_RATE_LIMIT", LOGIN_RATE_LIMIT)
    csrf = CSRFProtect(app)
    for name in CSRF_EXEMPT_BLUEPRINTS:
        if name in app.blueprints:
            csrf.exempt(app.blueprints[name])
    app.register_error_handler(CSRFError, _csrf_failed)

    manager = LoginManager(app)
    manager.login_view = "auth.login"
    manager.user_loader(_load_user)
    manager.unauthorized_handler(_unauthorized)
    _throttle_login(app)


def _throttle_login(app: Flask) -> None:
    limiter = Limiter(get_remote_address, app=app, storage_uri=app.config["REDIS_URL"],
                      strategy="fixed-window", key_prefix="relais-login",
                      swallow_errors=True)  # Redis down: argon2 still slows guessing; never lock out

    def rate() -> str:
        return str(current_app.config["LOGIN_RATE_LIMIT"])

    def failed(response: Response) -> bool:
        return response.status_code == 401

    view: Any = app.view_functions["auth.login"]
    view = limiter.limit(rate, methods=["POST"], deduct_when=failed, on_breach=_throttled)(view)
    view = limiter.limit(rate, key_func=_email_key, methods=["POST"], deduct_when=failed,
                         on_breach=_throttled)(view)
    app.view_functions["auth.login"] = view


def _email_key() -> str:
    email = request.form.get("email", "").strip().lower()
    return f"email:{email}" if email else ""


def _load_user(token: str) -> Worker | None:
    if not token:
        return None
    with db_sessions()() as db:
        query = select(User).where(User.session_token == token, User.active.is_(True))
        user = db.scalars(query).one_or_none()
        return Worker.of(user) if user is not None else None


def _unauthorized() -> ResponseReturnValue:
    if request.accept_mimetypes.best == "application/json":  # the inbox's polling
        return Response('{"error": "login required"}', status=401, mimetype="application/json")
    flash("Connectez-vous pour ouvrir la file.", "info")
    return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))


def _csrf_failed(error: CSRFError) -> tuple[str, int]:
    security_log.warning("refused %s %s: %s", request.method, request.path, error.description)
    return render_template("auth/expired.html"), 400


def _throttled(limit: RequestLimit) -> Response:
    wait = max(1, limit.reset_at - int(time.time()))
    email = request.form.get("email", "").strip().lower()
    security_log.warning("login throttled from %s", request.remote_addr)
    with db_sessions()() as db, db.begin():
        user = user_by_email(db, email)
        audit(db, "login_throttled", user_id=user.id if user else None, detail=f"email={email}")
    error = f"Trop de tentatives de connexion. Réessayez dans {wait} s."
    return Response(render_template("auth/login.html", error=error, email=email, next=_next_param()),
                    status=429, headers={"Retry-After": str(wait)})


def require_login() -> ResponseReturnValue | None:
    """A blueprint's `before_request`: the login page for anyone not logged in."""
    if not current_user.is_authenticated:
        return current_app.login_manager.unauthorized()  # type: ignore[attr-defined, no-any-return]
    return None


def secure_headers(response: Response) -> Response:
    """Pages with personal data: not cached, not framed, scripts only from this site."""
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers.setdefault("Content-Security-Policy", (  # a media file sets a stricter one
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "frame-ancestors 'none'; form-action 'self'; base-uri 'none'"))
    return response


bp.after_request(secure_headers)


# --- views ---------------------------------------------------------------------------------

def _next_param() -> str:
    return request.values.get("next", "")


def _safe_next() -> str:
    """Where to go after login: a path on this site only, never another host."""
    target = _next_param()
    parts = urlsplit(target)
    if target.startswith("/") and not target.startswith("//") and "\\" not in target \
            and not parts.scheme and not parts.netloc:
        return target
    return url_for("inbox.queue")


@bp.route("/login", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    """The login form; a successful login starts a new server-side session token."""
    if request.method == "GET":
        if current_user.is_authenticated:
            return redirect(_safe_next())
        return render_template("auth/login.html", next=_next_param())
    email = request.form.get("email", "").strip().lower()[:255]
    password = request.form.get("password", "")
    worker: Worker | None = None
    with db_sessions()() as db, db.begin():
        user = user_by_email(db, email)
        if check_password(user, password) and user is not None and user.active:
            user.session_token = secrets.token_hex(32)
            audit(db, "login", user_id=user.id)
            worker = Worker.of(user)
        else:
            audit(db, "login_failed", user_id=user.id if user else None, detail=f"email={email}")
    if worker is None:
        security_log.warning("failed login from %s", request.remote_addr)
        return render_template("auth/login.html", error="Adresse e-mail ou mot de passe incorrect.",
                               email=email, next=_next_param()), 401
    session.clear()  # no session fixation: nothing from before the login survives
    login_user(worker)
    log.info("user %s logged in", worker.id)
    return redirect(_safe_next())


@bp.post("/logout")
@login_required
def logout() -> ResponseReturnValue:
    """End the session on the server: the old cookie stops working, wherever it was copied."""
    user_id = current_user.id
    with db_sessions()() as db, db.begin():
        user = db.get(User, user_id)
        if user is not None:
            user.session_token = None
        audit(db, "logout", user_id=user_id)
    logout_user()
    session.clear()
    flash("Vous êtes déconnecté.", "info")
    log.info("user %s logged out", user_id)
    return redirect(url_for("auth.login"))


def api_unauthorized() -> tuple[Response, int]:
    """The JSON API's answer to a missing or wrong bearer token."""
    response = jsonify(error="a valid API token is required: Authorization: Bearer TOKEN")
    response.headers["WWW-Authenticate"] = 'Bearer realm="relais"'
    return response, 401
