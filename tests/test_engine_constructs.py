"""The engine's flow constructs (ask, pick, do/results, removed steps) on a small fixture folder.

`tests/data/flows_mini/` holds each construct once, so these tests do not move when the
centre's real texts change. Pure: no database, the effects are a recording stand-in.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.core.engine import (
    PICKED,
    ActionResult,
    Booking,
    Incoming,
    Interpretation,
    OpenCase,
    Outcome,
    Seats,
    State,
    interpret,
    respond,
    settle,
)
from bot.core.flows import Flows, load_flows

MINI = Path(__file__).resolve().parent / "data" / "flows_mini"
BRUSSELS = ZoneInfo("Europe/Brussels")
SATURDAY_NIGHT = datetime(2026, 11, 28, 23, 10, tzinfo=BRUSSELS)


class Recorder:
    """Effects that answer what they are told and remember what they were asked."""

    def __init__(self, result: str = "confirmed", values: dict[str, str] | None = None,
                 signups: list[str] | None = None) -> None:
        self.result, self.values, self.mine = result, values or {}, signups or []
        self.calls: list[tuple[str, dict[str, str]]] = []

    def run(self, action: str, data: Mapping[str, str], now: datetime) -> ActionResult:
        self.calls.append((action, dict(data)))
        return ActionResult(self.result, self.values)

    def signups(self, now: datetime) -> list[str]:
        return self.mine


@pytest.fixture(scope="module")
def flows() -> Flows:
    return load_flows(MINI)


def say(state: State, text: str, flows: Flows, effects: Recorder | None = None,
        now: datetime = SATURDAY_NIGHT) -> Outcome:
    incoming = Incoming(text, reference="ABC123")
    meaning = interpret(state, incoming, flows)
    if meaning is None:
        meaning = Interpretation("nlu_fallback", 0.9, "nlu")
    if effects is None:
        return respond(state, incoming, meaning, now, flows)
    seats = Seats(mine=tuple(Booking(key, "confirmed") for key in effects.signups(now)))
    return settle(lambda told: respond(state, incoming, meaning, now, flows, seats, told),
                  lambda action: effects.run(action.name, action.data, now))


def conversation(flows: Flows, *texts: str, effects: Recorder | None = None) -> list[Outcome]:
    state, outcomes = State(lang="fr", lang_locked=True), []
    for text in texts:
        outcome = say(state, text, flows, effects)
        outcomes.append(outcome)
        state = outcome.state
    return outcomes


# --- ask: free-text answers ---------------------------------------------------------------


def test_an_ask_step_keeps_free_text_without_calling_the_nlu(flows: Flows) -> None:
    state = State(lang="fr", lang_locked=True, step="talk")

    meaning = interpret(state, Incoming("ma facture de gaz"), flows)

    assert meaning is not None  # None would send it to the NLU
    assert (meaning.source, meaning.goto, meaning.save) == ("answer", "talk_when", ("topic", "ma facture de gaz"))


def test_answers_are_kept_and_used_in_texts_and_in_the_case(flows: Flows) -> None:
    first, second, third = conversation(flows, "2", "ma facture de gaz", "le matin")

    assert first.state.step == "talk"
    assert second.replies == ["Sujet : ma facture de gaz. Quand ?"]
    assert third.replies == ["Ok ABC123. 0 pour parler."]
    cases = [a for a in third.actions if isinstance(a, OpenCase)]
    assert cases == [OpenCase("normal", "talk_done: topic: ma facture de gaz; callback: le matin")]


def test_a_choice_in_an_ask_step_keeps_its_value_or_its_french_label(flows: Flows) -> None:
    by_digit = conversation(flows, "2", "1")[-1]
    by_label = conversation(flows, "2", "argent")[-1]

    assert by_digit.state.data["topic"] == "papers"
    assert by_label.state.data["topic"] == "Argent"


def test_global_keywords_and_zero_still_work_inside_an_ask_step(flows: Flows) -> None:
    state = State(lang="fr", lang_locked=True, step="talk_when", data={"topic": "x"})

    assert interpret(state, Incoming("menu"), flows).goto == "menu"  # type: ignore[union-attr]
    assert interpret(state, Incoming("0"), flows).goto == "talk"  # type: ignore[union-attr]


def test_answers_are_forgotten_back_at_the_menu(flows: Flows) -> None:
    outcomes = conversation(flows, "2", "loyer", "menu")

    assert "topic" not in outcomes[-1].state.data


# --- pick: lists built from data ----------------------------------------------------------


def test_pick_lists_upcoming_workshops_in_date_order_and_not_past_ones(flows: Flows) -> None:
    listing = conversation(flows, "1")[0]

    assert listing.replies == ["Ateliers :\n1 Faire son CV - jeudi 3 décembre, 14h\n"
                               "2 Cuisine - jeudi 10 décembre, 18h\n0 Parler"]
    assert listing.state.data[PICKED] == "early,late"


def test_the_number_picks_the_workshop_shown_at_that_place(flows: Flows) -> None:
    confirm = conversation(flows, "1", "2")[-1]

    assert confirm.state.data["workshop"] == "late"
    assert confirm.replies[0].startswith("Cuisine (jeudi 10 décembre, 18h) ?")


def test_a_number_beyond_the_list_is_not_understood(flows: Flows) -> None:
    outcome = conversation(flows, "1", "7")[-1]

    assert outcome.replies[0].startswith("Pas compris.")


def test_an_empty_list_leads_to_the_empty_step(flows: Flows) -> None:
    after_all = datetime(2027, 6, 1, 10, 0, tzinfo=BRUSSELS)

    outcome = say(State(lang="fr", lang_locked=True), "1", flows, now=after_all)

    assert outcome.replies == ["Aucun. 0 pour parler."]


def test_the_list_is_the_one_shown_even_if_time_passed(flows: Flows) -> None:
    listing = conversation(flows, "1")[0]
    later = datetime(2026, 12, 5, 9, 0, tzinfo=BRUSSELS)  # "early" is past by now

    outcome = say(listing.state, "1", flows, now=later)

    assert outcome.state.data["workshop"] == "early"  # the effects refuse it as past, not the list


# --- do / results -------------------------------------------------------------------------


def test_an_action_result_chooses_the_next_step_and_fills_placeholders(flows: Flows) -> None:
    effects = Recorder("waiting", {"position": "4"})

    outcome = conversation(flows, "1", "1", "oui", effects=effects)[-1]

    assert effects.calls == [("signup", {PICKED: "early,late", "workshop": "early"})]
    assert outcome.replies == ["Attente n°4. 0 pour parler."]
    assert outcome.state.step == "wait"


def test_a_confirmed_signup_gives_the_place(flows: Flows) -> None:
    outcome = conversation(flows, "1", "1", "1", effects=Recorder("confirmed"))[-1]

    assert outcome.replies == ["Inscrit : Salle 2. 0 pour parler."]


def test_the_current_steps_oui_wins_over_the_global_oui(flows: Flows) -> None:
    state = State(lang="fr", lang_locked=True, step="confirm", data={"workshop": "early"})

    assert interpret(state, Incoming("oui"), flows).goto == "signup"  # type: ignore[union-attr]
    assert interpret(State(lang="fr"), Incoming("oui"), flows).goto == "offer"  # type: ignore[union-attr]


def test_an_action_result_the_step_does_not_list_is_refused(flows: Flows) -> None:
    with pytest.raises(ValueError, match="not listed"):
        conversation(flows, "oui", effects=Recorder("maybe"))


# --- a step removed while someone is in it ------------------------------------------------


def test_a_digit_at_a_removed_step_brings_the_person_back_to_the_menu_with_a_word(flows: Flows) -> None:
    state = State(lang="fr", lang_locked=True, step="removed_by_an_admin", data={"topic": "x"})

    outcome = say(state, "2", flows)

    assert outcome.replies == ["Le menu a changé.\nMenu :\n1 Ateliers\n2 Parler\n0 Parler"]
    assert (outcome.state.step, outcome.state.data) == ("menu", {})


def test_words_at_a_removed_step_are_read_as_from_the_menu(flows: Flows) -> None:
    state = State(lang="fr", lang_locked=True, step="removed_by_an_admin")

    assert interpret(state, Incoming("ateliers"), flows).goto == "workshops"  # type: ignore[union-attr]


def test_a_state_saved_by_an_older_version_has_no_data(flows: Flows) -> None:
    old = State.from_dict({"lang": "fr", "step": "menu", "turns": 3})

    assert old.data == {}
    assert State.from_dict(replace(old, data={"topic": "x"}).to_dict()).data == {"topic": "x"}


def test_a_number_beyond_the_choices_of_a_question_is_an_answer(flows: Flows) -> None:
    state = State(lang="fr", lang_locked=True, step="talk")

    meaning = interpret(state, Incoming("14"), flows)

    assert meaning is not None
    assert (meaning.goto, meaning.save) == ("talk_when", ("topic", "14"))


def test_oui_inside_a_question_is_an_answer_not_the_seat_offer(flows: Flows) -> None:
    state = State(lang="fr", lang_locked=True, step="talk_when", data={"topic": "x"})

    meaning = interpret(state, Incoming("oui"), flows)

    assert meaning is not None
    assert (meaning.goto, meaning.save) == ("talk_done", ("callback", "oui"))
    assert interpret(state, Incoming("menu"), flows).goto == "menu"  # type: ignore[union-attr]
