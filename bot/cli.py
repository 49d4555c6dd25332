"""Commands: `flask --app bot db upgrade`, `simulate`, `messages send`, `users create|token|password`."""

from __future__ import annotations

import json
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any
from zoneinfo import ZoneInfo

import click
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext

from bot import extensions
from bot.adapters import db
from bot.adapters import outbox as outbound
from bot.adapters.models import utcnow
from bot.core.text import parse_moment
from bot.services import pipeline, scratch, sweeper


def register(app: Flask) -> None:
    """Attach the commands to app."""
    app.cli.add_command(db_cli)
    app.cli.add_command(messages_cli)
    app.cli.add_command(simulate)
    app.cli.add_command(users_cli)
    app.cli.add_command(sweep)
    app.cli.add_command(flows_cli)


@click.command("sweep")
@click.option("--every", type=float, default=0, help="Sweep again every N seconds (the Procfile's sweeper).")
@with_appcontext
def sweep(every: float) -> None:
    """Re-enqueue cases never escalated, messages never sent and workshop reminders Redis lost."""
    services = extensions.services()
    while True:
        swept = sweeper.sweep(services.sessions, extensions.redis(), services.flows, utcnow())
        if swept or not every:  # a sweeper that runs every 30 s says something only when it did something
            click.echo(str(swept))
        if not every:
            return
        time.sleep(every)


flows_cli = AppGroup("flows", help="Check and test the conversation flows (the YAML files in flows/).")


@flows_cli.command("check")
@click.argument("directory", required=False, type=click.Path(file_okay=False, path_type=Path))
@click.option("--max-segments", default=3, show_default=True, type=click.IntRange(min=1),
              help="The most SMS segments one reply may take.")
def flows_check(directory: Path | None, max_segments: int) -> None:
    """Check the flows in DIRECTORY (default: the settings' FLOWS_DIR, else flows/); exit 1 on an error."""
    from bot.core.flows import check_dir, summary

    directory = directory or Path(current_app.config["FLOWS_DIR"])
    if not directory.is_dir():
        raise click.ClickException(f"{directory} is not a folder")
    report = check_dir(directory, max_segments=max_segments)
    for problem in report.problems:
        click.echo(problem)
    click.echo(summary(report, directory))
    if not report.ok:
        click.get_current_context().exit(1)


@flows_cli.command("test")
@click.argument("path", required=False, type=click.Path(exists=True, path_type=Path))
@click.option("--nlu", "use_nlu", is_flag=True,
              help="Ask the NLU service about free text (default: the keyword fallback, the same every run).")
def flows_test(path: Path | None, use_nlu: bool) -> None:
    """Run the conversation tests in PATH/tests/ (PATH: a flows folder, a tests folder or one file)."""
    import logging

    from bot.core.flows import FlowError
    from bot.services.flowtest_runner import run_path

    path = path or Path(current_app.config["FLOWS_DIR"])
    nlu = extensions.nlu() if use_nlu else None
    loggers = [logging.getLogger(name) for name in ("bot", "alembic")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:  # one line per test, not per message
        logger.setLevel(logging.WARNING)
    try:
        outcome = run_path(path, nlu, echo=click.echo)
    except FlowError as exc:
        raise click.ClickException(f"the flows cannot be loaded: {exc}") from None
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)
    if not outcome.ok:
        click.get_current_context().exit(1)


db_cli = AppGroup("db", help="Database schema.")


@db_cli.command("upgrade")
def db_upgrade() -> None:
    """Create or migrate the schema to the newest version."""
    db.upgrade(current_app.config["DATABASE_URL"])
    click.echo("database schema is up to date")


messages_cli = AppGroup("messages", help="Outbound messages.")


@messages_cli.command("send")
@click.argument("to")
@click.argument("text")
def messages_send(to: str, text: str) -> None:
    """Send TEXT to TO (+32..., or whatsapp:+32...) through the worker."""
    services = extensions.services()
    form = pipeline.InboundForm(sid="", address=to, body="")
    with services.sessions() as session:
        contact = pipeline.get_or_create_contact(services, session, form)
        message = outbound.create(session, contact, text, source="staff")
        session.commit()
    outbound.enqueue(extensions.redis(), message.id)
    click.echo(f"message {message.id} queued")


@click.command("simulate")
@click.option("--json", "json_file", type=click.File("r"), help="One message per line; '-' for stdin.")
@click.option("--same-contact", is_flag=True, help="All lines from one contact (default: each fresh).")
@click.option("--channel", type=click.Choice(["sms", "whatsapp"]), default="sms")
@click.option("--at", "at", default=None,
              help="Local date and time, e.g. '2026-11-28 23:10' or 'samedi 23:10'.")
@click.option("--number", default="+32470000000", help="The contact's number.")
def simulate(json_file: IO[str] | None, same_contact: bool, channel: str, at: str | None,
             number: str) -> None:
    """Talk to the real engine and NLU with a scratch database; nothing is sent."""
    base = extensions.services()
    moment = _moment(at, base.flows().schedule.tz) if at else None
    with scratch.scratch_services(base.flows, nlu=base.nlu, pseudonym_key=base.pseudonym_key,
                                  clock=lambda: moment or datetime.now(UTC)) as services:
        if json_file is None:
            _chat(services, channel, number)
            return
        for index, line in enumerate(json_file):
            text = line.rstrip("\n")
            address = number if same_contact else f"+3247{index:07d}"
            click.echo(json.dumps(_simulate_one(services, channel, address, text), ensure_ascii=False))


def _moment(at: str, tz: ZoneInfo) -> datetime:
    """The --at moment, in the centre's time unless it says otherwise."""
    try:
        return parse_moment(at, datetime.now(tz))
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--at") from None


def _simulate_one(services: pipeline.Services, channel: str, number: str, text: str) -> dict[str, Any]:
    address = f"whatsapp:{number}" if channel == "whatsapp" else number
    form = pipeline.InboundForm(sid=f"SIM{uuid.uuid4().hex}", address=address, body=text)
    replies, message = scratch.send(services, form)
    return {"text": text, "intent": message.intent, "confidence": message.confidence,
            "language": message.language, "priority": message.priority, "replies": replies,
            "understood_by": message.understood_by, "needs_review": message.needs_review}


def _chat(services: pipeline.Services, channel: str, number: str) -> None:
    click.echo("Relais simulator: type a message, Ctrl-D to quit. Nothing is sent.")
    for line in sys.stdin if not sys.stdin.isatty() else iter(lambda: click.prompt(">", default="",
                                                                                  show_default=False), None):
        result = _simulate_one(services, channel, number, line.rstrip("\n"))
        for reply in result["replies"]:
            click.echo(reply)
        click.echo(click.style(f"  [{result['intent']} {result['confidence'] or 0:.2f} "
                               f"{result['language']} {result['priority'] or '-'}]", dim=True))


users_cli = AppGroup("users", help="Accounts of the social workers and admins of the inbox.")


@users_cli.command("create")
@click.argument("email")
@click.option("--name", required=True, help="The name colleagues see in the inbox.")
@click.option("--role", type=click.Choice(["worker", "admin"]), default="worker", show_default=True)
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True,
              help="Asked when not given (give it only in scripts and tests).")
def users_create(email: str, name: str, role: str, password: str) -> None:
    """Create an account that logs in at /inbox with EMAIL and a password."""
    from bot.web import auth

    with extensions.sessions()() as session, session.begin():
        try:
            user = auth.create_user(session, email, name, role, password)
        except ValueError as exc:
            raise click.ClickException(str(exc)) from None
        click.echo(f"user {user.id} created: {user.email} ({user.role})")


@users_cli.command("token")
@click.argument("email")
def users_token(email: str) -> None:
    """Print a new API token for EMAIL (the previous one stops working); only its hash is kept."""
    from bot.web import auth

    with extensions.sessions()() as session, session.begin():
        user = auth.user_by_email(session, email)
        if user is None:
            raise click.ClickException(f"no user with the email {email}")
        token = auth.issue_api_token(user)
    click.echo(token)


@users_cli.command("password")
@click.argument("email")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True,
              help="Asked when not given.")
def users_password(email: str, password: str) -> None:
    """Set a new password for EMAIL and end their open sessions."""
    from bot.web import auth

    if len(password) < auth.MIN_PASSWORD_LENGTH:
        raise click.ClickException(f"the password must have at least {auth.MIN_PASSWORD_LENGTH} characters")
    with extensions.sessions()() as session, session.begin():
        user = auth.user_by_email(session, email)
        if user is None:
            raise click.ClickException(f"no user with the email {email}")
        user.password_hash = auth.hash_password(password)
        user.session_token = None
        auth.audit(session, "password_set", user_id=user.id)
    click.echo(f"password of user {user.id} changed; their sessions are closed")
