"""`flask --app bot simulate`: the real engine and NLU on a scratch database, nothing sent."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

from tests.conftest import ROOT, RasaServer

FLASK = str(ROOT / ".venv" / "bin" / "flask")


def simulate(rasa: RasaServer, *args: str, stdin: str | None = None, tmp: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TWILIO_")}
    env.update(RASA_URL=rasa.url, DATABASE_URL=f"sqlite:///{tmp / 'not-used.db'}",
               REDIS_URL="redis://127.0.0.1:1/0")  # the simulator needs neither
    return subprocess.run([FLASK, "--app", "bot", "simulate", *args], cwd=ROOT, env=env, input=stdin,
                          capture_output=True, text=True, timeout=120)


def test_it_prints_one_json_line_per_message(rasa_up: RasaServer, tmp_path: Path) -> None:
    messages = tmp_path / "in.txt"
    messages.write_text("bonjour\nc koi vos horaires\njveux parler a qqn\n1\n")
    result = simulate(rasa_up, "--json", str(messages), "--at", "2026-11-28 23:10", tmp=tmp_path)
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["text"] for line in lines] == ["bonjour", "c koi vos horaires", "jveux parler a qqn", "1"]
    for line in lines:
        assert {"text", "intent", "confidence", "language", "priority", "replies"} <= set(line)
        assert line["replies"] and all(isinstance(r, str) for r in line["replies"])
    assert [line["intent"] for line in lines[:3]] == ["greet", "opening_hours", "talk_to_someone"]
    assert lines[1]["language"] == "fr" and "lundi" in lines[1]["replies"][0]
    assert [line["priority"] for line in lines[:3]] == [None, None, "normal"]
    assert lines[3]["intent"] == "opening_hours"  # a fresh contact's "1" is the first menu choice


def test_same_contact_keeps_the_conversation(rasa_up: RasaServer, tmp_path: Path) -> None:
    messages = tmp_path / "in.txt"
    messages.write_text("NL\n1\n")
    result = simulate(rasa_up, "--json", str(messages), "--same-contact", tmp=tmp_path)
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert lines[1]["language"] == "nl" and "Openingsuren" in lines[1]["replies"][0]


def test_without_a_file_it_chats_on_the_terminal(rasa_up: RasaServer, tmp_path: Path) -> None:
    result = simulate(rasa_up, stdin="bonjour\n2\n", tmp=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Répondez avec un chiffre" in result.stdout and "papiers" in result.stdout


def test_the_moment_can_be_written_in_words_as_in_the_preview(app: Any) -> None:
    with app.app_context():  # as the flask command gives it
        result = app.test_cli_runner().invoke(args=["simulate", "--json", "-", "--at", "samedi 23:10"],
                                              input="horaires\n")
    assert result.exit_code == 0, result.output
    line = json.loads(result.output.splitlines()[-1])
    assert line["text"] == "horaires" and line["replies"]


def test_a_moment_it_does_not_understand_is_refused_naming_the_option(app: Any) -> None:
    with app.app_context():
        result = app.test_cli_runner().invoke(args=["simulate", "--json", "-", "--at", "la lune"], input="")
    assert result.exit_code == 2 and "--at" in result.output and "n'est pas une date" in result.output
