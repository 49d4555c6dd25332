"""Messages that name one procedure or workshop: how many messages until the answer (issue 16).

The set nlu/eval/named.yml was written from the list of topics by someone who never read the
keywords of flows/; nothing of it may be copied into flows/ or the training data (DESIGN.md,
"Two rules"): fix classes of words (a missing abbreviation, with variants), never a sentence.

Each message is the first message of a new contact, sent through the real inbound path
(`pipeline.handle_inbound`, as the simulator does: scratch SQLite database, state in memory,
nothing sent) with the real flows/ and the real Rasa server, on Saturday night. It counts the
messages the person needs:

- 1: the first reply already is the answer (the procedure's step; for a workshop, its date,
  place and seats with the question to sign up);
- 2: the first reply is a list, and the number of the right line of that list leads there;
- 0 (failed): anything else.

A message the crisis triage takes as urgent gets the emergency answer, by design (a crisis
always wins): it is counted as not answered at once, and apart from the failures, so that
a false alarm shows in the summary without hiding a naming problem.

A message of `none` names nothing: it passes when the first reply is a list (of procedures
or workshops), never a direct answer.

Run alone: `.venv/bin/python -m tests.named --rasa http://127.0.0.1:5005` writes
var/nlu-report/named/summary.txt and report.json (the suite does the same: tests/test_named.py).
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml
from sqlalchemy import select

from bot.adapters import db
from bot.adapters.models import Contact
from bot.adapters.nlu import NluClient
from bot.adapters.state import MemoryStateStore
from bot.core.flows import Flows, load_flows
from bot.core.text import normalize
from bot.services import pipeline
from bot.services.workshops import effects_factory

ROOT = Path(__file__).resolve().parent.parent
SET = ROOT / "nlu" / "eval" / "named.yml"
REPORT_DIR = ROOT / "var" / "nlu-report" / "named"
AT = datetime(2026, 11, 28, 23, 10, tzinfo=ZoneInfo("Europe/Brussels"))  # Saturday night, before every workshop
NONE = "none"
LISTS = ("procedures", "workshops")  # the steps that show a list of procedures or of workshops
CONFIRM = "workshop_confirm"  # a workshop's details and "reply OUI to sign up"
URGENT = "urgent"  # the crisis answer
STEP_OF = {"proc_telecom": "proc_digital"}  # the set's name for a procedure whose step is named otherwise
_LINE = re.compile(r"^(\d) (.+)$")


@dataclass(frozen=True)
class Item:
    """One message of the set and what it names (a step, a workshop key, or nothing)."""

    text: str
    label: str  # the set's key: proc_family, workshop_cv, none
    lang: str


def items() -> list[Item]:
    """The set: {label: {lang: [messages]}}."""
    doc = yaml.safe_load(SET.read_text(encoding="utf-8"))
    return [Item(str(text), label, lang) for label, by_lang in doc.items() for lang, texts in by_lang.items()
            for text in texts]


def target(label: str, flows: Flows) -> tuple[str, str | None]:
    """(step, workshop key) that answers a label: ('proc_family', None), ('workshop_confirm', 'cv-...')."""
    if label.startswith("workshop_"):
        prefix = label.removeprefix("workshop_") + "-"
        keys = sorted((w.day, k) for k, w in flows.workshops.items() if k.startswith(prefix))
        if not keys:
            raise ValueError(f"no workshop in flows/ for {label}")
        return CONFIRM, keys[0][1]
    step = STEP_OF.get(label, label)
    if step not in flows.steps:
        raise ValueError(f"no step in flows/ for {label}")
    return step, None


@dataclass
class Outcome:
    """How one message went: messages needed (0: failed) and what the person saw."""

    item: Item
    messages: int
    steps: list[str] = field(default_factory=list)
    replies: list[str] = field(default_factory=list)


class Conversations:
    """New contacts texting the real inbound path on a scratch database."""

    def __init__(self, flows: Flows, nlu: NluClient | None) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="relais-named-"))
        url = f"sqlite:///{self.folder / 'named.db'}"
        db.upgrade(url)
        self.engine = db.make_engine(url)
        sessions = db.make_sessionmaker(self.engine)
        self.states = MemoryStateStore()
        self.flows = flows
        self.services = pipeline.Services(sessions=sessions, states=self.states, nlu=nlu, flows=lambda: flows,
                                          clock=lambda: AT, pseudonym_key="named-eval", escalate=None,
                                          effects=effects_factory(sessions, None), counted=False)
        self.count = 0

    def close(self) -> None:
        self.engine.dispose()
        shutil.rmtree(self.folder, ignore_errors=True)

    def new_contact(self) -> str:
        self.count += 1
        return f"+3247{self.count:07d}"

    def send(self, address: str, text: str) -> tuple[str, str | None, str]:
        """Send one message; (the step the bot is at, the workshop it holds, the reply)."""
        self.count += 1
        form = pipeline.InboundForm(sid=f"NAMED{self.count:06d}", address=address, body=text)
        reply = "\n".join(pipeline.handle_inbound(self.services, form))
        with self.services.sessions() as session:
            contact_id = session.scalar(select(Contact.id).where(Contact.address == address))
        state = self.states.load(int(contact_id)) if contact_id is not None else None
        step = state.step if state else None
        return step or "", (state.data.get("workshop") if state else None), reply


def line_number(reply: str, flows: Flows, step: str, workshop: str | None) -> str | None:
    """The number of the line of the list shown that leads to step (or to the workshop), read from the reply."""
    labels: list[str] = []
    if workshop is not None:
        labels = [normalize(f"{title} -") for title in flows.workshops[workshop].title.values()]
    else:
        for list_step in LISTS:
            for choice in flows.steps[list_step].choices:
                if choice.goto == step:
                    labels += [normalize(label) for label in choice.label.values()]
    for line in reply.split("\n"):
        match = _LINE.match(line.strip())
        if match and any(normalize(match[2]) == label or normalize(match[2]).startswith(label + " ")
                         for label in labels):
            return match[1]
    return None


def measure(item: Item, chat: Conversations) -> Outcome:
    """Messages needed to reach what item names (0: failed)."""
    flows = chat.flows
    address = chat.new_contact()
    step, held, reply = chat.send(address, item.text)
    outcome = Outcome(item, 0, [step], [reply])
    if item.label == NONE:
        outcome.messages = 1 if step in LISTS else 0
        return outcome
    want, workshop = target(item.label, flows)
    if step == URGENT:
        return outcome
    if step == want and (workshop is None or held == workshop):
        outcome.messages = 1
        return outcome
    if step not in LISTS:
        return outcome
    number = line_number(reply, flows, want, workshop)
    if number is None:
        return outcome
    step, held, reply = chat.send(address, number)
    outcome.steps.append(step)
    outcome.replies.append(reply)
    if step == want and (workshop is None or held == workshop):
        outcome.messages = 2
    return outcome


def run(nlu: NluClient | None, flows_dir: Path = ROOT / "flows", out: Path = REPORT_DIR) -> dict[str, Any]:
    """Measure every message; write out/report.json and out/summary.txt; return the report."""
    flows = load_flows(flows_dir)
    chat = Conversations(flows, nlu)
    try:
        outcomes = [measure(item, chat) for item in items()]
    finally:
        chat.close()
    report = figures(outcomes)
    out.mkdir(parents=True, exist_ok=True)
    (out / "report.json").write_text(json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8")
    (out / "summary.txt").write_text("\n".join(summary(report)) + "\n", encoding="utf-8")
    return report


def figures(outcomes: list[Outcome]) -> dict[str, Any]:
    """The share answered in the first reply, in two, failed; and every message not answered in one."""
    named = [o for o in outcomes if o.item.label != NONE]
    nothing = [o for o in outcomes if o.item.label == NONE]
    first = sum(o.messages == 1 for o in named)
    crisis = [o for o in named if o.steps[0] == URGENT]
    return {
        "named": len(named),
        "first_reply": first,
        "first_reply_share": round(first / len(named), 4) if named else 0.0,
        "second_reply": sum(o.messages == 2 for o in named),
        "crisis": len(crisis),
        "failed": sum(o.messages == 0 for o in named) - len(crisis),
        "worst": max((o.messages or 3 for o in named if o not in crisis), default=0),
        "none": len(nothing),
        "none_listed": sum(o.messages == 1 for o in nothing),
        "misreads": [{"text": o.item.text, "label": o.item.label, "lang": o.item.lang,
                      "messages": o.messages or ("crisis" if o.steps[0] == URGENT else "failed"), "steps": o.steps,
                      "first_reply": o.replies[0][:200]}
                     for o in outcomes if o.messages != 1],
    }


def summary(report: dict[str, Any]) -> Iterator[str]:
    """The figures as lines a person reads: the share first, then one line per message not answered at once."""
    yield (f"named: {report['first_reply_share']:.3f} answered in the first reply ({report['first_reply']} of "
           f"{report['named']}), {report['second_reply']} in two, {report['failed']} failed, "
           f"{report['crisis']} taken as a crisis (the emergency answer wins); "
           f"nothing named: the list shown for {report['none_listed']} of {report['none']}")
    for m in report["misreads"]:
        yield f"  [{m['lang']}] {m['label']}: {m['messages']} ({' -> '.join(s or '?' for s in m['steps'])}): {m['text']}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rasa", default="http://127.0.0.1:5005", help="the Rasa server's URL")
    args = parser.parse_args()
    report = run(NluClient(args.rasa, timeout=10.0))
    print("\n".join(summary(report)))


if __name__ == "__main__":
    main()
