"""The conversation engine (bot.core.engine): real flows, fixed clocks, no I/O."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.core.engine import (
    MAX_REPLY,
    ActionResult,
    Incoming,
    Interpretation,
    OpenCase,
    OptOut,
    Outcome,
    Seats,
    State,
    WorkshopAction,
    interpret,
    needs_seats,
    respond,
    settle,
    split_reply,
)
from bot.core.flows import Flows, load_flows

FLOWS_DIR = Path(__file__).resolve().parent.parent / "flows"
BRUSSELS = ZoneInfo("Europe/Brussels")
SATURDAY_NIGHT = datetime(2026, 11, 28, 23, 10, tzinfo=BRUSSELS)  # Saturday 23:10
TUESDAY_MORNING = datetime(2026, 12, 1, 10, 0, tzinfo=BRUSSELS)


@pytest.fixture(scope="module")
def flows() -> Flows:
    return load_flows(FLOWS_DIR)


def turn(
    state: State,
    text: str,
    flows: Flows,
    *,
    intent: str | None = None,
    now: datetime = SATURDAY_NIGHT,
    **message: object,
) -> Outcome:
    """One message through interpret, then respond (with intent standing in for the NLU)."""
    incoming = Incoming(text, **message)  # type: ignore[arg-type]
    meaning = interpret(state, incoming, flows)
    if meaning is None:
        meaning = Interpretation(intent or "nlu_fallback", 0.9, "nlu")
    return respond(state, incoming, meaning, now, flows)


def menu_goto(flows: Flows, index: int) -> str:
    return flows.steps[flows.start].choices[index].goto


# --- menu choices ------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "index"), [("1", 0), ("2", 1), ("3", 2), ("4", 3)])
def test_a_digit_picks_that_menu_choice(flows: Flows, text: str, index: int) -> None:
    meaning = interpret(State(step="menu"), Incoming(text), flows)

    assert meaning is not None
    assert meaning.source == "menu"
    assert meaning.goto == menu_goto(flows, index)


@pytest.mark.parametrize(("text", "index"), [("un", 0), ("deux", 1), ("twee", 1), ("three", 2)])
def test_a_number_word_picks_that_menu_choice(flows: Flows, text: str, index: int) -> None:
    meaning = interpret(State(step="menu"), Incoming(text), flows)

    assert meaning is not None
    assert meaning.source == "menu"
    assert meaning.goto == menu_goto(flows, index)


def test_the_choices_lead_to_hours_procedures_workshops_and_language(flows: Flows) -> None:
    gotos = [interpret(State(), Incoming(d), flows).goto for d in "1234"]  # type: ignore[union-attr]

    assert gotos == ["hours", "procedures", "workshops", "language"]


def test_a_number_past_the_menu_is_not_understood(flows: Flows) -> None:
    meaning = interpret(State(step="menu"), Incoming("7"), flows)

    assert meaning is not None and meaning.goto == "not_understood"


def test_1_on_saturday_night_answers_the_hours(flows: Flows) -> None:
    outcome = turn(State(step="menu"), "1", flows)

    assert "fermés" in outcome.replies[0]
    assert "lundi à 9h" in outcome.replies[0]
    assert outcome.state.step == "hours"


def test_0_goes_to_a_person_and_opens_a_normal_case(flows: Flows) -> None:
    meaning = interpret(State(step="menu"), Incoming("0"), flows)
    assert meaning is not None and meaning.goto == flows.human

    outcome = respond(State(step="menu"), Incoming("0"), meaning, SATURDAY_NIGHT, flows)

    cases = [a for a in outcome.actions if isinstance(a, OpenCase)]
    assert len(cases) == 1
    assert cases[0].priority == "normal"
    assert outcome.priority == "normal"
    assert "lundi à 9h" in outcome.replies[0]  # when a social worker will answer


def test_0_while_open_says_a_worker_answers_today(flows: Flows) -> None:
    outcome = turn(State(step="menu"), "0", flows, now=TUESDAY_MORNING)

    assert flows.text("open_now_short", "fr") in outcome.replies[0]


@pytest.mark.parametrize(
    ("text", "goto"),
    [
        ("horaire", "hours"),
        ("Horaires", "hours"),
        ("demarches", "procedures"),
        ("Démarche", "procedures"),
        ("ateliers", "workshops"),
        ("openingsuren", "hours"),
    ],
)
def test_a_menu_label_with_a_typo_or_without_accents_is_understood(
    flows: Flows, text: str, goto: str
) -> None:
    meaning = interpret(State(step="menu"), Incoming(text), flows)

    assert meaning is not None
    assert meaning.source == "menu"
    assert meaning.goto == goto


@pytest.mark.parametrize(
    "text",
    [
        "bonjour je voudrais savoir vos horaires",
        "wanneer zijn jullie open",
        "mon mari me frappe",
    ],
)
def test_free_text_is_left_to_the_nlu(flows: Flows, text: str) -> None:
    assert interpret(State(step="menu"), Incoming(text), flows) is None


# --- keywords ----------------------------------------------------------------------------


@pytest.mark.parametrize("step", [None, "menu", "hours", "talk", "language"])
def test_menu_goes_back_to_the_menu_from_anywhere(flows: Flows, step: str | None) -> None:
    meaning = interpret(State(step=step), Incoming("MENU"), flows)

    assert meaning is not None
    assert meaning.source == "keyword"
    assert meaning.goto == flows.start


@pytest.mark.parametrize("step", [None, "menu", "hours", "talk"])
def test_stop_opts_out_from_anywhere(flows: Flows, step: str | None) -> None:
    outcome = turn(State(step=step), "STOP", flows)

    assert outcome.state.step == "stop"
    assert any(isinstance(a, OptOut) for a in outcome.actions)
    assert "START" in outcome.replies[0]


@pytest.mark.parametrize(("text", "lang"), [("FR", "fr"), ("NL", "nl"), ("EN", "en"), ("nl", "nl")])
def test_a_language_keyword_sets_the_language(flows: Flows, text: str, lang: str) -> None:
    meaning = interpret(State(step="hours"), Incoming(text), flows)

    assert meaning is not None
    assert meaning.source == "keyword"
    assert meaning.language == lang


def test_a_keyword_inside_a_sentence_is_not_a_keyword(flows: Flows) -> None:
    assert interpret(State(), Incoming("je ne veux pas que ça stop maintenant"), flows) is None


# --- language ----------------------------------------------------------------------------


def test_a_first_message_in_dutch_gets_a_dutch_answer(flows: Flows) -> None:
    outcome = turn(State(), "wanneer zijn jullie open", flows, intent="opening_hours")

    assert outcome.language == "nl"
    assert outcome.state.lang == "nl"
    assert "gesloten" in outcome.replies[0]
    assert "maandag om 9u" in outcome.replies[0]


def test_a_first_message_in_english_gets_an_english_answer(flows: Flows) -> None:
    outcome = turn(State(), "when are you open tomorrow", flows, intent="opening_hours")

    assert outcome.language == "en"
    assert "closed" in outcome.replies[0]
    assert "9am" in outcome.replies[0]


def test_a_first_message_in_french_gets_a_french_answer(flows: Flows) -> None:
    outcome = turn(State(), "bonjour vous êtes ouverts quand", flows, intent="opening_hours")

    assert outcome.language == "fr"
    assert "fermés" in outcome.replies[0]


def test_nl_switches_to_dutch_and_it_sticks(flows: Flows) -> None:
    first = turn(State(), "bonjour je voudrais parler a quelqu'un", flows, intent="talk_to_someone")
    assert first.language == "fr"

    switched = turn(first.state, "NL", flows)
    assert switched.language == "nl"
    assert switched.state.lang_locked
    assert "Antwoord met een cijfer" in switched.replies[0]

    later = turn(switched.state, "bonjour je voudrais savoir vos horaires", flows, intent="opening_hours")
    assert later.language == "nl"
    assert "gesloten" in later.replies[0]


def test_en_then_fr_switches_back_and_it_sticks(flows: Flows) -> None:
    english = turn(State(), "EN", flows)
    assert english.language == "en"
    assert "Reply with a number" in english.replies[0]

    french = turn(english.state, "FR", flows)
    assert french.language == "fr"

    later = turn(french.state, "what are your opening hours please", flows, intent="opening_hours")
    assert later.language == "fr"
    assert "fermés" in later.replies[0]


# --- media and empty messages ------------------------------------------------------------


def test_a_voice_note_without_text_opens_a_case_and_says_who_listens_and_when(flows: Flows) -> None:
    outcome = turn(State(), "", flows, num_media=1, media=("audio",), reference="ACD347")

    assert outcome.state.step == "media_only"
    assert "Un travailleur social va écouter votre message vocal lundi à 9h. Votre référence : ACD347." \
        in outcome.replies[0]
    assert outcome.priority == "normal" and isinstance(outcome.actions[0], OpenCase)


def test_a_photo_without_text_says_someone_will_look_today_when_open(flows: Flows) -> None:
    outcome = turn(State(), "", flows, num_media=1, media=("image",), now=TUESDAY_MORNING)

    assert "va regarder votre photo aujourd'hui, pendant les heures d'ouverture" in outcome.replies[0]


def test_an_empty_message_gets_the_empty_answer_and_the_menu(flows: Flows) -> None:
    outcome = turn(State(), "   ", flows)

    reply = "\n".join(outcome.replies)
    assert flows.steps["empty"].say["fr"] in reply  # type: ignore[index]
    assert "1 Horaires" in reply
    assert "0 Parler à quelqu'un" in reply
    assert outcome.state.step == "menu"


# --- urgent ------------------------------------------------------------------------------


def test_an_urgent_message_gets_the_belgian_emergency_numbers_and_an_urgent_case(flows: Flows) -> None:
    outcome = turn(State(), "mon mari me frappe", flows, intent="urgent")

    reply = "\n".join(outcome.replies)
    assert "112" in reply
    assert "0800 32 123" in reply
    assert outcome.priority == "urgent"
    assert [a.priority for a in outcome.actions if isinstance(a, OpenCase)] == ["urgent"]


def test_a_french_caller_gets_the_french_emergency_numbers(flows: Flows) -> None:
    outcome = turn(State(), "je veux mourir", flows, intent="urgent", country="FR")

    lines = "\n".join(outcome.replies).split("\n")
    numbers = {line.split(" : ")[0] for line in lines if " : " in line}
    assert "3114" in numbers
    assert "15" in numbers
    assert "0800 32 123" not in numbers


def test_an_urgent_message_in_dutch_gets_dutch_labels(flows: Flows) -> None:
    outcome = turn(State(lang="nl", lang_locked=True), "help ik ben in gevaar", flows, intent="urgent")

    reply = "\n".join(outcome.replies)
    assert "112" in reply
    assert "zelfmoordpreventie" in reply


# --- splitting long replies --------------------------------------------------------------


def test_split_reply_keeps_every_message_within_the_limit_and_every_line() -> None:
    lines = [f"Ligne {i}:" + " texte de la réponse" * (i % 9 + 1) for i in range(120)]
    text = "\n".join(lines)
    assert len(text) > 3 * MAX_REPLY

    chunks = split_reply(text)

    assert len(chunks) > 3
    assert all(len(chunk) <= MAX_REPLY for chunk in chunks)
    assert "\n".join(chunks) == text


def test_split_reply_cuts_a_single_huge_line_without_losing_text() -> None:
    text = "début\n" + "".join(chr(ord("a") + i % 26) for i in range(4000)) + "\nfin"

    chunks = split_reply(text)

    assert all(len(chunk) <= MAX_REPLY for chunk in chunks)
    assert "".join(chunks).replace("\n", "") == text.replace("\n", "")


def test_split_reply_leaves_a_short_reply_whole() -> None:
    assert split_reply("  Bonjour\nau revoir  ") == ["Bonjour\nau revoir"]


def test_split_reply_of_nothing_is_no_message() -> None:
    assert split_reply("  \n ") == []


# --- state -------------------------------------------------------------------------------


def test_state_survives_a_round_trip_through_a_dict() -> None:
    state = State(lang="nl", lang_locked=True, step="hours", turns=3)

    assert State.from_dict(state.to_dict()) == state


def test_state_ignores_keys_it_does_not_know() -> None:
    state = State.from_dict({"lang": "en", "turns": 2, "mood": "happy", "version": 9})

    assert state == State(lang="en", turns=2)


def test_state_from_nothing_is_a_fresh_state() -> None:
    assert State.from_dict(None) == State()


def test_a_state_on_a_removed_step_falls_back_to_the_start_menu(flows: Flows) -> None:
    old = State(lang="fr", step="step_removed_since")

    meaning = interpret(old, Incoming("2"), flows)

    assert meaning is not None
    assert (meaning.goto, meaning.notice) == (flows.start, "flow_changed")
    assert interpret(old, Incoming("horaires"), flows).goto == "hours"  # type: ignore[union-attr]
    assert interpret(old, Incoming("0"), flows).goto == flows.human  # type: ignore[union-attr]


def test_each_turn_counts_and_remembers_the_last_step(flows: Flows) -> None:
    first = turn(State(), "1", flows)
    second = turn(first.state, "0", flows)

    assert (first.state.turns, second.state.turns) == (1, 2)
    assert second.state.step == "talk"


# --- workshop actions: returned, told from a snapshot, settled against the database -----------

CV = "cv-2026-12-03"


def test_a_sign_up_is_returned_with_the_result_the_seats_foretell(flows: Flows) -> None:
    state = State(lang="fr", lang_locked=True, step="workshop_confirm", data={"workshop": CV})
    meaning = interpret(state, Incoming("oui"), flows)
    assert meaning is not None

    outcome = respond(state, Incoming("oui"), meaning, SATURDAY_NIGHT, flows, Seats(free={CV: 3}))

    actions = [a for a in outcome.actions if isinstance(a, WorkshopAction)]
    assert [(a.name, a.data["workshop"], a.told.result) for a in actions] == [("signup", CV, "confirmed")]
    assert outcome.state.step == "workshop_confirmed"
    assert needs_seats(outcome, flows)


def test_when_the_seats_were_stale_the_databases_result_wins_and_the_reply_follows(flows: Flows) -> None:
    state = State(lang="fr", lang_locked=True, step="workshop_confirm", data={"workshop": CV})
    incoming = Incoming("oui")
    meaning = interpret(state, incoming, flows)
    assert meaning is not None
    seats = Seats(free={CV: 1})  # the last seat went to someone else meanwhile
    applied: list[str] = []

    def apply(action: WorkshopAction) -> ActionResult:
        applied.append(action.name)
        return ActionResult("waiting", {"workshop": CV, "position": "1"})

    outcome = settle(lambda told: respond(state, incoming, meaning, SATURDAY_NIGHT, flows, seats, told), apply)

    assert applied == ["signup"]  # applied once, not again when the turn is told anew
    assert outcome.state.step == "workshop_waiting"
    assert [a.told.result for a in outcome.actions if isinstance(a, WorkshopAction)] == ["waiting"]


def test_a_turn_that_touches_no_workshop_reads_no_seats(flows: Flows) -> None:
    state = State(lang="fr", lang_locked=True)
    meaning = interpret(state, Incoming("1"), flows)
    assert meaning is not None

    assert not needs_seats(respond(state, Incoming("1"), meaning, SATURDAY_NIGHT, flows), flows)
