"""Opt-out and opt-in only on the person's explicit word (DESIGN.md, contract 10)."""

from __future__ import annotations

from typing import Any

import pytest

from bot.core import standing
from bot.core.engine import Incoming, Interpretation, OptIn, OptOut, State, interpret, respond
from bot.core.flows import Flows, load_flows
from tests.conftest import FIXED_FLOWS, Phone, rows
from tests.test_engine import SATURDAY_NIGHT

FLOWS_DIR = FIXED_FLOWS


@pytest.fixture(scope="module")
def flows() -> Flows:
    return load_flows(FLOWS_DIR)


def turn(flows: Flows, text: str, *, state: State | None = None, nlu: str = "nlu_fallback",
         **message: Any) -> Any:
    state = state or State()
    incoming = Incoming(text, **message)
    meaning = interpret(state, incoming, flows) or Interpretation(nlu, 0.97, "nlu")
    return respond(state, incoming, meaning, SATURDAY_NIGHT, flows)


def changes(outcome: Any) -> list[object]:
    return [a for a in outcome.actions if isinstance(a, OptOut | OptIn)]


# --- the keyword rule (pure) ----------------------------------------------------------------


@pytest.mark.parametrize("text", ["STOP", "stop", " Stop ! ", "STOP svp", "stop please", "ARRET",
                                  "Arrêt.", "STOPPEN", "unsubscribe", "DESINSCRIRE", "désinscrire",
                                  "stop stop", "STOP!!!", "Stoppen aub"])
def test_a_whole_message_keyword_opts_out(flows: Flows, text: str) -> None:
    outcome = turn(flows, text)

    assert changes(outcome) == [OptOut("keyword")]
    assert outcome.state.step == "stop"


@pytest.mark.parametrize("text", ["contactez moi", "je veux arreter de fumer", "stop je comprends rien",
                                  "EFFACER", "arretez de m'appeler madame", "ik wil stoppen met roken",
                                  "the bus stop near you", "arret de bus", "don't stop helping me"])
def test_a_sentence_never_opts_out(flows: Flows, text: str) -> None:
    for nlu in ("stop", "talk_to_someone", "nlu_fallback"):
        assert changes(turn(flows, text, nlu=nlu)) == []


def test_the_nlu_stop_intent_asks_instead_of_unsubscribing(flows: Flows) -> None:
    outcome = turn(flows, "je veux plus recevoir vos sms", nlu="stop")

    assert changes(outcome) == []
    assert outcome.replies == ["Vous ne voulez plus recevoir de messages ? Répondez STOP. "
                               "Sinon, tapez MENU pour le menu."]


def test_a_sentence_with_stop_gets_the_question_and_its_answer(flows: Flows) -> None:
    outcome = turn(flows, "stop je comprends rien", nlu="help")

    assert changes(outcome) == []
    text = "\n".join(outcome.replies)
    assert text.startswith("Vous ne voulez plus recevoir de messages ? Répondez STOP.")
    assert "robot SMS" in text  # and the help it asked for


@pytest.mark.parametrize(("opt_out_type", "expected"), [("STOP", OptOut("twilio")), ("START", OptIn("twilio"))])
def test_twilio_opt_out_type_changes_standing_whatever_the_text(flows: Flows, opt_out_type: str,
                                                                expected: object) -> None:
    outcome = turn(flows, "Halte", opt_out_type=opt_out_type, opted_out=opt_out_type == "START")

    assert changes(outcome) == [expected]


def test_twilio_help_changes_nothing(flows: Flows) -> None:
    assert changes(turn(flows, "HELP", opt_out_type="HELP")) == []


@pytest.mark.parametrize("text", ["START", "start", "Unstop", " START svp "])
def test_start_opts_back_in(flows: Flows, text: str) -> None:
    outcome = turn(flows, text, opted_out=True)

    assert changes(outcome) == [OptIn("keyword")]


def test_someone_who_opted_out_is_asked_and_oui_brings_them_back(flows: Flows) -> None:
    asked = turn(flows, "c koi vos horaires", opted_out=True, nlu="opening_hours")

    assert asked.replies == ["Vous avez demandé à ne plus recevoir nos messages. "
                             "Pour les recevoir de nouveau, répondez OUI."]
    assert changes(asked) == []
    back = turn(flows, "oui", state=asked.state, opted_out=True)
    assert changes(back) == [OptIn("confirmation")]
    assert "de nouveau nos messages" in back.replies[0]


def test_oui_without_the_question_does_not_opt_in(flows: Flows) -> None:
    assert changes(turn(flows, "oui", opted_out=True)) == []


def test_a_crisis_after_stop_still_gets_the_emergency_numbers(flows: Flows) -> None:
    state = State()
    incoming = Incoming("je veux mourir", opted_out=True)
    outcome = respond(state, incoming, Interpretation("urgent", 1.0, "nlu", goto="urgent"), SATURDAY_NIGHT, flows)

    assert outcome.priority == "urgent"
    assert "112" in outcome.replies[0]


def test_yes_and_hint_words_are_read_as_people_write_them() -> None:
    assert standing.is_yes("Oui !") and standing.is_yes("ja") and standing.is_yes("yes please")
    assert not standing.is_yes("oui mais je veux savoir")
    assert standing.hints_opt_out("stop je comprends rien")
    assert not standing.hints_opt_out("STOP")


# --- through the signed webhook, with the record --------------------------------------------


def standing_rows(app: Any) -> list[Any]:
    return rows(app, "SELECT s.change, s.via, m.body FROM standing_changes s "
                     "JOIN messages m ON m.id = s.message_id ORDER BY s.id")


def opted_out(app: Any, address: str) -> bool:
    return bool(rows(app, "SELECT opted_out FROM contacts WHERE address = :a", a=address)[0][0])


def test_stop_and_start_are_recorded_with_the_message_that_caused_them(app: Any, phone: Phone) -> None:
    phone.text("Stop svp")
    assert opted_out(app, phone.address)
    phone.text("START")

    assert not opted_out(app, phone.address)
    assert [tuple(r) for r in standing_rows(app)] == [("opt_out", "keyword", "Stop svp"),
                                                      ("opt_in", "keyword", "START")]


def test_twilio_opt_out_type_is_recorded_as_twilio(app: Any, phone: Phone) -> None:
    phone.text("ARRETTT", OptOutType="STOP")

    assert opted_out(app, phone.address)
    assert [tuple(r) for r in standing_rows(app)] == [("opt_out", "twilio", "ARRETTT")]


def test_contactez_moi_keeps_the_person_subscribed(app: Any, phone: Phone) -> None:
    phone.text("contactez moi")
    phone.text("stop je comprends rien")

    assert not opted_out(app, phone.address)
    assert standing_rows(app) == []


def test_a_crisis_after_stop_opens_an_urgent_case(app: Any, phone: Phone) -> None:
    phone.text("STOP")
    replies = phone.text("je vais me suicider ce soir")

    assert "112" in replies[0]
    assert [tuple(r) for r in rows(app, "SELECT priority, status FROM cases")] == [("urgent", "open")]
    assert opted_out(app, phone.address)  # help given; the person's STOP still stands


def test_oui_after_the_question_opts_back_in_through_the_webhook(app: Any, phone: Phone) -> None:
    phone.text("STOP")
    assert "OUI" in phone.text("bonjour")[0]
    phone.text("oui")

    assert not opted_out(app, phone.address)
    assert [tuple(r)[:2] for r in standing_rows(app)] == [("opt_out", "keyword"), ("opt_in", "confirmation")]
