"""Crisis triage (bot.triage): the lexicon, figures of speech, the NLU, and the held-out set."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import yaml

from bot.flows import FlowError
from bot.nlu_client import NluClient
from bot.text import normalize
from bot.triage import URGENT_MIN_CONFIDENCE, Lexicon, Triage, assess, load_lexicon
from tests.conftest import ROOT, RasaServer

LEXICON = ROOT / "flows" / "crisis.yml"
HELD_OUT = ROOT / "tests" / "data" / "crisis_heldout.yml"
MAX_FALSE_POSITIVES = 0.10


@pytest.fixture(scope="module")
def lexicon() -> Lexicon:
    return load_lexicon(LEXICON)


@pytest.fixture(scope="module")
def held_out() -> dict[str, list[str]]:
    return yaml.safe_load(HELD_OUT.read_text(encoding="utf-8"))


def write(tmp_path: Path, text: str) -> Path:
    """A lexicon file with text in it."""
    path = tmp_path / "crisis.yml"
    path.write_text(text, encoding="utf-8")
    return path


def rates(verdicts: dict[str, list[Triage]]) -> tuple[float, float]:
    """Crisis recall and false-positive rate of verdicts on the held-out set."""
    recall = sum(t.priority == "urgent" for t in verdicts["crisis"]) / len(verdicts["crisis"])
    alarming = verdicts["alarming_but_not_crisis"]
    return recall, sum(t.priority == "urgent" for t in alarming) / len(alarming)


# --- each category, the way people text ---------------------------------------------------

@pytest.mark.parametrize(("text", "category"), [
    ("jveux me suicidé", "suicide"),
    ("JE VAIS ME PENDRE", "means"),
    ("jpeux pu vivre comme ca", "suicide"),
    ("g pris 20 doliprane", "means_medicine"),
    ("j'ai avalé toute la boîte de cachets", "means_medicine"),
    ("jme scarifie le soir", "self_harm"),
    ("je me fais du mal", "self_harm"),
    ("mon mari me frape", "violence"),
    ("il m a tabassée hier soir", "violence"),
    ("il dit quil va me tué", "violence"),
    ("mon beau pere frappe mon fils", "child_in_danger"),
    ("ya un bebe tout seul dans la voiture", "child_in_danger"),
    ("jdors dehors ce soir", "homeless_tonight"),
    ("proprio ma mis a la rue", "homeless_tonight"),
    ("g pa mangé depui 3 jours", "hunger"),
    ("jarrive pu a respiré", "medical"),
    ("il est inconscient", "medical"),
    ("AU SECOURS", "danger"),
    ("adieu a tous", "farewell"),
    ("ik wil dood", "suicide"),
    ("mijn man slaat me", "violence"),
    ("i want to kill myself", "suicide"),
    ("he has a knife", "violence"),
])
def test_each_category_fires_on_sms_spelling_without_accents(lexicon: Lexicon, text: str, category: str) -> None:
    triage = assess(text, lexicon)
    assert triage.priority == "urgent", text
    assert triage.category == category, triage.reason


@pytest.mark.parametrize("text", ["20 doliprane", "j'ai pris vingt doliprane", "jai pris 15 lexomil"])
def test_a_dangerous_dose_fires(lexicon: Lexicon, text: str) -> None:
    assert assess(text, lexicon).category == "means_medicine"


def test_an_ordinary_dose_does_not_fire(lexicon: Lexicon) -> None:
    assert assess("jai pris 2 doliprane pour la tete", lexicon).priority is None


def test_a_phrase_only_matches_whole_words(lexicon: Lexicon) -> None:
    assert assess("on peut s'accorder sur une date ? la statue du parc", lexicon).priority is None


def test_a_typo_in_a_long_word_is_forgiven(lexicon: Lexicon) -> None:
    assert assess("je vais me sucider", lexicon).category == "suicide"


def test_a_typo_never_turns_an_everyday_word_into_a_crisis(lexicon: Lexicon) -> None:
    assert assess("je cherche la prime d'accouchement", lexicon).priority is None
    assert assess("i cut my finger while cooking", lexicon).priority is None


# --- figures of speech --------------------------------------------------------------------

@pytest.mark.parametrize("text", [
    "ce formulaire me tue", "CE FORMULAIRE ME TUE !!", "mort de rire", "mdr", "mon telephone est mort",
    "ma batterie est morte", "je suis mort de fatigue", "je meurs de faim", "tu me tues", "ça me tue",
    "cette attente me tue", "j'ai failli mourir de rire", "this form is killing me", "ik ben dood moe",
    "ik ga dood van het lachen", "im starving",
])
def test_figures_of_speech_do_not_fire(lexicon: Lexicon, text: str) -> None:
    assert assess(text, lexicon).priority is None


def test_a_figure_of_speech_does_not_hide_real_danger_beside_it(lexicon: Lexicon) -> None:
    triage = assess("ce formulaire me tue mais surtout mon mari me frappe", lexicon)
    assert triage.category == "violence"


# --- the reason a social worker reads -----------------------------------------------------

def test_the_reason_names_the_category_label_and_the_persons_words(lexicon: Lexicon) -> None:
    triage = assess("Je veux me suicider.", lexicon)
    assert triage == Triage("urgent", "idées suicidaires « me suicider »", "suicide", ("me suicider",))


def test_the_reason_quotes_the_persons_own_spelling(lexicon: Lexicon) -> None:
    assert assess("mon mari ma frapé", lexicon).matched == ("ma frape",)


def test_the_most_specific_phrase_gives_the_category(lexicon: Lexicon) -> None:
    triage = assess("il va me tuer", lexicon)
    assert (triage.category, triage.matched) == ("violence", ("il va me tuer",))


def test_a_calm_message_is_not_urgent_and_has_no_reason(lexicon: Lexicon) -> None:
    assert assess("bonjour c koi vos horaires", lexicon) == Triage(None, "", None, ())


# --- the NLU ------------------------------------------------------------------------------

def test_a_confident_urgent_intent_alone_fires_and_says_so(lexicon: Lexicon) -> None:
    triage = assess("je sais plus quoi faire aidez moi", lexicon, "urgent", 0.93)
    assert triage == Triage("urgent", "aucun mot de la liste, mais le modèle de langue y voit une urgence (93 %) : "
                                      "lire le message", None, ())


def test_a_doubtful_urgent_intent_alone_does_not_fire(lexicon: Lexicon) -> None:
    low = URGENT_MIN_CONFIDENCE - 0.01
    assert assess("je sais plus quoi faire aidez moi", lexicon, "urgent", low).priority is None


def test_another_intent_does_not_fire_however_confident(lexicon: Lexicon) -> None:
    assert assess("je sais plus quoi faire", lexicon, "talk_to_someone", 0.99).priority is None


def test_an_urgent_intent_on_a_mere_figure_of_speech_does_not_fire(lexicon: Lexicon) -> None:
    assert assess("ce formulaire me tue mdr", lexicon, "urgent", 0.99).priority is None


def test_an_urgent_intent_about_a_film_or_the_past_does_not_fire(lexicon: Lexicon) -> None:
    assert assess("on a vu un film sur un meurtre", lexicon, "urgent", 1.0).priority is None
    assert assess("il y a 3 ans on dormait dehors", lexicon, "urgent", 1.0).priority is None


def test_a_crisis_phrase_fires_even_beside_a_calm_context(lexicon: Lexicon) -> None:
    triage = assess("comme dans le film, je vais me pendre", lexicon, "urgent", 1.0)
    assert triage.category == "means" and "le modèle de langue le pense aussi (sûr)" in triage.reason


def test_words_and_intent_together_give_both_reasons(lexicon: Lexicon) -> None:
    triage = assess("il me frappe", lexicon, "urgent", 0.97)
    assert triage.reason == "violence en cours « me frappe » ; le modèle de langue le pense aussi (97 %)"


# --- loading the lexicon ------------------------------------------------------------------

def test_the_lexicon_has_every_category_in_every_language(lexicon: Lexicon) -> None:
    names = {c.name for c in lexicon.categories}
    assert {"suicide", "farewell", "means_medicine", "means", "self_harm", "violence", "child_in_danger",
            "homeless_tonight", "hunger", "medical", "danger"} <= names
    for category in lexicon.categories:
        assert set(category.label) == {"fr", "nl", "en"}
        assert all(category.phrases.get(lang) for lang in ("fr", "nl", "en")), category.name
    assert all(lexicon.not_crisis.get(lang) and lexicon.calm.get(lang) for lang in ("fr", "nl", "en"))


LABEL = "    label: {fr: faim, nl: honger, en: hunger}\n"


@pytest.mark.parametrize(("text", "line", "reason"), [
    ("crisis:\n  hunger:\n" + LABEL, 2, "has no phrases"),
    ("crisis:\n  hunger:\n" + LABEL + "    phrases:\n      fr: []\n", 4, "has no phrases"),
    ("crisis:\n  hunger:\n" + LABEL + "    phrases:\n      fr: [rien mange]\n      de: [hunger]\n", 6,
     "'de', which is not a language"),
    ("crisis:\n  hunger:\n" + LABEL + "    phrases:\n      fr:\n        - rien mange\n        - \n", 7,
     "a phrase is empty"),
    ("crisis:\n  hunger:\n" + LABEL + "    phrases:\n      fr:\n        - # jours sans manger\n", 6,
     "a phrase is empty"),
    ("crisis:\n  hunger:\n" + LABEL + "    phrases:\n      fr:\n        - <x> jours\n", 6,
     "'<x>' is not a wildcard"),
    ("crisis:\n  hunger:\n    label: {fr: faim}\n    phrases:\n      fr: [rien mange]\n", 3,
     "has no text in nl, en"),
    ("crisis:\n  hunger:\n" + LABEL + "    phrases:\n      fr: [rien mange\n", 6, "not valid YAML"),
    ("crises:\n  hunger: {}\n", 1, "'crises' is not a section"),
    ("crisis:\n  hunger:\n" + LABEL + "    phrases:\n      fr: [rien mange]\ncalm:\n  fr: [un film]\n  es: [una pelicula]\n",
     8, "'es', which is not a language"),
])
def test_a_malformed_lexicon_is_refused_with_file_line_and_reason(
        tmp_path: Path, text: str, line: int, reason: str) -> None:
    with pytest.raises(FlowError) as error:
        load_lexicon(write(tmp_path, text))
    assert (error.value.file, error.value.line) == ("crisis.yml", line), error.value
    assert reason in error.value.reason


def test_an_admin_phrase_with_wildcards_works(tmp_path: Path) -> None:
    path = write(tmp_path, "crisis:\n  hunger:\n" + LABEL + "    phrases:\n      fr:\n"
                 "        - <2+> jours ... rien mange\n      nl: []\n      en: []\n")
    assert assess("ca fait 3 jours que jai rien mangé", load_lexicon(path)).category == "hunger"
    assert assess("1 jour que jai rien mange", load_lexicon(path)).priority is None


# --- speed --------------------------------------------------------------------------------

def test_assessing_a_thousand_messages_takes_well_under_a_second(
        lexicon: Lexicon, held_out: dict[str, list[str]]) -> None:
    messages = (held_out["crisis"] + held_out["alarming_but_not_crisis"]) * 8
    messages = [f"{m} {i}" for i, m in enumerate(messages[:1000])]  # no two alike: no cache help
    start = time.perf_counter()
    for message in messages:
        assess(message, lexicon)
    assert time.perf_counter() - start < 1.0


# --- the held-out evaluation --------------------------------------------------------------

def test_the_held_out_set_is_big_enough_and_not_copied_into_the_lexicon(
        lexicon: Lexicon, held_out: dict[str, list[str]]) -> None:
    assert len(held_out["crisis"]) >= 60 and len(held_out["alarming_but_not_crisis"]) >= 40
    phrases = {normalize(p) for c in lexicon.categories for ps in c.phrases.values() for p in ps}
    assert not phrases & {normalize(m) for m in held_out["crisis"]}


def test_the_lexicon_alone_finds_every_held_out_crisis_with_few_false_alarms(
        lexicon: Lexicon, held_out: dict[str, list[str]], capsys: pytest.CaptureFixture[str]) -> None:
    verdicts = {kind: [assess(m, lexicon) for m in messages] for kind, messages in held_out.items()}
    recall, false_positives = rates(verdicts)
    with capsys.disabled():
        print(f"\nlexicon alone: crisis recall {recall:.0%}, false positives {false_positives:.0%}")
    missed = [m for m, t in zip(held_out["crisis"], verdicts["crisis"], strict=True) if not t.priority]
    assert recall == 1.0, missed
    assert false_positives <= MAX_FALSE_POSITIVES


@pytest.mark.rasa
@pytest.mark.slow
def test_with_the_nlu_every_held_out_crisis_is_urgent_and_few_false_alarms(
        lexicon: Lexicon, held_out: dict[str, list[str]], rasa_up: RasaServer,
        capsys: pytest.CaptureFixture[str]) -> None:
    nlu = NluClient(rasa_up.url, 5)
    verdicts: dict[str, list[Triage]] = {}
    nlu_only: dict[str, list[Triage]] = {}
    for kind, messages in held_out.items():
        parsed = [nlu.parse(m) for m in messages]
        verdicts[kind] = [assess(m, lexicon, p.intent, p.confidence) for m, p in zip(messages, parsed, strict=True)]
        nlu_only[kind] = [assess("", lexicon, p.intent, p.confidence) for p in parsed]
    recall, false_positives = rates(verdicts)
    nlu_recall, nlu_false_positives = rates(nlu_only)
    with capsys.disabled():
        print(f"\nlexicon + NLU: crisis recall {recall:.0%}, false positives {false_positives:.0%}"
              f" (NLU alone at {URGENT_MIN_CONFIDENCE}: {nlu_recall:.0%}, {nlu_false_positives:.0%})")
    missed = [m for m, t in zip(held_out["crisis"], verdicts["crisis"], strict=True) if not t.priority]
    assert recall == 1.0, missed
    alarms = [m for m, t in zip(held_out["alarming_but_not_crisis"], verdicts["alarming_but_not_crisis"],
                                strict=True) if t.priority]
    assert false_positives <= MAX_FALSE_POSITIVES, alarms
