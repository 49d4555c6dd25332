"""Running the admins' conversation tests (bot.services.flowtests reads them) on the scratch pipeline.

Each test runs through `pipeline.handle_inbound`, as a real SMS would, on a scratch SQLite
database (bot.services.scratch), with the state in memory and nothing sent out; what
happened is read back from that database. `flask --app bot flows test` runs every file.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.adapters.models import Case, Contact, Reminder, Signup
from bot.adapters.nlu import NluClient
from bot.adapters.state import MemoryStateStore
from bot.core import sms
from bot.core.flows import Flows, load_flows
from bot.core.text import normalize
from bot.services import pipeline
from bot.services.flowtests import MEDIA_KINDS, FlowTest, FlowTestError, Turn, find_files, load_file
from bot.services.scratch import scratch_services, send

TEST_LOCATION = {"kind": "location", "latitude": "50.827400", "longitude": "4.345900",
                 "address": "Place Van Meenen 39, Saint-Gilles", "label": ""}
PSEUDONYM_KEY = "flow-tests"  # the scratch database's pseudonyms: nothing real is stored


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


# --- running -----------------------------------------------------------------------------------

def run_test(test: FlowTest, flows: Flows, nlu: NluClient | None = None) -> Result:
    """Run one test through the real inbound path on a scratch database; nothing is sent.

    Args:
        test: the conversation, from `load_file`.
        flows: the flows to test (`load_flows(folder)`).
        nlu: the NLU service to ask for free text; None: the keyword fallback (the same every run).
    """
    clock = {"now": _aware(test.at, flows)}
    states = MemoryStateStore()
    with scratch_services(lambda: flows, nlu=nlu, clock=lambda: clock["now"], pseudonym_key=PSEUDONYM_KEY,
                          states=states) as services:
        contact_id = _contact(services, test)
        result = Result(test)
        for number, turn in enumerate(test.turns, start=1):
            if turn.at is not None:
                clock["now"] = _aware(turn.at, flows)
            before = _snapshot(services.sessions)
            form = pipeline.InboundForm(sid=f"FLOWTEST{number:04d}", address=test.address, body=turn.send,
                                        num_media=turn.media, media=_media(turn))
            replies, message = send(services, form)
            result.transcript.append((turn.send, replies))
            happened = _happened(before, _snapshot(services.sessions))
            contact_id = message.contact_id if contact_id is None else contact_id
            failed = message.review_reason == "processing_error"  # the bot sent its safe reply
            step = states.load(contact_id).step if contact_id is not None else None
            problems = _check(turn, replies, happened, step, test, failed)
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
