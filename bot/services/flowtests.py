"""Reading the conversation tests that admins write (`flows/tests/*.yml`).

A test is one conversation at a fixed date and time: the messages a person sends and, for
each, words the reply must (or must not) contain and what must happen (a case opened, a
workshop sign-up, a reminder). bot.services.flowtest_runner runs them through the real
inbound path. The format is in flows/README.md ("Testing a change"); `flask --app bot
flows test` runs every file, and so does the test suite.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

from bot.core import yamlfile
from bot.core.yamlfile import Node as _Node

ACTIONS = ("case_opened", "case_urgent", "signup_confirmed", "signup_waiting", "signup_offered",
           "signup_cancelled", "signup_expired", "reminder_scheduled", "opted_out", "opted_in")
TEST_KEYS = ("name", "at", "channel", "language", "from", "max_segments", "steps")
# `media:` in a test: what each word sends (a location is no attachment: NumMedia stays 0).
MEDIA_KINDS = {"photo": "image/jpeg", "voice": "audio/ogg", "document": "application/pdf", "location": ""}
STEP_KEYS = ("send", "expect", "expect_not", "actions", "step", "at", "media")
CHANNELS = ("sms", "whatsapp")
DEFAULT_NUMBER = "+32470000001"


class FlowTestError(ValueError):
    """A test file that cannot be read: the file, the line and why, for an admin."""

    def __init__(self, file: str, line: int | None, reason: str) -> None:
        self.file, self.line, self.reason = file, line, reason
        super().__init__(f"{file}:{line}: {reason}" if line else f"{file}: {reason}")


@dataclass(frozen=True)
class Turn:
    """One message of a test and what its answer must show."""

    line: int
    send: str
    expect: tuple[str, ...] = ()
    expect_not: tuple[str, ...] = ()
    actions: frozenset[str] | None = None  # None: not checked; empty: nothing may happen
    step: str | None = None  # the step the bot must be at afterwards
    at: datetime | None = None  # the clock moves to this time from this message on
    media: int = 0  # photos or sounds sent with the message
    media_kind: str = "photo"  # what they are: photo, voice, document, or a shared location


@dataclass(frozen=True)
class FlowTest:
    """One conversation: where, when, in which language, and its messages."""

    file: str
    line: int
    name: str
    at: datetime
    channel: str
    language: str | None
    number: str
    max_segments: int | None
    turns: tuple[Turn, ...]

    @property
    def address(self) -> str:
        """The sender as Twilio gives it: +32... or whatsapp:+32..."""
        return f"whatsapp:{self.number}" if self.channel == "whatsapp" else self.number

# --- reading test files ---------------------------------------------------------------------

def load_file(path: Path | str, shown: str | None = None) -> list[FlowTest]:
    """The tests of one file (a conversation, or a list of them); raise FlowTestError."""
    path = Path(path)
    name = shown or str(path)
    try:
        doc = yamlfile.load(path.read_text(encoding="utf-8"), name, as_text=True)
    except yaml.YAMLError as exc:
        raise FlowTestError(name, yamlfile.error_line(exc),
                            f"this is not valid YAML: {getattr(exc, 'problem', exc)}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise FlowTestError(name, None, f"the file cannot be read ({exc.__class__.__name__})") from None
    items = doc if isinstance(doc, list) else [doc]
    if not items or not all(isinstance(item, _Node) for item in items):
        raise FlowTestError(name, 1, "a test file holds a conversation (name, at, steps, ...) "
                                     "or a list of them")
    return [_test(item, name, path.stem) for item in items]


def _test(raw: _Node, file: str, default_name: str) -> FlowTest:
    _known_keys(raw, TEST_KEYS, file, "a test")
    steps = raw.get("steps")
    if not isinstance(steps, list) or not steps:
        raise FlowTestError(file, _key_line(raw, "steps"), "'steps' must list the messages, each "
                                                           "starting with '- send:'")
    channel = _text(raw, "channel", file) or "sms"
    if channel not in CHANNELS:
        raise FlowTestError(file, _key_line(raw, "channel"), f"'channel' is {channel!r}; it can be sms or whatsapp")
    max_segments = _text(raw, "max_segments", file)
    if max_segments is not None and not max_segments.isdigit():
        raise FlowTestError(file, _key_line(raw, "max_segments"), "'max_segments' must be a number, like 3")
    if "at" not in raw:
        raise FlowTestError(file, raw.line, "the test needs 'at': the date and time of the "
                                            "conversation, like \"2026-11-28 23:10\"")
    return FlowTest(
        file=file, line=raw.line or 1, name=_text(raw, "name", file) or default_name,
        at=_moment(raw, file), channel=channel, language=_text(raw, "language", file),
        number=_text(raw, "from", file) or DEFAULT_NUMBER,
        max_segments=int(max_segments) if max_segments else None,
        turns=tuple(_turn(step, file) for step in steps))


def _turn(raw: Any, file: str) -> Turn:
    if not isinstance(raw, _Node):
        raise FlowTestError(file, None, f"each step is a section starting with '- send:', not {raw!r}")
    _known_keys(raw, STEP_KEYS, file, "a step")
    if "send" not in raw:
        raise FlowTestError(file, raw.line, "this step has no 'send': the message the person sends")
    actions = None
    if "actions" in raw:
        actions = frozenset(_texts(raw, "actions", file))
        unknown = sorted(actions - set(ACTIONS))
        if unknown:
            raise FlowTestError(file, _key_line(raw, "actions"), f"'{unknown[0]}' is not an action"
                                f"{_did_you_mean(unknown[0], ACTIONS)}; the actions: {', '.join(ACTIONS)}")
    media = _text(raw, "media", file) or "0"
    kind = "photo"
    if media in MEDIA_KINDS:
        media, kind = ("0" if media == "location" else "1"), media
    if not media.isdigit():
        raise FlowTestError(file, _key_line(raw, "media"), "'media' is the number of photos sent, like 1, "
                            f"or one of: {', '.join(MEDIA_KINDS)}")
    return Turn(media_kind=kind, line=raw.line or 1, send=_text(raw, "send", file) or "",
                expect=_texts(raw, "expect", file), expect_not=_texts(raw, "expect_not", file),
                actions=actions, step=_text(raw, "step", file),
                at=_moment(raw, file) if "at" in raw else None, media=int(media))


def _known_keys(raw: _Node, known: tuple[str, ...], file: str, what: str) -> None:
    for key in raw:
        if key not in known:
            raise FlowTestError(file, _key_line(raw, key), f"{what} cannot have '{key}'"
                                f"{_did_you_mean(key, known)}; it can have: {', '.join(known)}")


def _did_you_mean(word: Any, options: tuple[str, ...]) -> str:
    close = difflib.get_close_matches(str(word), options, n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _key_line(raw: _Node, key: Any) -> int:
    return raw.key_lines.get(str(key), raw.line or 1)


def _text(raw: _Node, key: str, file: str) -> str | None:
    value = raw.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise FlowTestError(file, _key_line(raw, key), f"'{key}' must be a single text")
    return value


def _texts(raw: _Node, key: str, file: str) -> tuple[str, ...]:
    value = raw.get(key)
    if value is None:
        return ()
    values = [value] if isinstance(value, str) else value
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise FlowTestError(file, _key_line(raw, key), f"'{key}' must be a text or a list of texts "
                                                       "in [brackets]")
    return tuple(values)


def _moment(raw: _Node, file: str) -> datetime:
    text = _text(raw, "at", file) or ""
    try:
        return datetime.fromisoformat(text.strip())
    except ValueError:
        raise FlowTestError(file, _key_line(raw, "at"), f"'at' is {text!r}; write a date and time "
                                                        "like \"2026-11-28 23:10\" (the centre's time)") from None


def find_files(path: Path | str) -> tuple[Path, list[Path]]:
    """The flows folder and the test files for PATH: a flows folder, its tests/ folder or one file."""
    path = Path(path)
    if path.is_file():
        return path.parent.parent, [path]
    if (path / "tests").is_dir():
        return path, sorted((path / "tests").glob("*.yml"))
    return path.parent, sorted(path.glob("*.yml"))
