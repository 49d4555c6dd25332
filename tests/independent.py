"""Understanding measured on the independent sets of nlu/eval/, clean and with SMS noise.

The sets were written from personas by someone who never read nlu/data/ or flows/crisis.yml;
nothing here may be copied into the training data (DESIGN.md, "Two rules"). Each message goes
through the bot's real understanding (menu words and keywords, then the NLU, then the crisis
triage: `bot.services.pipeline.understand`) with the real Rasa server and the real flows/.

Run alone: `.venv/bin/python -m tests.independent --rasa http://127.0.0.1:5005` writes the
report to var/nlu-report/independent/ (the suite does the same: tests/test_independent_eval.py).
"""

from __future__ import annotations

import argparse
import json
import random
import re
import unicodedata
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml

from bot.adapters.nlu import NluClient
from bot.core import engine, spelling, triage
from bot.core.engine import Incoming, OptIn, OptOut, State
from bot.core.flows import Flows, load_flows
from bot.services import pipeline

ROOT = Path(__file__).resolve().parent.parent
EVAL_DIR = ROOT / "nlu" / "eval"
REPORT_DIR = ROOT / "var" / "nlu-report" / "independent"
NOISE_SEED = 20261201
AT = datetime(2026, 11, 28, 23, 10, tzinfo=ZoneInfo("Europe/Brussels"))  # Saturday night: closed

# --- the sets --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Item:
    """One message of a set, with what it should be read as."""

    text: str
    label: str  # the intent; for the crisis set the kind; for opt-out the expected change
    lang: str = ""
    group: str = ""  # crisis set: "crisis" or "calm"


def intent_items() -> list[Item]:
    """The intent set: {intent: {lang: [messages]}}."""
    doc = yaml.safe_load((EVAL_DIR / "intents.yml").read_text(encoding="utf-8"))
    return [Item(str(t), intent, lang) for intent, by_lang in doc.items() for lang, texts in by_lang.items()
            for t in texts]


def crisis_items() -> list[Item]:
    """The crisis set: {crisis|calm: {kind: {lang: [messages]}}}."""
    doc = yaml.safe_load((EVAL_DIR / "crisis.yml").read_text(encoding="utf-8"))
    return [Item(str(t), kind, lang, group) for group in ("crisis", "calm")
            for kind, by_lang in doc[group].items() for lang, texts in by_lang.items() for t in texts]


def optout_items() -> list[Item]:
    """The opt-out set: {opt_out|opt_in|not_opt_out: [messages]}."""
    doc = yaml.safe_load((EVAL_DIR / "optout.yml").read_text(encoding="utf-8"))
    return [Item(str(t), label) for label in ("opt_out", "opt_in", "not_opt_out") for t in doc.get(label) or []]


# --- SMS noise -------------------------------------------------------------------------------

ABBREVIATIONS = {
    "je": "j", "suis": "sui", "quelqu'un": "qqn", "quelquun": "qqn", "pour": "pr", "beaucoup": "bcp",
    "c'est": "c", "aujourd'hui": "auj", "s'il vous plait": "svp", "s'il vous plaît": "svp",
    "qu'est-ce que": "keske", "quand": "qd", "toujours": "tjrs", "maintenant": "mtn", "rien": "r1",
    "you": "u", "please": "pls", "are": "r", "your": "ur", "tonight": "2nite", "thanks": "thx",
    "ik": "k", "niet": "nie", "mijn": "mn", "alstublieft": "aub",
}


def strip_accents(text: str) -> str:
    """The text without accents, as most phones type it."""
    return "".join(c for c in unicodedata.normalize("NFD", text) if unicodedata.category(c) != "Mn")


def noisy(text: str, rng: random.Random) -> str:
    """One SMS-noise version of text: accents dropped, then one of caps, abbreviations, a swap or a drop."""
    text = strip_accents(text)
    kind = rng.choice(["caps", "abbreviations", "swap", "drop"])
    if kind == "caps":
        return text.upper()
    if kind == "abbreviations":
        for long, short in ABBREVIATIONS.items():
            text = re.sub(rf"(?i)(?<![\w']){re.escape(long)}(?![\w'])", short, text)
        return text
    words = text.split(" ")
    long_words = [i for i, w in enumerate(words) if len(w) >= 5 and w.isalpha()]
    if not long_words:
        return text.lower()
    i = rng.choice(long_words)
    word = words[i]
    j = rng.randrange(1, len(word) - 2)
    words[i] = word[:j] + word[j + 1] + word[j] + word[j + 2:] if kind == "swap" else word[:j] + word[j + 1:]
    return " ".join(words)


def with_noise(items: list[Item]) -> list[Item]:
    """The same items, each text given SMS noise (the same noise on every run)."""
    rng = random.Random(NOISE_SEED)
    return [Item(noisy(i.text, rng), i.label, i.lang, i.group) for i in items]


# --- reading messages the bot's way -----------------------------------------------------------


@dataclass(frozen=True)
class Reading:
    """How the bot read one message."""

    intent: str | None
    urgent: bool
    reason: str
    source: str
    asked: tuple[str, ...] = ()  # a close call: the intents the bot offers to choose from


def read(text: str, flows: Flows, nlu: NluClient | None, *, opted_out: bool = False) -> Reading:
    """The bot's own understanding of a first message from a new contact."""
    meaning, _ = pipeline.understand(nlu, flows, State(), Incoming(text, opted_out=opted_out))
    urgent = meaning.goto == "urgent"
    asked = () if urgent else meaning.alternatives
    return Reading("urgent" if urgent else meaning.intent, urgent, meaning.reason or "", meaning.source, asked)


# --- figures ---------------------------------------------------------------------------------


@dataclass
class IntentFigures:
    """Accuracy, per-intent F1, confusion and misreads of the intent set."""

    n: int = 0
    correct: int = 0
    by_lang: dict[str, list[int]] = field(default_factory=dict)  # lang -> [correct, n]
    confusion: dict[str, Counter[str]] = field(default_factory=dict)
    misreads: list[dict[str, str]] = field(default_factory=list)
    asked: int = 0  # close calls: the bot asked which of two intents was meant
    asked_right: int = 0  # ... and the right one was among the two

    @property
    def accuracy(self) -> float:
        return self.correct / self.n if self.n else 0.0

    def f1(self) -> dict[str, float]:
        """F1 per expected intent."""
        labels = set(self.confusion)
        scores = {}
        for label in labels:
            tp = self.confusion[label][label]
            fn = sum(self.confusion[label].values()) - tp
            fp = sum(row[label] for other, row in self.confusion.items() if other != label)
            scores[label] = 2 * tp / (2 * tp + fp + fn) if tp else 0.0
        return scores

    def as_dict(self) -> dict[str, Any]:
        return {"n": self.n, "accuracy": round(self.accuracy, 4),
                "accuracy_by_language": {k: round(c / n, 4) for k, (c, n) in sorted(self.by_lang.items())},
                "f1": {k: round(v, 4) for k, v in sorted(self.f1().items())},
                "confusion": {k: dict(v) for k, v in sorted(self.confusion.items())},
                "close_calls_asked": self.asked, "close_calls_with_the_right_choice": self.asked_right,
                "misreads": self.misreads}


def evaluate_intents(items: list[Item], flows: Flows, nlu: NluClient | None) -> IntentFigures:
    """Read every message and compare with its intent."""
    figures = IntentFigures()
    for item in items:
        reading = read(item.text, flows, nlu)
        got = reading.intent or "none"
        figures.n += 1
        figures.asked += bool(reading.asked)
        figures.asked_right += item.label in reading.asked
        ok = got == item.label
        figures.correct += ok
        lang = figures.by_lang.setdefault(item.lang, [0, 0])
        lang[0] += ok
        lang[1] += 1
        figures.confusion.setdefault(item.label, Counter())[got] += 1
        if not ok:
            figures.misreads.append({"text": item.text, "expected": item.label, "got": got, "lang": item.lang})
    return figures


@dataclass
class CrisisFigures:
    """Recall on crises, false alarms on calm messages, and why each was flagged."""

    crises: int = 0
    caught: int = 0
    calm: int = 0
    alarms: int = 0
    missed: list[dict[str, str]] = field(default_factory=list)
    false_alarms: list[dict[str, str]] = field(default_factory=list)
    by_kind: dict[str, list[int]] = field(default_factory=dict)  # kind -> [flagged, n]

    @property
    def recall(self) -> float:
        return self.caught / self.crises if self.crises else 0.0

    @property
    def false_alarm_rate(self) -> float:
        return self.alarms / self.calm if self.calm else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {"crises": self.crises, "recall": round(self.recall, 4), "calm": self.calm,
                "false_alarm_rate": round(self.false_alarm_rate, 4), "flagged_by_kind": self.by_kind,
                "missed": self.missed, "false_alarms": self.false_alarms}


def evaluate_crisis(items: list[Item], flows: Flows, nlu: NluClient | None) -> CrisisFigures:
    """Flag every message; nlu=None is the lexicon alone (the NLU down)."""
    figures = CrisisFigures()
    for item in items:
        if nlu is None:
            assert flows.crisis is not None
            verdict = triage.assess(item.text, flows.crisis)
            urgent, reason = verdict.priority == "urgent", verdict.reason
        else:
            reading = read(item.text, flows, nlu)
            urgent, reason = reading.urgent, reading.reason
        kind = figures.by_kind.setdefault(f"{item.group}/{item.label}", [0, 0])
        kind[0] += urgent
        kind[1] += 1
        entry = {"text": item.text, "kind": item.label, "lang": item.lang, "reason": reason}
        if item.group == "crisis":
            figures.crises += 1
            figures.caught += urgent
            if not urgent:
                figures.missed.append(entry)
        else:
            figures.calm += 1
            figures.alarms += urgent
            if urgent:
                figures.false_alarms.append(entry)
    return figures


@dataclass
class OptOutFigures:
    """Opt-out cases read right, and those read wrong."""

    n: int = 0
    errors: list[dict[str, str]] = field(default_factory=list)

    @property
    def right(self) -> float:
        return (self.n - len(self.errors)) / self.n if self.n else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {"n": self.n, "right": round(self.right, 4), "errors": self.errors}


def evaluate_optout(items: list[Item], flows: Flows, nlu: NluClient | None) -> OptOutFigures:
    """Each message once from a subscribed person and once from someone who opted out."""
    figures = OptOutFigures()
    for item in items:
        for opted_out in (False, True):
            incoming = Incoming(item.text, opted_out=opted_out)
            meaning, _ = pipeline.understand(nlu, flows, State(), incoming)
            outcome = engine.respond(State(), incoming, meaning, AT, flows)
            after = opted_out
            for action in outcome.actions:
                after = True if isinstance(action, OptOut) else False if isinstance(action, OptIn) else after
            expected = {"opt_out": True, "opt_in": False, "not_opt_out": opted_out}[item.label]
            figures.n += 1
            if after != expected:
                figures.errors.append({"text": item.text, "expected": item.label, "opted_out": str(opted_out),
                                       "got": "opted out" if after else "subscribed"})
    return figures


# --- the report ------------------------------------------------------------------------------


def run(nlu: NluClient | None, flows_dir: Path = ROOT / "flows", out: Path = REPORT_DIR) -> dict[str, Any]:
    """Every figure on every set, clean and noisy; written to out/report.json and out/summary.txt."""
    flows = load_flows(flows_dir)
    intents, crises, optouts = intent_items(), crisis_items(), optout_items()
    report = {
        "intents": evaluate_intents(intents, flows, nlu).as_dict(),
        "intents_noisy": evaluate_intents(with_noise(intents), flows, nlu).as_dict(),
        "crisis": evaluate_crisis(crises, flows, nlu).as_dict(),
        "crisis_noisy": evaluate_crisis(with_noise(crises), flows, nlu).as_dict(),
        "crisis_lexicon_only": evaluate_crisis(crises, flows, None).as_dict(),
        "optout": evaluate_optout(optouts, flows, nlu).as_dict(),
    }
    out.mkdir(parents=True, exist_ok=True)
    (out / "report.json").write_text(json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8")
    (out / "summary.txt").write_text("\n".join(summary(report)) + "\n", encoding="utf-8")
    return report


def summary(report: dict[str, Any]) -> Iterator[str]:
    """The figures as lines a person reads."""
    for name in ("intents", "intents_noisy"):
        r = report[name]
        yield f"{name}: accuracy {r['accuracy']:.3f} on {r['n']} " \
              f"({', '.join(f'{k} {v:.3f}' for k, v in r['accuracy_by_language'].items())})"
        yield "  f1: " + ", ".join(f"{k} {v:.2f}" for k, v in r["f1"].items())
        yield f"  close calls asked: {r['close_calls_asked']} (the right intent offered in " \
              f"{r['close_calls_with_the_right_choice']})"
        for m in r["misreads"]:
            yield f"  misread [{m['lang']}] {m['expected']} -> {m['got']}: {m['text']}"
    for name in ("crisis", "crisis_noisy", "crisis_lexicon_only"):
        r = report[name]
        yield f"{name}: recall {r['recall']:.3f} on {r['crises']} crises, " \
              f"false alarms {r['false_alarm_rate']:.3f} on {r['calm']} calm"
        for m in r["missed"]:
            yield f"  missed [{m['lang']}] {m['kind']}: {m['text']}"
        for m in r["false_alarms"]:
            yield f"  false alarm [{m['lang']}] {m['kind']}: {m['text']}  <- {m['reason']}"
    r = report["optout"]
    yield f"optout: {r['right']:.3f} right on {r['n']} readings"
    for m in r["errors"]:
        yield f"  wrong (opted out before: {m['opted_out']}) expected {m['expected']}, got {m['got']}: {m['text']}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rasa", default="http://127.0.0.1:5005", help="the Rasa server's URL")
    args = parser.parse_args()
    report = run(NluClient(args.rasa, timeout=10.0, speller=spelling.from_training_data()))
    print("\n".join(summary(report)))


if __name__ == "__main__":
    main()
