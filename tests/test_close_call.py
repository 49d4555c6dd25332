"""Close calls: when the NLU's two best intents are close, the bot asks instead of guessing."""

from __future__ import annotations

from typing import Any

import pytest

from bot.adapters.nlu import NluResult
from bot.core.engine import CLOSE_CALL, Incoming, Interpretation, Labelled, State, interpret, respond
from bot.core.flows import Flows, load_flows
from bot.core.text import without_greeting
from bot.services import pipeline
from tests.conftest import FIXED_FLOWS, Phone, rows
from tests.test_engine import SATURDAY_NIGHT

FLOWS_DIR = FIXED_FLOWS
CLOSE = Interpretation("workshop_signup", 0.55, "nlu", alternatives=("workshop_signup", "workshop_cancel"))


@pytest.fixture(scope="module")
def flows() -> Flows:
    return load_flows(FLOWS_DIR)


def test_a_close_call_asks_one_short_question_with_numbered_choices(flows: Flows) -> None:
    outcome = respond(State(), Incoming("atelier jeudi", message_id=41), CLOSE, SATURDAY_NIGHT, flows)

    assert outcome.replies == ["Vous voulez :\n1 voir les ateliers ou vous inscrire\n"
                               "2 annuler votre place à un atelier\nRépondez 1 ou 2."]
    assert outcome.state.step == CLOSE_CALL
    assert outcome.actions == []


def test_the_question_is_asked_in_the_persons_language(flows: Flows) -> None:
    outcome = respond(State(lang="nl", lang_locked=True), Incoming("workshop donderdag"), CLOSE,
                      SATURDAY_NIGHT, flows)

    assert outcome.replies[0].startswith("Wilt u:\n1 de workshops zien")


def test_the_answer_goes_where_it_says_and_labels_the_first_message(flows: Flows) -> None:
    asked = respond(State(), Incoming("atelier jeudi", message_id=41), CLOSE, SATURDAY_NIGHT, flows)
    meaning = interpret(asked.state, Incoming("2"), flows)

    assert meaning is not None and meaning.intent == "workshop_cancel" and meaning.source == "asked"
    answered = respond(asked.state, Incoming("2", message_id=42), meaning, SATURDAY_NIGHT, flows)
    assert Labelled(41, "workshop_cancel") in answered.actions
    assert answered.state.step != CLOSE_CALL


def test_words_instead_of_a_digit_are_read_as_a_new_message(flows: Flows) -> None:
    asked = respond(State(), Incoming("atelier jeudi", message_id=41), CLOSE, SATURDAY_NIGHT, flows)

    assert interpret(asked.state, Incoming("c quand vous etes ouvert"), flows) is None


def test_a_crisis_is_never_a_close_call(flows: Flows) -> None:
    urgent = Interpretation("urgent", 0.55, "nlu", goto="urgent", alternatives=("help", "talk_to_someone"))
    outcome = respond(State(), Incoming("aidez moi il me frappe"), urgent, SATURDAY_NIGHT, flows)

    assert outcome.priority == "urgent"


@pytest.mark.parametrize(("result", "expected"), [
    (NluResult("workshop_signup", 0.6, ("workshop_cancel", 0.35)), ("workshop_signup", "workshop_cancel")),
    (NluResult("workshop_signup", 0.95, ("workshop_cancel", 0.04)), ()),  # clear: no question
    (NluResult("urgent", 0.5, ("help", 0.45)), ()),  # the triage decides, never a question
    (NluResult("out_of_scope", 0.5, ("help", 0.45)), ()),  # nothing to offer for out_of_scope
    (NluResult("help", 0.5, None), ()),
])
def test_only_close_calls_between_offerable_intents_are_asked(flows: Flows, result: NluResult,
                                                              expected: tuple[str, ...]) -> None:
    assert pipeline._close_call(result, flows) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("bonjour je veux minscrire a latelier", "je veux minscrire a latelier"),
    ("Bonjour Madame, je viens de recevoir votre lettre", "je viens de recevoir votre lettre"),
    ("slt , c koi vos horaires", "c koi vos horaires"),
    ("bonjour madame", "bonjour madame"),  # only a greeting: kept for the NLU to read as one
    ("salut a vous", "salut a vous"),
])
def test_a_leading_greeting_is_set_aside_before_the_nlu(flows: Flows, text: str, expected: str) -> None:
    assert without_greeting(text, pipeline._greetings(flows)) == expected


def test_a_close_call_answer_is_recorded_as_a_labelled_example(app: Any, phone: Phone, redis_client: Any) -> None:
    phone.text("atelier jeudi")
    first = rows(app, "SELECT id, contact_id FROM messages WHERE direction = 'in'")[0]
    state = {"step": CLOSE_CALL, "turns": 1, "lang": "fr",
             "data": {CLOSE_CALL: "workshop_signup,workshop_cancel", "_asked_about": str(first[0])}}
    app.extensions["relais.services"].states.save(first[1], State.from_dict(state))

    replies = phone.text("2")

    assert replies[0].startswith("Vous n'avez pas d'inscription à annuler.\nLes prochains ateliers")
    assert [tuple(r) for r in rows(app, "SELECT needs_review, review_reason FROM messages WHERE id = :i",
                                   i=first[0])] == [(True, "close_call:workshop_cancel")]


def test_a_close_call_the_messages_own_words_settle_is_not_asked(flows: Flows) -> None:
    from bot.core.engine import by_names

    close = Interpretation("help", 0.6, "nlu", alternatives=("help", "workshop_signup"))
    settled = by_names(close, "c koi les cours que vous faites", flows)

    assert settled.intent == "workshop_signup" and settled.alternatives == ()
