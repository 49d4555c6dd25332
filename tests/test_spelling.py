"""Typos mended before the NLU reads a message (bot.core.spelling), never in a crisis word."""

from __future__ import annotations

from typing import Any

import pytest

from bot.core import spelling
from bot.core.flows import Flows, load_flows
from bot.services import pipeline
from tests.conftest import FIXED_FLOWS

FLOWS_DIR = FIXED_FLOWS


@pytest.fixture(scope="module")
def speller() -> spelling.Speller:
    found = spelling.from_training_data()
    assert found is not None
    return found


@pytest.fixture(scope="module")
def flows() -> Flows:
    return load_flows(FLOWS_DIR)


@pytest.mark.parametrize(("typed", "meant"), [("muutelle", "mutuelle"), ("atleiers", "ateliers"),
                                              ("heatlh", "health"), ("conactez", "contactez"),
                                              ("ateler", "atelier")])
def test_a_slip_in_a_training_word_is_mended(speller: spelling.Speller, typed: str, meant: str) -> None:
    assert speller.word(typed) == meant


@pytest.mark.parametrize("word", ["mutuelle", "ris", "caf", "12345", "zzzzzzzz", "hier"])
def test_known_short_and_unknown_words_stay_as_they_are(speller: spelling.Speller, word: str) -> None:
    assert speller.word(word) == word


def test_a_word_with_two_candidates_stays_as_it_is() -> None:
    assert spelling.Speller({"pomme", "pommes", "gomme"}).word("comme") == "comme"
    assert spelling.Speller({"pommes"}).word("pomes") == "pommes"


def test_a_crisis_word_is_never_turned_into_another_word(speller: spelling.Speller, flows: Flows) -> None:
    assert flows.crisis is not None
    keep = flows.crisis.crisis_words
    assert speller.word("pendre") != "pendre"  # on its own it would become "prendre" ...
    assert speller.text("je vais me pendre", keep=keep) == "je vais me pendre"  # ... but never here
    assert speller.text("frapper", keep=keep) == "frapper"
    assert speller.text("not breating", keep=keep) == "not breating"  # one slip from "breathing"


def test_the_nlu_reads_the_message_without_greeting_capitals_accents_or_slips(flows: Flows,
                                                                               speller: spelling.Speller) -> None:
    text = pipeline.for_nlu("Bonjour Madame, COMMENT CHANGER DE MUUTELLE ? Merci", flows, speller)

    assert text == "comment changer de mutuelle ? merci"


def test_the_app_gives_its_nlu_client_the_speller(app: Any) -> None:
    nlu = app.extensions["relais.services"].nlu
    assert nlu.speller is not None and "mutuelle" in nlu.speller.known
