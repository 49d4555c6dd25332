"""Loading and checking flows/*.yml (bot.core.flows), and reloading them live (bot.services.flows_store)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

import bot.services.flows_store
from bot.core.flows import FlowError, check_dir, load_flows
from bot.core.oncall import load_rota
from bot.services.flows_store import FlowsStore

FLOWS_DIR = Path(__file__).resolve().parent.parent / "flows"
CONTRACT_INTENTS = {
    "greet",
    "goodbye",
    "opening_hours",
    "admin_procedure",
    "workshop_signup",
    "workshop_cancel",
    "talk_to_someone",
    "urgent",
    "help",
    "stop",
    "out_of_scope",
}


def edit(path: Path, old: str, new: str) -> int:
    """Replace old (which must be there once) by new; return the 1-based line where old began."""
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{old!r} is not in {path.name} exactly once"
    path.write_text(text.replace(old, new), encoding="utf-8")
    return text[: text.index(old)].count("\n") + 1


def line_of(path: Path, fragment: str) -> int:
    """The 1-based line of the first occurrence of fragment."""
    text = path.read_text(encoding="utf-8")
    return text[: text.index(fragment)].count("\n") + 1


def load_error(directory: Path) -> FlowError:
    with pytest.raises(FlowError) as info:
        load_flows(directory)
    return info.value


# --- the real flows ----------------------------------------------------------------------


def test_the_real_flows_load() -> None:
    flows = load_flows(FLOWS_DIR)

    assert flows.start in flows.steps
    assert flows.human in flows.steps
    assert flows.languages == ("fr", "nl", "en")


def test_every_contract_intent_and_the_nlu_fallback_are_routed_to_a_step() -> None:
    flows = load_flows(FLOWS_DIR)

    assert CONTRACT_INTENTS | {"nlu_fallback"} <= set(flows.intents)
    for intent in CONTRACT_INTENTS | {"nlu_fallback"}:
        assert flows.intents[intent].step in flows.steps, intent


def test_urgent_and_talk_to_someone_open_cases() -> None:
    flows = load_flows(FLOWS_DIR)

    assert flows.steps[flows.intents["urgent"].step].open_case == "urgent"
    assert flows.steps[flows.intents["talk_to_someone"].step].open_case == "normal"


def test_every_translated_text_in_the_real_flows_has_only_language_keys() -> None:
    # A comma in a YAML flow mapping ({fr: ambulance, pompiers, nl: ...}) silently makes
    # "pompiers" a key and cuts the French text at "ambulance".
    languages = {"fr", "nl", "en"}
    bad: list[str] = []

    def walk(node: object, where: str) -> None:
        if isinstance(node, dict):
            if "fr" in node and not set(node) <= languages:
                bad.append(f"{where}: {sorted(map(str, set(node) - languages))}")
            for key, value in node.items():
                walk(value, f"{where}.{key}")
        elif isinstance(node, list):
            for i, value in enumerate(node):
                walk(value, f"{where}[{i}]")

    for path in sorted(FLOWS_DIR.glob("*.yml")):
        walk(yaml.safe_load(path.read_text(encoding="utf-8")), path.name)

    assert bad == []


def test_the_version_changes_when_a_file_changes(flows_dir: Path) -> None:
    before = load_flows(flows_dir).version
    edit(flows_dir / "menu.yml", "Je réponds jour et nuit.", "Je réponds jour et nuit, 7 jours sur 7.")

    assert load_flows(flows_dir).version != before


# --- errors an admin can make ------------------------------------------------------------


def test_invalid_yaml_is_refused_with_its_file_and_line(flows_dir: Path) -> None:
    menu = flows_dir / "menu.yml"
    broken_line = edit(menu, "        goto: hours\n", "        goto: hours\n       bad: [unclosed\n") + 1

    error = load_error(flows_dir)

    assert error.file == "menu.yml"
    assert error.line == broken_line
    assert f"menu.yml:{broken_line}" in str(error)
    assert "not valid YAML" in str(error)


def test_a_choice_going_to_a_missing_step_is_refused(flows_dir: Path) -> None:
    menu = flows_dir / "menu.yml"
    step_line = line_of(menu, "  menu:\n")
    goto_line = edit(menu, "goto: workshops\n", "goto: workshopz\n")

    error = load_error(flows_dir)

    assert error.file == "menu.yml"
    assert error.line is not None and step_line <= error.line <= goto_line
    assert f"menu.yml:{error.line}" in str(error)
    assert "'workshopz'" in str(error)
    assert "not a step" in str(error)


def test_a_step_text_without_dutch_is_refused(flows_dir: Path) -> None:
    menu = flows_dir / "menu.yml"
    step_line = line_of(menu, "  welcome:\n")
    edit(menu, '      nl: "Hallo, hier is {centre}. Ik ben een robot. Ik antwoord dag en nacht."\n', "")

    error = load_error(flows_dir)

    assert error.file == "menu.yml"
    assert error.line is not None and step_line < error.line <= step_line + 3
    assert f"menu.yml:{error.line}" in str(error)
    assert "welcome" in str(error)
    assert "no text in nl" in str(error)


def test_an_hour_past_23_is_refused(flows_dir: Path) -> None:
    centre = flows_dir / "centre.yml"
    hours_line = line_of(centre, "\nhours:") + 1
    day_line = edit(centre, 'tuesday: ["09:00-12:00"', 'tuesday: ["25:00-12:00"')

    error = load_error(flows_dir)

    assert error.file == "centre.yml"
    assert error.line is not None and hours_line <= error.line <= day_line
    assert f"centre.yml:{error.line}" in str(error)
    assert "tuesday" in str(error)
    assert "09:00-12:30" in str(error)  # the message shows how to write a slot


def test_a_slot_that_ends_before_it_starts_is_refused(flows_dir: Path) -> None:
    edit(flows_dir / "centre.yml", 'friday: ["09:00-12:00"]', 'friday: ["12:00-09:00"]')

    error = load_error(flows_dir)

    assert error.file == "centre.yml"
    assert "friday" in str(error)
    assert "ends before it starts" in str(error)


def test_two_slots_run_together_are_refused_as_a_flow_error(flows_dir: Path) -> None:
    # "09:00-12:00-13:30" (a forgotten comma) must be a FlowError an admin can read,
    # not a crash of the app.
    edit(flows_dir / "centre.yml", 'tuesday: ["09:00-12:00"', 'tuesday: ["09:00-12:00-13:30"')

    error = load_error(flows_dir)

    assert error.file == "centre.yml"
    assert "tuesday" in str(error)


def test_an_unknown_placeholder_is_refused(flows_dir: Path) -> None:
    menu = flows_dir / "menu.yml"
    text_line = edit(menu, "Bonjour, ici {centre}.", "Bonjour, ici {foo}.")

    error = load_error(flows_dir)

    assert error.file == "menu.yml"
    assert error.line == text_line
    assert f"menu.yml:{text_line}" in str(error)
    assert "unknown placeholder {foo}" in str(error)


def test_a_step_defined_twice_is_refused(flows_dir: Path) -> None:
    (flows_dir / "extra.yml").write_text(
        "steps:\n  hours:\n    say: {fr: a, nl: b, en: c}\n", encoding="utf-8"
    )

    error = load_error(flows_dir)

    assert "hours" in str(error)
    assert "defined twice" in str(error)


def test_an_empty_folder_is_refused(tmp_path: Path) -> None:
    error = load_error(tmp_path)

    assert "no .yml" in str(error)


# --- live reloading ----------------------------------------------------------------------


def test_the_store_picks_up_a_valid_edit(flows_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bot.services.flows_store, "CHECK_EVERY", 0)
    store = FlowsStore(flows_dir)
    before = store.get()

    edit(flows_dir / "centre.yml", "fr: le CPAS de Saint-Gilles", "fr: le CPAS de Saint-Gilles (Bruxelles)")
    after = store.get()

    assert after.name["fr"] == "le CPAS de Saint-Gilles (Bruxelles)"
    assert after.version != before.version
    assert store.last_error is None


def test_the_store_refuses_a_broken_edit_and_keeps_serving(
    flows_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bot.services.flows_store, "CHECK_EVERY", 0)
    store = FlowsStore(flows_dir)
    before = store.get()

    edit(flows_dir / "menu.yml", "goto: workshops\n", "goto: nowhere_step\n")
    served = store.get()

    assert served is before
    assert served.steps["menu"].choices[2].goto == "workshops"
    assert isinstance(store.last_error, FlowError)
    assert "nowhere_step" in str(store.last_error)


def test_the_store_recovers_when_the_broken_edit_is_fixed(
    flows_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bot.services.flows_store, "CHECK_EVERY", 0)
    store = FlowsStore(flows_dir)
    edit(flows_dir / "menu.yml", "goto: workshops\n", "goto: nowhere_step\n")
    store.get()
    assert store.last_error is not None

    edit(flows_dir / "menu.yml", "goto: nowhere_step\n", "goto: hours\n")
    served = store.get()

    assert store.last_error is None
    assert served.steps["menu"].choices[2].goto == "hours"


def test_a_broken_folder_stops_the_store_at_start(flows_dir: Path) -> None:
    edit(flows_dir / "menu.yml", "goto: workshops\n", "goto: nowhere_step\n")

    with pytest.raises(FlowError):
        FlowsStore(flows_dir)


# --- one validator -----------------------------------------------------------------------


def test_loading_refuses_what_the_checker_refuses(flows_dir: Path) -> None:
    # The urgent step was required by the checker only: `flows test` loaded what the app refused.
    menu = flows_dir / "menu.yml"
    text = menu.read_text(encoding="utf-8")
    start = text.index("  urgent:\n    open_case: urgent\n")
    end = text.index("  language:\n", start)
    menu.write_text(text[:start] + text[end:], encoding="utf-8")

    error = load_error(flows_dir)
    first = check_dir(flows_dir).errors[0]

    assert (error.file, error.line) == (first.file, first.line)
    assert str(error).startswith(f"{first.file}:{first.line}: {first.message}" if first.line
                                 else f"{first.file}: {first.message}")
    assert any("'urgent'" in p.message for p in check_dir(flows_dir).errors)


def test_an_oncall_error_names_its_line(flows_dir: Path) -> None:
    oncall = flows_dir / "oncall.yml"
    line = edit(oncall, "      primary: astreinte2\n      backup: astreinte1\n    - days: [monday, tuesday",
                "      primary: nobody\n      backup: astreinte1\n    - days: [monday, tuesday")
    rota_line = line_of(oncall, "    - days: [monday]\n")

    with pytest.raises(FlowError) as info:
        load_rota(oncall)

    assert info.value.file == "oncall.yml"
    assert info.value.line == rota_line < line
    assert "nobody" in str(info.value)
