"""Answering the question that was asked, in one message (issue 16): real flows, fixed clock, no I/O.

A message that names a procedure or a workshop gets it in the first reply; one that names
several equally gets a list of just those; one that names nothing gets the whole list. The
understanding is the pipeline's own (`pipeline.understand`): menu words, then an NLU that
answers a fixed intent (or none: the keyword fallback), then the words of the lists.
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.adapters.nlu import NluResult
from bot.core import engine, naming
from bot.core.engine import ActionResult, Incoming, Outcome, State, respond
from bot.core.errors import NluUnavailable
from bot.core.flows import Flows, check_dir, load_flows
from bot.services import pipeline

ROOT = Path(__file__).resolve().parent.parent
FLOWS_DIR = ROOT / "flows"
BRUSSELS = ZoneInfo("Europe/Brussels")
SATURDAY_NIGHT = datetime(2026, 11, 28, 23, 10, tzinfo=BRUSSELS)
CV, BUDGET, SMARTPHONE = "cv-2026-12-03", "budget-2026-12-10", "smartphone-2027-01-14"
PROCEDURES_HEADER = "Sur quel sujet"


@pytest.fixture(scope="module")
def flows() -> Flows:
    return load_flows(FLOWS_DIR)


class FixedNlu:
    """An NLU service that reads every message as one intent."""

    speller = None

    def __init__(self, intent: str, confidence: float = 0.98) -> None:
        self.intent, self.confidence = intent, confidence

    def parse(self, text: str, message_id: str = "") -> NluResult:
        return NluResult(self.intent, self.confidence)


class DownNlu:
    """An NLU service that does not answer: the keyword fallback takes over."""

    speller = None

    def parse(self, text: str, message_id: str = "") -> NluResult:
        raise NluUnavailable("down")


class Seats:
    """Workshop effects that count seats as told and remember the actions asked."""

    def __init__(self, left: int = 4, result: str = "confirmed") -> None:
        self.left, self.result = left, result
        self.calls: list[tuple[str, dict[str, str]]] = []

    def run(self, action: str, data: Mapping[str, str], now: datetime) -> ActionResult:
        self.calls.append((action, dict(data)))
        return ActionResult(self.result, {"workshop": data.get("workshop", "")})

    def signups(self, now: datetime) -> list[str]:
        return []

    def seats_left(self, key: str, now: datetime) -> int | None:
        return self.left


def say(flows: Flows, text: str, nlu: object, state: State | None = None,
        effects: Seats | None = None, now: datetime = SATURDAY_NIGHT) -> Outcome:
    """One message through the pipeline's understanding and the engine."""
    state = state or State(lang="fr", lang_locked=True)
    incoming = Incoming(text, reference="K7M2QX")
    meaning, _ = pipeline.understand(nlu, flows, state, incoming)  # type: ignore[arg-type]
    if effects is None:
        return respond(state, incoming, meaning, now, flows)
    seats = engine.Seats(free={key: effects.seats_left(key, now) for key in flows.workshops},  # type: ignore[misc]
                         mine=tuple(engine.Booking(key, "confirmed") for key in effects.signups(now)))
    return engine.settle(lambda told: respond(state, incoming, meaning, now, flows, seats, told),
                         lambda action: effects.run(action.name, action.data, now))


def reply(outcome: Outcome) -> str:
    return "\n".join(outcome.replies)


def numbered(outcome: Outcome) -> list[str]:
    return [line for line in reply(outcome).split("\n") if line[:2].strip().isdigit() and line[0] != "0"]


# --- procedures ------------------------------------------------------------------------------

NAMED = [
    ("allocations familiales", "proc_family"),
    ("la caf a rien versé ce mois", "proc_family"),
    ("mutuelle", "proc_health"),
    ("ameli rembourse quoi", "proc_health"),
    ("impots", "proc_taxes"),
    ("I got a tax letter", "proc_taxes"),
    ("logement social", "proc_housing"),
    ("carte d'identite perdue", "proc_idcard"),
    ("comment renouveler mon titre de sejour", "proc_residence"),
    ("ma carte de séjour", "proc_residence"),
    ("verblijfsvergunning verlengen", "proc_residence"),
    ("revenu d'integration", "proc_income"),
    ("le RIS c'est combien", "proc_income"),
    ("hoe vraag ik leefloon", "proc_income"),
]


@pytest.mark.parametrize(("text", "step"), NAMED)
def test_a_named_procedure_is_answered_in_the_first_reply(flows: Flows, text: str, step: str) -> None:
    outcome = say(flows, text, FixedNlu("admin_procedure"))

    assert outcome.state.step == step
    assert PROCEDURES_HEADER not in reply(outcome)
    assert reply(outcome).startswith(flows.steps[step].say["fr"][:25])  # type: ignore[index]
    assert outcome.intent == "admin_procedure"


@pytest.mark.parametrize(("text", "step"), NAMED)
def test_with_the_nlu_down_the_keywords_still_answer_directly(flows: Flows, text: str, step: str) -> None:
    outcome = say(flows, text, DownNlu())

    assert outcome.state.step == step
    assert outcome.source == "fallback"


@pytest.mark.parametrize(("text", "step"), [("alocations familliales", "proc_family"), ("MUTUELE", "proc_health"),
                                            ("impto", "proc_taxes"), ("carte d identité", "proc_idcard")])
def test_a_typo_or_missing_accents_still_name_the_procedure(flows: Flows, text: str, step: str) -> None:
    assert say(flows, text, FixedNlu("admin_procedure")).state.step == step


def test_a_word_the_nlu_does_not_place_still_names_the_procedure(flows: Flows) -> None:
    # "ameli" alone: the NLU does not know it; the words of procedures.yml do
    outcome = say(flows, "ameli", FixedNlu("nlu_fallback", 0.3))

    assert outcome.state.step == "proc_health"
    assert outcome.intent == "admin_procedure"


def test_two_procedures_named_as_much_list_only_those_and_the_digit_picks_among_them(flows: Flows) -> None:
    listed = say(flows, "c'est pour la mutuelle et les impots", FixedNlu("admin_procedure"))

    assert listed.state.step == "procedures"
    assert numbered(listed) == ["1 Mutuelle et soins", "2 Impôts"]
    assert "0 Parler à quelqu'un" in reply(listed)
    second = say(flows, "2", FixedNlu("admin_procedure"), listed.state)
    assert second.state.step == "proc_taxes"
    first = say(flows, "1", FixedNlu("admin_procedure"), listed.state)
    assert first.state.step == "proc_health"


def test_a_message_naming_no_procedure_gets_the_whole_list(flows: Flows) -> None:
    outcome = say(flows, "j'ai besoin d'aide pour des papiers", FixedNlu("admin_procedure"))

    assert outcome.state.step == "procedures"
    assert len(numbered(outcome)) == len(flows.steps["procedures"].choices)


def test_a_digit_never_names_anything(flows: Flows) -> None:
    outcome = say(flows, "2", FixedNlu("admin_procedure"), State(lang="fr", lang_locked=True, step="menu"))

    assert outcome.state.step == "procedures"
    assert len(numbered(outcome)) == len(flows.steps["procedures"].choices)


def test_the_short_list_is_forgotten_once_the_person_moves_on(flows: Flows) -> None:
    listed = say(flows, "mutuelle ou impots", FixedNlu("admin_procedure"))
    taxes = say(flows, "2", FixedNlu("admin_procedure"), listed.state)
    again = say(flows, "3", FixedNlu("admin_procedure"), taxes.state)  # "3 Autre démarche"

    assert again.state.step == "procedures"
    assert len(numbered(again)) == len(flows.steps["procedures"].choices)


def test_asking_for_a_person_about_a_procedure_still_reaches_a_person(flows: Flows) -> None:
    outcome = say(flows, "je veux parler à quelqu'un pour ma mutuelle", FixedNlu("talk_to_someone"))

    assert outcome.state.step == "talk"
    assert any(isinstance(a, engine.OpenCase) for a in outcome.actions)


def test_a_crisis_always_wins_over_a_named_procedure(flows: Flows) -> None:
    outcome = say(flows, "la caf ne paie plus, je veux mourir", FixedNlu("admin_procedure"))

    assert outcome.state.step == "urgent"
    assert outcome.priority == "urgent"


# --- workshops -------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "key"), [("c'est quand l'atelier cv", CV), ("le cours budget", BUDGET),
                                           ("atelier smartphone", SMARTPHONE), ("when is the CV workshop", CV)])
def test_a_named_workshop_gets_its_date_place_and_seats_and_oui_signs_up(flows: Flows, text: str, key: str) -> None:
    effects = Seats(left=4)
    shown = say(flows, text, FixedNlu("workshop_signup"), effects=effects)

    workshop = flows.workshops[key]
    lang = shown.language
    assert shown.state.step == "workshop_confirm"
    assert shown.state.data["workshop"] == key
    assert workshop.title[lang] in reply(shown) and workshop.place[lang] in reply(shown)
    assert {"fr": "Places libres : 4.", "en": "Seats left: 4."}[lang] in reply(shown)
    assert {"fr": "Répondez OUI pour vous inscrire", "en": "Reply YES to sign up"}[lang] in reply(shown)
    signed = say(flows, {"fr": "OUI", "en": "yes"}[lang], FixedNlu("workshop_signup"), shown.state, effects)
    assert effects.calls == [("signup", effects.calls[0][1])] and effects.calls[0][1]["workshop"] == key
    assert signed.state.step == "workshop_confirmed"


def test_the_date_of_a_named_workshop_is_said_in_words(flows: Flows) -> None:
    shown = say(flows, "c'est quand l'atelier cv", FixedNlu("workshop_signup"), effects=Seats())

    assert "jeudi 3 décembre, 14h" in reply(shown)


def test_a_full_workshop_says_so_and_oui_puts_the_person_on_the_waiting_list(flows: Flows) -> None:
    effects = Seats(left=0, result="waiting")
    shown = say(flows, "atelier budget", FixedNlu("workshop_signup"), effects=effects)

    assert "C'est complet, mais vous pouvez vous mettre sur la liste d'attente." in reply(shown)
    waiting = say(flows, "oui", FixedNlu("workshop_signup"), shown.state, effects)
    assert waiting.state.step == "workshop_waiting"


def test_with_the_nlu_down_a_named_workshop_is_still_answered(flows: Flows) -> None:
    for text, key in (("atelier cv", CV), ("smartphone", SMARTPHONE)):
        outcome = say(flows, text, DownNlu(), effects=Seats())
        assert (outcome.state.step, outcome.state.data.get("workshop")) == ("workshop_confirm", key), text


def test_the_next_workshop_comes_first(flows: Flows) -> None:
    outcome = say(flows, "c'est quand le prochain atelier", FixedNlu("workshop_signup"), effects=Seats())

    assert outcome.state.step == "workshops"
    assert numbered(outcome)[0] == "1 Faire son CV - jeudi 3 décembre, 14h"
    assert len(numbered(outcome)) == len(flows.workshops)


def test_workshops_named_as_much_list_only_those(flows: Flows) -> None:
    outcome = say(flows, "atelier cv ou budget", FixedNlu("workshop_signup"), effects=Seats())

    assert outcome.state.step == "workshops"
    assert numbered(outcome) == ["1 Faire son CV - jeudi 3 décembre, 14h", "2 Gérer son budget - jeudi 10 décembre, 9h30"]
    picked = say(flows, "2", FixedNlu("workshop_signup"), outcome.state, Seats())
    assert (picked.state.step, picked.state.data["workshop"]) == ("workshop_confirm", BUDGET)


@pytest.mark.parametrize("nlu", [FixedNlu("workshop_cancel"), DownNlu()], ids=["nlu", "nlu down"])
def test_cancelling_a_named_workshop_still_cancels(flows: Flows, nlu: object) -> None:
    effects = Seats(result="cancelled")
    outcome = say(flows, "annuler l'atelier cv", nlu, effects=effects)

    assert [action for action, _ in effects.calls] == ["cancel"]
    assert outcome.state.step == "workshop_cancelled"
    assert "Répondez OUI" not in reply(outcome)


def test_a_procedure_word_read_as_a_workshop_question_goes_to_the_procedure(flows: Flows) -> None:
    # the NLU says "workshop" (m'inscrire), but only a procedure is named: the words win
    outcome = say(flows, "je veux m'inscrire pour un logement social", FixedNlu("workshop_signup"), effects=Seats())

    assert outcome.state.step == "proc_housing"


def test_a_workshop_named_with_its_kind_wins_over_a_procedure_of_the_same_word(flows: Flows) -> None:
    outcome = say(flows, "atelier logement", FixedNlu("admin_procedure"), effects=Seats())

    assert (outcome.state.step, outcome.state.data.get("workshop")) == ("workshop_confirm", "logement-2027-01-21")


# --- hours: a question about one day gets that day, in every language -------------------------


@pytest.mark.parametrize(("text", "lang", "expected"), [
    ("vous êtes ouverts jeudi aprem ?", "fr", "Jeudi : ouvert de 9h à 12h et de 13h30 à 16h30"),
    ("zijn jullie donderdagmiddag open?", "nl", "Donderdag"),
    ("are you open thursday afternoon?", "en", "Thursday"),
])
def test_a_question_about_one_day_gets_that_day(flows: Flows, text: str, lang: str, expected: str) -> None:
    for nlu in (FixedNlu("opening_hours"), DownNlu()):
        outcome = say(flows, text, nlu, State(lang=lang, lang_locked=True))
        assert outcome.state.step == "hours"
        assert expected in reply(outcome), reply(outcome)
        assert {"fr": "13h30", "nl": "13u30", "en": "1:30pm"}[lang] in reply(outcome)
        assert "Nous rouvrons" not in reply(outcome) and "lun-ven" not in reply(outcome).lower()


# --- the matching and the checker ------------------------------------------------------------


def test_the_longer_word_wins_where_two_overlap() -> None:
    entries = [naming.Entry("letter", ("letter",)), naming.Entry("taxes", ("tax letter", "tax"))]

    assert naming.named("I got a tax letter", entries) == ["taxes"]
    assert naming.named("a letter and a tax", entries) == ["letter", "taxes"]
    assert naming.named("nothing here", entries) == []


def test_a_short_word_gets_no_typo_and_the_first_letter_is_never_the_typo() -> None:
    entries = [naming.Entry("family", ("caf", "allocation")), naming.Entry("housing", ("loyer",))]

    assert naming.named("cafe", entries) == []
    assert naming.named("foyer", entries) == []
    assert naming.named("a location", entries) == []
    assert naming.named("alocation", entries) == ["family"]


def test_flows_check_reports_a_word_that_names_two_procedures(tmp_path: Path) -> None:
    folder = Path(shutil.copytree(FLOWS_DIR, tmp_path / "flows"))
    path = folder / "procedures.yml"
    text = path.read_text(encoding="utf-8")
    old = "          fr: [ris, revenu dintegration"
    path.write_text(text.replace(old, "          fr: [caf, ris, revenu dintegration"), encoding="utf-8")
    line = text[: text.index(old)].count("\n") + 1

    report = check_dir(folder)

    assert [(p.file, p.line) for p in report.errors] == [("procedures.yml", line)]
    message = report.errors[0].message
    assert message.startswith("the word 'caf' (fr) of choice 2 of step 'procedures' leads to 'proc_income', "
                              "but it also names choice 6 (procedures.yml:")
    assert message.endswith("which leads to 'proc_family'; a word can lead to one choice of a list only: "
                            "remove it from one of them")


def test_flows_check_reports_a_word_that_names_two_workshops_but_not_two_sessions(tmp_path: Path) -> None:
    folder = Path(shutil.copytree(FLOWS_DIR, tmp_path / "flows"))
    path = folder / "workshops.yml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("      fr: [budget, gerer son argent", "      fr: [cv, budget, gerer son argent"),
                    encoding="utf-8")

    errors = check_dir(folder).errors

    assert len(errors) == 1 and errors[0].file == "workshops.yml"
    assert "the word 'cv' (fr) of workshop" in errors[0].message and "a word can name one workshop only" in errors[0].message
    session = text.replace("workshops:\n", "workshops:\n  cv-2027-02-04:\n"
                           "    title: {fr: \"Faire son CV\", nl: \"Je cv maken\", en: \"Write your CV\"}\n"
                           "    date: 2027-02-04\n    time: \"14:00-16:00\"\n"
                           "    place: {fr: \"Salle 2\", nl: \"Zaal 2\", en: \"Room 2\"}\n    seats: 10\n"
                           "    keywords: {fr: [cv], nl: [cv], en: [cv]}\n", 1)
    path.write_text(session, encoding="utf-8")
    assert check_dir(folder).errors == []


@pytest.mark.parametrize(("text", "intent"), [
    ("kan ik nog meedoen met de workshop van dinsdag", "workshop_signup"),  # no cancelling word: a sign-up
    ("je peux encore venir a l'atelier ?", "workshop_signup"),
    ("je ne pourrai pas venir a l'atelier", "workshop_cancel"),
    ("retirez moi de l'atelier budget", "workshop_cancel"),
    ("please take me off the workshop list", "workshop_cancel"),
])
def test_a_cancellation_needs_a_cancelling_word(text: str, intent: str) -> None:
    from bot.core.engine import Interpretation, by_names

    flows = load_flows(FLOWS_DIR)
    assert by_names(Interpretation("workshop_cancel", 0.99, "nlu"), text, flows).intent == intent
