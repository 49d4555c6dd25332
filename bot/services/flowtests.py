"""Conversation tests that admins write (`flows/tests/*.yml`), run through the real inbound path.

A test is one conversation at a fixed date and time: the messages a person sends and, for
each, words the reply must (or must not) contain and what must happen (a case opened, a
workshop sign-up, a reminder). It runs through `pipeline.handle_inbound`, as a real SMS
would, on a scratch SQLite database, with the state in memory and nothing sent out; what
happened is read back from that database. The format is in flows/README.md ("Testing a
change"); `flask --app bot flows test` runs every file, and so does the test suite.
"""

from __future__ import annotations

import atexit
import difflib
import shutil
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.adapters import db
from bot.adapters.models import Case, Contact, Message, Reminder, Signup
from bot.adapters.nlu import NluClient
from bot.adapters.state import MemoryStateStore
from bot.core import sms, yamlfile
from bot.core.flows import Flows, load_flows
from bot.core.text import normalize
from bot.core.yamlfile import Node as _Node
from bot.services import pipeline

ACTIONS = ("case_opened", "case_urgent", "signup_confirmed", "signup_waiting", "signup_offered",
           "signup_cancelled", "signup_expired", "reminder_scheduled", "opted_out", "opted_in")
TEST_KEYS = ("name", "at", "channel", "language", "from", "max_segments", "steps")
# `media:` in a test: what each word sends (a location is no attachment: NumMedia stays 0).
MEDIA_KINDS = {"photo": "image/jpeg", "voice": "audio/ogg", "document": "application/pdf", "location": ""}
TEST_LOCATION = {"kind": "location", "latitude": "50.827400", "longitude": "4.345900",
                 "address": "Place Van Meenen 39, Saint-Gilles", "label": ""}
STEP_KEYS = ("send", "expect", "expect_not", "actions", "step", "at", "media")
CHANNELS = ("sms", "whatsapp")
DEFAULT_NUMBER = "+32470000001"
PSEUDONYM_KEY = "flow-tests"  # the scratch database's pseudonyms: nothing real is stored


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


@dataclass(frozen=True)
class Failure:
    """Why a test failed, at which line of its file."""

    file: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


@dataclass
class Result:
    """What running a test gave: its failures (none when it passed) and the conversation."""

    test: FlowTest
    failures: list[Failure] = field(default_factory=list)
    transcript: list[tuple[str, list[str]]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when every message got the expected answer."""
        return not self.failures

    def report(self) -> str:
        """The failures, then the conversation as it went, for a person to read."""
        lines = [str(f) for f in self.failures]
        if self.failures and self.transcript:
            lines.append("the conversation:")
            for sent, replies in self.transcript:
                lines.append(f"  > {sent}")
                lines += [f"  < {line}" for reply in replies for line in reply.split("\n")]
        return "\n".join(lines)


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


# --- running -----------------------------------------------------------------------------------

_TEMPLATE: dict[str, Path] = {}  # one migrated empty database per process, copied for each test


def _scratch_database(folder: Path) -> str:
    """A migrated, empty SQLite database in folder (a copy of a template migrated once)."""
    template = _TEMPLATE.get("path")
    if template is None or not template.exists():
        template = Path(tempfile.mkdtemp(prefix="relais-flowtests-")) / "template.db"
        atexit.register(shutil.rmtree, template.parent, ignore_errors=True)
        db.upgrade(f"sqlite:///{template}")
        _TEMPLATE["path"] = template
    target = folder / "scratch.db"
    shutil.copyfile(template, target)
    return f"sqlite:///{target}"


def _effects(sessions: sessionmaker[Session]) -> Callable[[int, Flows], Any] | None:
    """The workshop actions (sign-ups) on the scratch database; they write rows, send nothing."""
    try:
        from bot.services.workshops import effects_factory
    except ImportError:  # a version without workshops: `do: signup` then gives its first result
        return None
    return effects_factory(sessions, None)


def run_test(test: FlowTest, flows: Flows, nlu: NluClient | None = None) -> Result:
    """Run one test through the real inbound path on a scratch database; nothing is sent.

    Args:
        test: the conversation, from `load_file`.
        flows: the flows to test (`load_flows(folder)`).
        nlu: the NLU service to ask for free text; None: the keyword fallback (the same every run).
    """
    with tempfile.TemporaryDirectory(prefix="relais-flowtest-") as folder:
        engine = db.make_engine(_scratch_database(Path(folder)))
        try:
            return _run(test, flows, nlu, db.make_sessionmaker(engine))
        finally:
            engine.dispose()


def _run(test: FlowTest, flows: Flows, nlu: NluClient | None, sessions: sessionmaker[Session]) -> Result:
    clock = {"now": _aware(test.at, flows)}
    states = MemoryStateStore()
    services = pipeline.Services(sessions=sessions, states=states, nlu=nlu, flows=lambda: flows,
                                 clock=lambda: clock["now"], pseudonym_key=PSEUDONYM_KEY,
                                 escalate=None, effects=_effects(sessions), counted=False)
    contact_id = _contact(services, test)
    result = Result(test)
    for number, turn in enumerate(test.turns, start=1):
        if turn.at is not None:
            clock["now"] = _aware(turn.at, flows)
        before = _snapshot(sessions)
        form = pipeline.InboundForm(sid=f"FLOWTEST{number:04d}", address=test.address, body=turn.send,
                                    num_media=turn.media, media=_media(turn))
        replies = pipeline.handle_inbound(services, form)
        result.transcript.append((turn.send, replies))
        happened = _happened(before, _snapshot(sessions))
        if contact_id is None:
            contact_id = _contact_id(sessions, test.address)
        step = states.load(contact_id).step if contact_id is not None else None
        problems = _check(turn, replies, happened, step, test, _failed(sessions, form.sid))
        if problems:
            where = f"message {number} (send {turn.send!r})"
            result.failures += [Failure(test.file, turn.line, f"{where}: {p}") for p in problems]
            break  # later messages depend on this answer
    return result


def _media(turn: Turn) -> tuple[dict[str, str], ...]:
    """The media entries Twilio would send for a test's `media:` (no URL: nothing is fetched)."""
    if turn.media_kind == "location":
        return (dict(TEST_LOCATION),)
    return tuple({"url": "", "type": MEDIA_KINDS[turn.media_kind]} for _ in range(turn.media))


def _aware(moment: datetime, flows: Flows) -> datetime:
    """A test's time is the centre's local time unless it says otherwise."""
    return moment if moment.tzinfo else moment.replace(tzinfo=flows.schedule.tz)


def _contact(services: pipeline.Services, test: FlowTest) -> int | None:
    """With `language:`, the person is already known to write in it (as after a first message)."""
    if test.language is None:
        return None
    form = pipeline.InboundForm(sid="", address=test.address, body="")
    with services.sessions() as session:
        contact = pipeline.get_or_create_contact(services, session, form)
        contact.language = test.language
        session.commit()
        return contact.id


def _contact_id(sessions: sessionmaker[Session], address: str) -> int | None:
    with sessions() as session:
        return session.scalar(select(Contact.id).where(Contact.address == address))


def _failed(sessions: sessionmaker[Session], sid: str) -> bool:
    """True when the bot could not process the message (it then sent the safe reply)."""
    with sessions() as session:
        reason = session.scalar(select(Message.review_reason).where(Message.sid == sid))
    return reason == "processing_error"


@dataclass(frozen=True)
class _Snapshot:
    cases: dict[int, str]
    signups: dict[int, str]
    reminders: dict[int, tuple[str, datetime]]
    opted_out: dict[int, bool]


def _snapshot(sessions: sessionmaker[Session]) -> _Snapshot:
    with sessions() as session:
        return _Snapshot(
            cases=dict(session.execute(select(Case.id, Case.priority)).tuples().all()),
            signups=dict(session.execute(select(Signup.id, Signup.status)).tuples().all()),
            reminders={rid: (status, due) for rid, status, due
                       in session.execute(select(Reminder.id, Reminder.status, Reminder.due_at)).tuples()},
            opted_out=dict(session.execute(select(Contact.id, Contact.opted_out)).tuples().all()))


def _happened(before: _Snapshot, after: _Snapshot) -> set[str]:
    """The actions one message caused, read from what changed in the database."""
    happened = set()
    for case_id, priority in after.cases.items():
        previous = before.cases.get(case_id)
        if previous is None:
            happened.add("case_urgent" if priority == "urgent" else "case_opened")
        elif priority == "urgent" and previous != "urgent":
            happened.add("case_urgent")
    for signup_id, status in after.signups.items():
        if before.signups.get(signup_id) != status:
            happened.add(f"signup_{status}")
    for reminder_id, (status, due) in after.reminders.items():
        if status == "scheduled" and before.reminders.get(reminder_id) != (status, due):
            happened.add("reminder_scheduled")
    for contact_id, opted_out in after.opted_out.items():
        if opted_out != before.opted_out.get(contact_id, False):
            happened.add("opted_out" if opted_out else "opted_in")
    return happened


def _check(turn: Turn, replies: list[str], happened: set[str], step: str | None,
           test: FlowTest, failed: bool) -> list[str]:
    """What is wrong with one answer, in words; empty when it is as expected."""
    if failed:
        return ["the bot failed on this message and sent its safe reply (see the log for the error)"]
    problems = []
    reply = "\n".join(replies)
    received = f'the reply was: "{reply}"' if reply else "there was no reply"
    for words in turn.expect:
        if normalize(words) not in normalize(reply):
            problems.append(f'expected "{words}" in the reply, but {received}')
    for words in turn.expect_not:
        if normalize(words) and normalize(words) in normalize(reply):
            problems.append(f'expected no "{words}" in the reply, but {received}')
    if turn.actions is not None and happened != turn.actions:
        problems.append(f"expected the actions [{', '.join(sorted(turn.actions)) or 'none'}], "
                        f"but what happened was [{', '.join(sorted(happened)) or 'none'}]")
    if turn.step is not None and step != turn.step:
        problems.append(f"expected the bot at step '{turn.step}' afterwards, but it is at '{step}'")
    if test.max_segments and test.channel == "sms":
        for index, text in enumerate(replies, start=1):
            segments = sms.segment_info(text).segments
            if segments > test.max_segments:
                problems.append(f"reply {index} is {segments} SMS long (at most {test.max_segments}): "
                                f'"{text}"')
    return problems


# --- running a folder (the CLI and the test suite) ----------------------------------------------

@dataclass
class Outcome:
    """The results of a folder of tests, and the files that could not be read."""

    results: list[Result] = field(default_factory=list)
    errors: list[FlowTestError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when every test passed and every file was read."""
        return not self.errors and all(r.ok for r in self.results)


def run_files(files: list[Path], flows: Flows, nlu: NluClient | None = None) -> Iterator[Result | FlowTestError]:
    """Run every test of files, in order; a file that cannot be read gives its error."""
    for path in files:
        try:
            tests = load_file(path, _shown(path))
        except FlowTestError as exc:
            yield exc
            continue
        for test in tests:
            yield run_test(test, flows, nlu)


def run_path(path: Path | str, nlu: NluClient | None = None,
             echo: Callable[[str], None] = print) -> Outcome:
    """Run the tests of a flows folder (its tests/), a tests folder or one file; echo each result."""
    flows_dir, files = find_files(path)
    outcome = Outcome()
    if not files:
        echo(f"no test file (*.yml) in {path}")
        return outcome
    flows = load_flows(flows_dir)  # a FlowError says which flow file is wrong
    for item in run_files(files, flows, nlu):
        if isinstance(item, FlowTestError):
            outcome.errors.append(item)
            echo(f"BAD   {item}")
            continue
        outcome.results.append(item)
        label = f"{item.test.file}:{item.test.line}: {item.test.name}"
        echo(f"ok    {label}" if item.ok else f"FAIL  {label}\n{_indent(item.report())}")
    failed = sum(not r.ok for r in outcome.results)
    unread = f"; {_plural(len(outcome.errors), 'file')} could not be read" if outcome.errors else ""
    echo(f"{_plural(len(outcome.results), 'test')}: {len(outcome.results) - failed} passed, {failed} failed{unread}")
    return outcome


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'s' if count != 1 else ''}"


def _shown(path: Path) -> str:
    """The path as an admin types it: relative to the current folder when inside it."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _indent(text: str) -> str:
    return "\n".join(f"      {line}" for line in text.split("\n"))
