"""The Rasa project: data validation, the held-out evaluation, and the live parse."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from bot.adapters.nlu import INTENTS, NluClient
from bot.core.text import normalize
from tests.conftest import MODEL, ROOT, RasaServer

RASA = ROOT / ".venv-nlu" / "bin" / "rasa"
REPORT_DIR = ROOT / "var" / "nlu-report"
CONTRACT = {"greet", "goodbye", "opening_hours", "admin_procedure", "workshop_signup", "workshop_cancel",
            "talk_to_someone", "urgent", "help", "stop", "out_of_scope"}
MAIN = ["opening_hours", "admin_procedure", "workshop_signup", "talk_to_someone", "urgent"]
MIN_MACRO_F1 = 0.90


def examples(folder: Path) -> dict[str, list[str]]:
    """Every example of every intent in the Rasa YAML files of folder."""
    found: dict[str, list[str]] = {}
    for path in sorted(folder.glob("*.yml")):
        for block in yaml.safe_load(path.read_text()).get("nlu", []):
            if "intent" in block:
                lines = [re.sub(r"^- ", "", line).strip() for line in block["examples"].splitlines()]
                found.setdefault(block["intent"], []).extend(line for line in lines if line)
    return found


def rasa(*args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, RASA_TELEMETRY_ENABLED="false")
    return subprocess.run([str(RASA), *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)


def test_the_domain_has_exactly_the_contract_intents() -> None:
    domain = yaml.safe_load((ROOT / "nlu" / "domain.yml").read_text())
    assert set(domain["intents"]) == CONTRACT
    assert INTENTS == CONTRACT | {"nlu_fallback"}


def test_the_training_data_covers_every_intent_with_enough_examples() -> None:
    data = examples(ROOT / "nlu" / "data")
    assert set(data) == CONTRACT
    for intent in MAIN:
        assert len(data[intent]) >= 130, intent  # 80 French + 25 Dutch + 25 English at least


def test_the_held_out_set_is_never_in_the_training_data() -> None:
    train = {normalize(e) for values in examples(ROOT / "nlu" / "data").values() for e in values}
    held_out = examples(ROOT / "nlu" / "tests")
    for intent in MAIN:
        assert len(held_out.get(intent, [])) >= 20, intent
    leaked = [e for values in held_out.values() for e in values if normalize(e) in train]
    assert leaked == []


def test_rasa_data_validate_passes() -> None:
    result = rasa("data", "validate", "--data", "nlu/data", "--domain", "nlu/domain.yml",
                  "--config", "nlu/config.yml")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


def test_the_held_out_intent_macro_f1_is_at_least_0_90() -> None:
    shutil.rmtree(REPORT_DIR, ignore_errors=True)
    result = rasa("test", "nlu", "--nlu", "nlu/tests", "--model", str(MODEL), "--out", str(REPORT_DIR))
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    report = json.loads((REPORT_DIR / "intent_report.json").read_text())
    macro_f1 = report["macro avg"]["f1-score"]
    (REPORT_DIR / "summary.txt").write_text(
        f"held-out intent macro-F1: {macro_f1:.3f}\n"
        + "".join(f"{k}: f1={v['f1-score']:.3f} support={v['support']}\n"
                  for k, v in sorted(report.items()) if isinstance(v, dict) and "support" in v))
    print(f"\nheld-out intent macro-F1 = {macro_f1:.3f} (report: {REPORT_DIR})")
    assert macro_f1 >= MIN_MACRO_F1


@pytest.mark.parametrize(("text", "intent"), [
    ("c koi vos horaires", "opening_hours"),
    ("jveux parler a qqn svp", "talk_to_someone"),
    ("wanneer zijn jullie open", "opening_hours"),
    ("I need to talk to a social worker", "talk_to_someone"),
])
def test_the_live_rasa_server_classifies_sms_speak(rasa_up: RasaServer, text: str, intent: str) -> None:
    result = NluClient(rasa_up.url, timeout=5).parse(text)
    assert result.intent == intent
    assert 0.0 < result.confidence <= 1.0
