"""Logging in to the inbox: argon2 passwords, server-side sessions, CSRF, throttling, audit, CLI."""

from __future__ import annotations

import hashlib
import time
from typing import Any

from bot.web import auth
from tests.conftest import PASSWORD, Phone, csrf_of, log_in, make_user, rows


def audit_actions(app: Any) -> list[tuple[Any, ...]]:
    return [tuple(r) for r in rows(app, "SELECT action, user_id, detail FROM audit_log ORDER BY id")]


def session_token(app: Any, user_id: int) -> str | None:
    return rows(app, "SELECT session_token FROM users WHERE id = :i", i=user_id)[0][0]


# --- passwords ---------------------------------------------------------------------------

def test_a_password_is_stored_as_an_argon2_hash_never_in_clear(app: Any) -> None:
    user_id = make_user(app)
    stored = rows(app, "SELECT password_hash FROM users WHERE id = :i", i=user_id)[0][0]
    assert stored.startswith("$argon2id$")
    assert PASSWORD not in stored
    assert auth._hasher.verify(stored, PASSWORD)


def test_the_right_password_logs_in_and_opens_the_inbox(app: Any) -> None:
    user_id = make_user(app)
    client = app.test_client()
    response = log_in(client)
    assert response.status_code == 302
    assert response.headers["Location"] == "/inbox"
    assert client.get("/inbox").status_code == 200
    assert session_token(app, user_id) is not None


def test_a_wrong_password_is_refused_and_audited_without_the_password(app: Any) -> None:
    user_id = make_user(app)
    client = app.test_client()
    response = log_in(client, password="not the password at all")
    assert response.status_code == 401
    assert "incorrect" in response.get_data(as_text=True)
    assert client.get("/inbox").status_code == 302  # still not logged in
    assert session_token(app, user_id) is None
    assert audit_actions(app) == [("login_failed", user_id, "email=ana@cpas.example")]
    assert all("not the password" not in str(r) for r in rows(app, "SELECT * FROM audit_log"))


def test_an_unknown_email_is_refused_like_a_wrong_password(app: Any) -> None:
    make_user(app)
    response = log_in(app.test_client(), email="nobody@cpas.example")
    assert response.status_code == 401
    assert "incorrect" in response.get_data(as_text=True)
    assert audit_actions(app) == [("login_failed", None, "email=nobody@cpas.example")]


def test_a_deactivated_account_cannot_log_in(app: Any) -> None:
    user_id = make_user(app)
    with app.extensions["relais.services"].sessions() as session, session.begin():
        session.get(auth.User, user_id).active = False
    assert log_in(app.test_client()).status_code == 401


# --- throttling ----------------------------------------------------------------------------

def test_login_is_throttled_after_three_failures_with_a_message_then_allowed_again(make_app: Any) -> None:
    app = make_app(LOGIN_RATE_LIMIT="3 per 6 seconds")
    make_user(app)
    client = app.test_client()
    for _ in range(3):
        assert log_in(client, password="wrong password!").status_code == 401
    throttled = log_in(client)  # even the right password waits: no guessing through the limit
    assert throttled.status_code == 429
    assert "Trop de tentatives" in throttled.get_data(as_text=True)
    assert client.get("/inbox").status_code == 302
    assert ("login_throttled", 1, "email=ana@cpas.example") in audit_actions(app)
    time.sleep(6.2)  # the window passes: no lock-out
    assert log_in(client).status_code == 302
    assert client.get("/inbox").status_code == 200


def test_failures_are_counted_per_email_whatever_the_address(make_app: Any) -> None:
    app = make_app(LOGIN_RATE_LIMIT="3 per minute")
    make_user(app)
    for n in range(3):
        client = app.test_client()
        client.environ_base["REMOTE_ADDR"] = f"10.0.0.{n + 1}"
        assert log_in(client, password="wrong password!").status_code == 401
    fresh = app.test_client()
    fresh.environ_base["REMOTE_ADDR"] = "10.0.0.9"
    assert log_in(fresh).status_code == 429
    other = app.test_client()
    make_user(app, email="tom@cpas.example", name="Tom")
    other.environ_base["REMOTE_ADDR"] = "10.0.0.10"
    assert log_in(other, email="tom@cpas.example").status_code == 302  # another account is not blocked


def test_a_successful_login_does_not_count_towards_the_limit(make_app: Any) -> None:
    app = make_app(LOGIN_RATE_LIMIT="2 per minute")
    make_user(app)
    for _ in range(4):
        assert log_in(app.test_client()).status_code == 302


# --- sessions ------------------------------------------------------------------------------

def test_logout_kills_the_session_on_the_server_so_a_copied_cookie_is_dead(app: Any) -> None:
    user_id = make_user(app)
    client = app.test_client()
    log_in(client)
    cookie = client.get_cookie("session")
    assert cookie is not None
    thief = app.test_client()
    thief.set_cookie("session", cookie.value)
    assert thief.get("/inbox").status_code == 200  # the copy works while the session lives

    token = csrf_of(client.get("/inbox").get_data(as_text=True))
    response = client.post("/logout", data={"csrf_token": token})
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    assert session_token(app, user_id) is None
    replay = thief.get("/inbox")
    assert replay.status_code == 302 and replay.headers["Location"].startswith("/login")
    assert [a for a, _, _ in audit_actions(app)] == ["login", "logout"]


def test_a_new_login_ends_the_previous_session(app: Any) -> None:
    make_user(app)
    first, second = app.test_client(), app.test_client()
    log_in(first)
    log_in(second)
    assert second.get("/inbox").status_code == 200
    assert first.get("/inbox").status_code == 302


def test_the_session_cookie_is_httponly_samesite_lax_and_secure_behind_https(app: Any) -> None:
    assert app.config["PUBLIC_BASE_URL"].startswith("https://")
    make_user(app)
    response = log_in(app.test_client())
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" in cookie


def test_the_session_cookie_is_not_secure_on_a_plain_http_dev_address(make_app: Any) -> None:
    app = make_app(PUBLIC_BASE_URL="http://127.0.0.1:5000")
    make_user(app)
    cookie = log_in(app.test_client()).headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "Secure" not in cookie


# --- redirects -----------------------------------------------------------------------------

def test_an_unauthenticated_get_of_the_inbox_redirects_to_login(client: Any) -> None:
    response = client.get("/inbox")
    assert response.status_code == 302
    assert response.headers["Location"] == "/login?next=/inbox"
    follow = client.get(response.headers["Location"])
    assert 'name="password"' in follow.get_data(as_text=True)


def test_the_polling_endpoint_answers_401_json_instead_of_a_login_page(client: Any) -> None:
    response = client.get("/inbox/queue", headers={"Accept": "application/json"})
    assert response.status_code == 401
    assert response.is_json


def test_login_goes_back_to_the_page_asked_but_never_to_another_site(app: Any) -> None:
    make_user(app)
    client = app.test_client()
    token = csrf_of(client.get("/login").get_data(as_text=True))
    form = {"email": "ana@cpas.example", "password": PASSWORD, "csrf_token": token}
    assert client.post("/login", data={**form, "next": "/inbox/cases/7"}).headers["Location"] == "/inbox/cases/7"
    for evil in ("https://evil.example/", "//evil.example/x", "/\\evil.example"):
        other = app.test_client()
        token = csrf_of(other.get("/login").get_data(as_text=True))
        response = other.post("/login", data={**form, "csrf_token": token, "next": evil})
        assert response.headers["Location"] == "/inbox", evil


# --- CSRF ----------------------------------------------------------------------------------

def test_a_login_post_without_csrf_token_gets_400_and_logs_nobody_in(app: Any) -> None:
    user_id = make_user(app)
    client = app.test_client()
    response = client.post("/login", data={"email": "ana@cpas.example", "password": PASSWORD})
    assert response.status_code == 400
    assert "Rien n'a été fait" in response.get_data(as_text=True)
    assert session_token(app, user_id) is None
    assert audit_actions(app) == []


def test_a_logout_post_without_csrf_token_gets_400_and_the_session_lives(app: Any, worker: Any) -> None:
    response = worker.post("/logout")
    assert response.status_code == 400
    assert worker.get("/inbox").status_code == 200


def test_twilio_webhooks_need_no_csrf_token(app: Any) -> None:
    assert Phone(app).text("1")  # signed by Twilio, not by a browser form


# --- audit and CLI ---------------------------------------------------------------------------

def test_login_and_logout_are_audited(app: Any, worker: Any) -> None:
    token = csrf_of(worker.get("/inbox").get_data(as_text=True))
    worker.post("/logout", data={"csrf_token": token})
    assert [(a, u) for a, u, _ in audit_actions(app)] == [("login", 1), ("logout", 1)]


def test_cli_users_create_hashes_the_password_and_refuses_a_duplicate(app: Any, runner: Any) -> None:
    result = runner.invoke(args=["users", "create", "Lea@CPAS.example", "--name", "Léa", "--role", "admin",
                                 "--password", "a long enough password"])
    assert result.exit_code == 0, result.output
    email, name, role, stored = rows(app, "SELECT email, name, role, password_hash FROM users")[0]
    assert (email, name, role) == ("lea@cpas.example", "Léa", "admin")
    assert stored.startswith("$argon2id$")
    again = runner.invoke(args=["users", "create", "lea@cpas.example", "--name", "X", "--password", "another password"])
    assert again.exit_code != 0 and "already exists" in again.output
    assert log_in(app.test_client(), email="lea@cpas.example", password="a long enough password").status_code == 302


def test_cli_users_create_asks_for_the_password_when_not_given(app: Any, runner: Any) -> None:
    result = runner.invoke(args=["users", "create", "sam@cpas.example", "--name", "Sam"],
                           input="typed password 123\ntyped password 123\n")
    assert result.exit_code == 0, result.output
    assert "typed password" not in result.output
    assert log_in(app.test_client(), email="sam@cpas.example", password="typed password 123").status_code == 302


def test_cli_users_create_refuses_a_short_password_and_a_bad_role(app: Any, runner: Any) -> None:
    assert runner.invoke(args=["users", "create", "a@b.example", "--name", "A", "--password", "short"]).exit_code != 0
    assert runner.invoke(args=["users", "create", "a@b.example", "--name", "A", "--role", "boss",
                               "--password", "long enough password"]).exit_code != 0
    assert rows(app, "SELECT COUNT(*) FROM users")[0][0] == 0


def test_cli_users_token_prints_a_token_whose_sha256_only_is_stored(app: Any, runner: Any) -> None:
    make_user(app)
    result = runner.invoke(args=["users", "token", "ana@cpas.example"])
    assert result.exit_code == 0, result.output
    token = result.output.strip()
    assert len(token) >= 40
    stored = rows(app, "SELECT api_token_hash FROM users")[0][0]
    assert stored == hashlib.sha256(token.encode()).hexdigest()
    assert token not in str(rows(app, "SELECT * FROM users"))
    unknown = runner.invoke(args=["users", "token", "nobody@cpas.example"])
    assert unknown.exit_code != 0


def test_cli_users_password_sets_a_new_password_and_ends_sessions(app: Any, worker: Any, runner: Any) -> None:
    result = runner.invoke(args=["users", "password", "ana@cpas.example", "--password", "a brand new password"])
    assert result.exit_code == 0, result.output
    assert worker.get("/inbox").status_code == 302
    assert log_in(app.test_client()).status_code == 401
    assert log_in(app.test_client(), password="a brand new password").status_code == 302
