"""The keyword classifier used when the NLU service cannot answer (bot.core.fallback)."""

from __future__ import annotations

import pytest

from bot.core.fallback import FALLBACK_CONFIDENCE, classify
from bot.core.flows import Flows, load_flows
from tests.conftest import FIXED_FLOWS

FLOWS_DIR = FIXED_FLOWS


@pytest.fixture(scope="module")
def flows() -> Flows:
    return load_flows(FLOWS_DIR)


def test_it_understands_sms_spelling_asking_for_the_hours(flows: Flows) -> None:
    assert classify("c koi vos horaires", flows) == ("opening_hours", FALLBACK_CONFIDENCE)


def test_it_understands_sms_spelling_asking_for_a_person(flows: Flows) -> None:
    assert classify("jveux parler a qqn", flows)[0] == "talk_to_someone"


def test_it_understands_a_suicidal_message_as_urgent(flows: Flows) -> None:
    assert classify("je veux me suicider", flows)[0] == "urgent"


def test_it_understands_dutch_hours_questions(flows: Flows) -> None:
    assert classify("wanneer zijn jullie open", flows)[0] == "opening_hours"


def test_urgent_wins_over_asking_for_a_person(flows: Flows) -> None:
    assert classify("je veux parler, je suis en danger", flows)[0] == "urgent"


def test_urgent_wins_even_with_several_words_asking_for_a_person(flows: Flows) -> None:
    # Safety first (bot/core/fallback.py): one urgent word beats any number of others.
    assert classify("je veux parler à quelqu'un, mon mari me frappe", flows)[0] == "urgent"


def test_gibberish_is_nlu_fallback_with_no_confidence(flows: Flows) -> None:
    assert classify("zzqx vbnm trlp", flows) == ("nlu_fallback", 0.0)


def test_an_empty_message_is_nlu_fallback(flows: Flows) -> None:
    assert classify("", flows) == ("nlu_fallback", 0.0)
