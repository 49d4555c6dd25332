"""The admins' conversation tests (flows/tests/*.yml), each a pytest case, and the runner itself."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from bot.core.flows import Flows, load_flows
from bot.services import flowtest_runner, flowtests
from tests.conftest import ROOT

FLOWS_DIR = ROOT / "flows"
TEST_FILES = sorted((FLOWS_DIR / "tests").glob("*.yml"))


@pytest.fixture(scope="module")
def flows() -> Flows:
    return load_flows(FLOWS_DIR)


def _scenarios() -> list[Any]:
    params = []
    for path in TEST_FILES:
        shown = str(path.relative_to(ROOT))
        try:
            tests = flowtests.load_file(path, shown)
        except flowtests.FlowTestError:
            params.append(pytest.param(path, -1, id=f"{path.stem}:unreadable"))
            continue
        params += [pytest.param(path, i, id=f"{path.stem}:{test.line}") for i, test in enumerate(tests)]
    return params


@pytest.mark.parametrize(("path", "index"), _scenarios())
def test_scenario(flows: Flows, path: Path, index: int) -> None:
    tests = flowtests.load_file(path, str(path.relative_to(ROOT)))  # an unreadable file fails here
    result = flowtest_runner.run_test(tests[index], flows)
    assert result.ok, f"{tests[index].name}\n{result.report()}"


def test_there_are_scenarios_for_each_part_of_the_flows() -> None:
    names = {path.stem for path in TEST_FILES}
    assert {"menu", "procedures", "talk", "workshops", "language"} <= names


# --- the runner ----------------------------------------------------------------------------------

def write(tmp_path: Path, text: str, name: str = "case.yml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


TALK = """\
name: A person on Saturday night
at: "2026-11-28 23:10"
steps:
  - send: "0"
    expect: ["lundi à 9h"]
    actions: [case_opened]
  - send: "papiers"
    expect: ["mardi à 14h"]
"""


def test_a_failing_expectation_names_the_file_the_line_what_was_expected_and_what_came(
        tmp_path: Path, flows: Flows) -> None:
    path = write(tmp_path, TALK)
    [test] = flowtests.load_file(path)

    result = flowtest_runner.run_test(test, flows)

    assert not result.ok
    [failure] = result.failures
    assert (failure.file, failure.line) == (str(path), 7)
    message = str(failure)
    assert message.startswith(f"{path}:7: message 2 (send 'papiers'): ")
    assert 'expected "mardi à 14h" in the reply' in message
    assert "Quand pouvons-nous vous appeler" in message  # what the bot said instead


def test_a_passing_test_reports_no_failure_and_keeps_the_conversation(tmp_path: Path, flows: Flows) -> None:
    [test] = flowtests.load_file(write(tmp_path, TALK.replace("mardi à 14h", "Quand pouvons-nous")))

    result = flowtest_runner.run_test(test, flows)

    assert result.ok, result.report()
    assert [sent for sent, _ in result.transcript] == ["0", "papiers"]


def test_expected_words_ignore_accents_case_and_punctuation(tmp_path: Path, flows: Flows) -> None:
    [test] = flowtests.load_file(write(tmp_path, """\
at: "2026-11-28 23:10"
steps:
  - send: "1"
    expect: ["NOUS SOMMES FERMES", "lundi a 9h"]
"""))

    assert flowtest_runner.run_test(test, flows).ok


def test_an_action_that_did_not_happen_is_a_failure(tmp_path: Path, flows: Flows) -> None:
    [test] = flowtests.load_file(write(tmp_path, """\
at: "2026-11-28 23:10"
steps:
  - send: "1"
    actions: [case_opened]
"""))

    [failure] = flowtest_runner.run_test(test, flows).failures

    assert failure.line == 3
    assert "expected the actions [case_opened], but what happened was [none]" in failure.message


def test_an_action_that_was_not_expected_is_a_failure(tmp_path: Path, flows: Flows) -> None:
    [test] = flowtests.load_file(write(tmp_path, """\
at: "2026-11-28 23:10"
steps:
  - send: "0"
    actions: []
"""))

    [failure] = flowtest_runner.run_test(test, flows).failures

    assert "expected the actions [none], but what happened was [case_opened]" in failure.message


def test_a_reply_longer_than_max_segments_is_a_failure(tmp_path: Path, flows: Flows) -> None:
    [test] = flowtests.load_file(write(tmp_path, """\
at: "2026-11-28 23:10"
max_segments: 1
steps:
  - send: "2"
"""))

    [failure] = flowtest_runner.run_test(test, flows).failures

    assert "SMS long (at most 1)" in failure.message


@pytest.mark.parametrize(("text", "line", "words"), [
    ("at: '2026-11-28 23:10'\nsteps:\n  - send: '0'\n    expectt: [lundi]\n", 4,
     "a step cannot have 'expectt' (did you mean 'expect'?)"),
    ("at: '2026-11-28 23:10'\nsteps:\n  - send: '0'\n    actions: [case_open]\n", 4,
     "'case_open' is not an action (did you mean 'case_opened'?)"),
    ("at: 'samedi soir'\nsteps:\n  - send: '0'\n", 1, "'at' is 'samedi soir'"),
    ("steps:\n  - send: '0'\n", 1, "the test needs 'at'"),
    ("at: '2026-11-28 23:10'\nchannel: sms\nsteps:\n  - expect: [lundi]\n", 4, "this step has no 'send'"),
    ("at: '2026-11-28 23:10'\nchannel: fax\nsteps:\n  - send: '0'\n", 2, "it can be sms or whatsapp"),
    ("at: '2026-11-28 23:10'\nsteps:\n  - send: '0'\n    expect: [lundi\n", 5, "not valid YAML"),
    ("at: '2026-11-28 23:10'\nsteps: []\n", 2, "'steps' must list the messages"),
])
def test_a_malformed_test_file_is_rejected_with_its_file_and_line(tmp_path: Path, text: str, line: int,
                                                                   words: str) -> None:
    path = write(tmp_path, text)

    with pytest.raises(flowtests.FlowTestError) as caught:
        flowtests.load_file(path)

    assert (caught.value.file, caught.value.line) == (str(path), line)
    assert str(caught.value).startswith(f"{path}:{line}: ")
    assert words in str(caught.value)


def test_every_value_is_read_as_text(tmp_path: Path) -> None:
    [test] = flowtests.load_file(write(tmp_path, """\
at: 2026-11-28 23:10:00
from: +32470000009
steps:
  - send: yes
  - send: 0
"""))

    assert [turn.send for turn in test.turns] == ["yes", "0"]
    assert test.number == "+32470000009"


def test_a_file_can_hold_a_list_of_conversations(tmp_path: Path) -> None:
    tests = flowtests.load_file(write(tmp_path, f"- name: one\n{_indented(TALK)}- name: two\n{_indented(TALK)}"))

    assert [t.name for t in tests] == ["one", "two"]


def _indented(text: str) -> str:
    return "".join(f"  {line}\n" for line in text.splitlines() if not line.startswith("name:"))


def test_the_flows_test_command_exits_1_and_names_the_failing_line(app: Any, tmp_path: Path) -> None:
    folder = tmp_path / "flows"
    shutil.copytree(FLOWS_DIR, folder, ignore=shutil.ignore_patterns("tests"))
    (folder / "tests").mkdir()
    write(folder / "tests", TALK, "talk.yml")
    write(folder / "tests", "at: '2026-11-28 23:10'\nsteps:\n  - sent: '0'\n", "broken.yml")

    result = app.test_cli_runner().invoke(args=["flows", "test", str(folder)])

    assert result.exit_code == 1, result.output
    assert "talk.yml:7: message 2 (send 'papiers')" in result.output
    assert "broken.yml:3: a step cannot have 'sent' (did you mean 'send'?)" in result.output
    assert "1 test: 0 passed, 1 failed; 1 file could not be read" in result.output


def test_the_flows_test_command_passes_on_the_real_flows(app: Any) -> None:
    result = app.test_cli_runner().invoke(args=["flows", "test", str(FLOWS_DIR / "tests" / "menu.yml")])

    assert result.exit_code == 0, result.output
    assert " 0 failed" in result.output
