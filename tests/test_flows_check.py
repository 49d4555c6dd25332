"""The flow checker (bot.core.flows.check_dir): each kind of problem with its file, line and reason."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

import bot.services.flows_store
from bot import create_app
from bot.core.flows import FlowError, Problem, check_dir
from bot.services.flows_store import FlowsStore

ROOT = Path(__file__).resolve().parent.parent
FLOWS_DIR = ROOT / "flows"

# A small folder that passes every check: the shapes of the real one, few steps.
CENTRE = """\
centre:
  name: {fr: le centre de test, nl: het testcentrum, en: the test centre}
  country: BE
  timezone: Europe/Brussels
  languages: [fr, nl, en]
hours:
  monday: ["09:00-12:00"]
  tuesday: ["09:00-12:00", "13:30-16:30"]
emergency:
  BE:
    - number: "112"
      label: {fr: urgences, nl: noodnummer, en: emergency}
texts:
  hours_open_now: {fr: "Ouvert jusqu'à {until}.", nl: "Open tot {until}.", en: "Open until {until}."}
  hours_closed_now: {fr: "Fermé", nl: "Gesloten", en: "Closed"}
  hours_next: {fr: "Nous rouvrons {when}.", nl: "Open {when}.", en: "We open {when}."}
  hours_no_next: {fr: "Date inconnue.", nl: "Onbekend.", en: "Unknown."}
  hours_day_open: {fr: "{day} : {slots}.", nl: "{day}: {slots}.", en: "{day}: {slots}."}
  hours_day_closed: {fr: "{day} : fermé", nl: "{day}: gesloten", en: "{day}: closed"}
  hours_week: {fr: "Horaires : {week}.", nl: "Uren: {week}.", en: "Hours: {week}."}
  slot: {fr: "de {start} à {end}", nl: "van {start} tot {end}", en: "from {start} to {end}"}
  and: {fr: " et ", nl: " en ", en: " and "}
  at_time: {fr: "{day} à {time}", nl: "{day} om {time}", en: "{day} at {time}"}
  today: {fr: "aujourd'hui", nl: vandaag, en: today}
  tomorrow: {fr: demain, nl: morgen, en: tomorrow}
  holiday: {fr: jour férié, nl: feestdag, en: public holiday}
  closure: {fr: fermeture, nl: sluiting, en: closure}
  open_now_short: {fr: "aujourd'hui", nl: vandaag, en: today}
"""

MENU = """\
start: menu
human: talk

steps:
  menu:
    say: {fr: "Répondez avec un chiffre :", nl: "Antwoord met een cijfer:", en: "Reply with a number:"}
    choices:
      - label: {fr: Horaires, nl: Uren, en: Hours}
        goto: hours
        keywords: {fr: [heures], nl: [uren], en: [hours]}
      - label: {fr: Oui, nl: Ja, en: "Yes"}
        goto: talk
        keywords: {fr: [oui], nl: [ja], en: ["yes"]}

  hours:
    say:
      fr: "{hours}\\nTapez 0 pour parler à quelqu'un."
      nl: "{hours}\\nStuur 0 om met iemand te praten."
      en: "{hours}\\nSend 0 to talk to someone."

  talk:
    open_case: normal
    say: {fr: "C'est noté ({reference}).", nl: "Genoteerd ({reference}).", en: "Noted ({reference})."}

  urgent:
    open_case: urgent
    say: {fr: "Appelez :\\n{emergency}", nl: "Bel:\\n{emergency}", en: "Call:\\n{emergency}"}

  not_understood:
    say: {fr: "Pas compris.", nl: "Niet begrepen.", en: "Not understood."}
    next: menu

  media_only:
    say: {fr: "Écrivez en mots, ou 0.", nl: "Schrijf in woorden, of 0.", en: "Write in words, or 0."}

  empty:
    say: {fr: "Message vide.", nl: "Leeg bericht.", en: "Empty message."}
    next: menu

  goodbye:
    say: {fr: "Au revoir.", nl: "Tot ziens.", en: "Bye."}

  stop:
    do: stop
    say: {fr: "Plus de messages.", nl: "Geen berichten meer.", en: "No more messages."}

  restart:
    do: start
    say: {fr: "De retour.", nl: "Terug.", en: "Back."}
    next: menu

  opted_out:
    say: {fr: "Répondez OUI pour revenir.", nl: "Antwoord JA om terug te komen.", en: "Reply YES to come back."}

intents:
  greet:
    step: menu
    keywords: {fr: [bonjour], nl: [hallo], en: [hello]}
  goodbye:
    step: goodbye
    keywords: {fr: [merci], nl: [bedankt], en: [thanks]}

keywords:
  menu:
    goto: menu
    words: {fr: [menu], nl: [menu], en: [menu]}
  offer_yes:
    goto: talk
    words: {fr: [oui], nl: [ja], en: ["yes"]}

texts:
  human_choice: {fr: "0 Parler à quelqu'un", nl: "0 Met iemand praten", en: "0 Talk to someone"}
  flow_changed: {fr: "Le menu a changé.", nl: "Het menu is veranderd.", en: "The menu changed."}
  eta_open: {fr: "Réponse aujourd'hui.", nl: "Antwoord vandaag.", en: "Answer today."}
  eta_oncall: {fr: "De garde prévenu.", nl: "Wacht verwittigd.", en: "On call knows."}
  eta_next: {fr: "Réponse {when}.", nl: "Antwoord {when}.", en: "Answer {when}."}
"""

INBOX = """\
texts:
  claimed: {fr: "Un travailleur social vous répond.", nl: "Een werker antwoordt.", en: "A worker answers."}
  handed_back: {fr: "Le robot répond. 0 pour quelqu'un.", nl: "De robot antwoordt.", en: "The robot answers."}
"""

WORKSHOPS = """\
workshops:
  cv-2027-03-04:
    title: {fr: "Faire son CV", nl: "Je cv maken", en: "Write your CV"}
    date: 2027-03-04
    time: "14:00-16:00"
    place: {fr: "Salle 2", nl: "Zaal 2", en: "Room 2"}
    seats: 10
"""


@pytest.fixture
def flows_dir(tmp_path: Path) -> Path:
    """A minimal valid flows folder, safe to break."""
    directory = tmp_path / "flows"
    directory.mkdir()
    for name, text in {"centre.yml": CENTRE, "menu.yml": MENU, "inbox.yml": INBOX,
                       "workshops.yml": WORKSHOPS}.items():
        (directory / name).write_text(text, encoding="utf-8")
    return directory


def edit(path: Path, old: str, new: str, first: bool = False) -> int:
    """Replace old (there once, or its first time) by new; return the 1-based line where old began."""
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1 or (first and old in text), f"{old!r} is not in {path.name} exactly once"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return text[: text.index(old)].count("\n") + 1


def line_of(path: Path, fragment: str) -> int:
    """The 1-based line of the first occurrence of fragment."""
    text = path.read_text(encoding="utf-8")
    assert fragment in text, fragment
    return text[: text.index(fragment)].count("\n") + 1


def only_error(directory: Path, **kwargs: int) -> Problem:
    """The one error the folder has."""
    report = check_dir(directory, **kwargs)
    assert len(report.errors) == 1, "\n".join(map(str, report.problems))
    assert report.flows is None and not report.ok
    return report.errors[0]


# --- a valid folder -----------------------------------------------------------------------


def test_the_minimal_folder_passes(flows_dir: Path) -> None:
    report = check_dir(flows_dir)

    assert report.problems == []
    assert report.ok
    assert report.flows is not None and report.flows.start == "menu"


def test_the_real_flows_folder_has_no_error() -> None:
    report = check_dir(FLOWS_DIR)

    assert report.errors == [], "\n".join(map(str, report.errors))
    assert report.flows is not None


def test_a_warm_check_of_the_real_folder_takes_well_under_a_second() -> None:
    check_dir(FLOWS_DIR)  # warm: the crisis lexicon is compiled, the files are parsed
    started = time.perf_counter()
    check_dir(FLOWS_DIR)

    assert time.perf_counter() - started < 1.0


def test_a_problem_reads_file_line_level_and_reason() -> None:
    problem = Problem("menu.yml", 12, "error", "step 'hours' goes to 'hour', which is not a step")

    assert str(problem) == "menu.yml:12: error: step 'hours' goes to 'hour', which is not a step"
    assert str(Problem("centre.yml", None, "warning", "x")) == "centre.yml: warning: x"


# --- 1. YAML --------------------------------------------------------------------------------


def test_invalid_yaml_is_an_error_with_its_file_and_line(flows_dir: Path) -> None:
    line = edit(flows_dir / "menu.yml", "        goto: hours\n", "        goto: hours\n       bad: [x\n") + 1

    error = only_error(flows_dir)

    assert (error.file, error.line) == ("menu.yml", line)
    assert "not valid YAML" in error.message


def test_a_key_written_twice_in_a_section_is_an_error(flows_dir: Path) -> None:
    menu = flows_dir / "menu.yml"
    first = line_of(menu, "  goodbye:\n    say:")
    second = edit(menu, "\nintents:\n", "\n  goodbye:\n    say: {fr: a, nl: b, en: c}\n\nintents:\n") + 1

    error = only_error(flows_dir)

    assert (error.file, error.line) == ("menu.yml", second)
    assert f"'goodbye' is written twice in the same place (also on line {first})" in error.message


# --- 2. schema ------------------------------------------------------------------------------


def test_an_unknown_key_is_an_error_with_a_suggestion(flows_dir: Path) -> None:
    menu = flows_dir / "menu.yml"
    line = edit(menu, "  goodbye:\n    say:", "  goodbye:\n    sya:") + 1

    error = only_error(flows_dir)

    assert (error.file, error.line) == ("menu.yml", line)
    assert error.message == "step 'goodbye' has 'sya', which is not known here; did you mean 'say'?"


def test_a_wrong_type_is_an_error_in_plain_words(flows_dir: Path) -> None:
    line = edit(flows_dir / "workshops.yml", "    seats: 10", "    seats: ten")

    error = only_error(flows_dir)

    assert (error.file, error.line) == ("workshops.yml", line)
    assert error.message == "'seats' of workshop 'cv-2027-03-04' must be a number"


def test_an_unknown_action_is_an_error_naming_the_allowed_ones(flows_dir: Path) -> None:
    line = edit(flows_dir / "menu.yml", "    open_case: normal\n", "    open_case: normal\n    do: signpu\n") + 1

    error = only_error(flows_dir)

    assert (error.file, error.line) == ("menu.yml", line)
    assert "'do' of step 'talk' is 'signpu'" in error.message
    assert "did you mean 'signup'?" in error.message


def test_a_comma_inside_an_unquoted_text_is_explained(flows_dir: Path) -> None:
    line = edit(flows_dir / "centre.yml", "label: {fr: urgences,", "label: {fr: urgences, pompiers,")

    error = only_error(flows_dir)

    assert (error.file, error.line) == ("centre.yml", line)
    assert "'pompiers', which is not a language" in error.message
    assert "must be in quotes" in error.message


def test_an_unquoted_date_in_quotes_and_a_yes_without_quotes_are_errors(flows_dir: Path) -> None:
    date_line = edit(flows_dir / "workshops.yml", "date: 2027-03-04", 'date: "2027-03-04"')
    yes_line = edit(flows_dir / "menu.yml", '    words: {fr: [oui], nl: [ja], en: ["yes"]}',
                    "    words: {fr: [oui], nl: [ja], en: [yes]}")

    report = check_dir(flows_dir)

    found = {(p.file, p.line): p.message for p in report.errors}
    assert "without quotes" in found[("workshops.yml", date_line)]
    assert "put the word in quotes" in found[("menu.yml", yes_line)]


def test_a_rota_naming_someone_unknown_is_an_error(flows_dir: Path) -> None:
    (flows_dir / "oncall.yml").write_text(
        "oncall:\n"
        "  people:\n"
        "    aicha: {name: Aicha, phone: \"+32470100001\"}\n"
        "  rota:\n"
        "    - days: [monday]\n"
        "      from: \"16:30\"\n"
        "      to: \"09:00\"\n"
        "      primary: aisha\n", encoding="utf-8")

    error = only_error(flows_dir)

    assert (error.file, error.line) == ("oncall.yml", 8)
    assert error.message == "rota line 1 names 'aisha' as primary, who is not under people; did you mean 'aicha'?"


def test_a_step_defined_in_two_files_is_an_error(flows_dir: Path) -> None:
    (flows_dir / "extra.yml").write_text("steps:\n  goodbye:\n    say: {fr: a 0, nl: b 0, en: c 0}\n",
                                         encoding="utf-8")
    menu_line = line_of(flows_dir / "menu.yml", "  goodbye:")

    error = only_error(flows_dir)

    assert (error.file, error.line) == ("menu.yml", menu_line)
    assert error.message == "step 'goodbye' is defined twice (also in extra.yml:2); keep only one"


# --- 3. texts -------------------------------------------------------------------------------


def test_a_text_missing_in_a_language_is_an_error(flows_dir: Path) -> None:
    line = edit(flows_dir / "menu.yml", 'say: {fr: "Au revoir.", nl: "Tot ziens.", en: "Bye."}',
                'say: {fr: "Au revoir.", en: "Bye."}')

    error = only_error(flows_dir)

    assert (error.file, error.line) == ("menu.yml", line)
    assert error.message == "the text of step 'goodbye' has no text in nl"


def test_every_missing_language_is_reported_not_only_the_first(flows_dir: Path) -> None:
    edit(flows_dir / "menu.yml", 'say: {fr: "Au revoir.", nl: "Tot ziens.", en: "Bye."}', 'say: {fr: "Au revoir."}')
    edit(flows_dir / "inbox.yml", 'nl: "Een werker antwoordt.", ', "")

    report = check_dir(flows_dir)

    assert {(p.file, p.message) for p in report.errors} == {
        ("menu.yml", "the text of step 'goodbye' has no text in nl, en"),
        ("inbox.yml", "text 'claimed' has no text in nl"),
    }


def test_an_unknown_placeholder_is_an_error_with_a_suggestion(flows_dir: Path) -> None:
    line = edit(flows_dir / "menu.yml", 'nl: "Genoteerd ({reference}).",', 'nl: "Genoteerd ({referense}).",')

    error = only_error(flows_dir)

    assert (error.file, error.line) == ("menu.yml", line)
    assert "step 'talk' (nl) uses an unknown placeholder {referense}; did you mean {reference}?" in error.message


# --- 3b. the centre's name in a sentence ------------------------------------------------------

GOODBYE = 'say: {fr: "Au revoir.", nl: "Tot ziens.", en: "Bye."}'
NAME = "name: {fr: le centre de test, nl: het testcentrum, en: the test centre}"


def test_de_before_a_name_starting_with_le_is_an_error_naming_the_form_and_its_line(flows_dir: Path) -> None:
    line = edit(flows_dir / "menu.yml", GOODBYE,
                'say: {fr: "Au revoir de {centre}.", nl: "Tot ziens.", en: "Bye."}')

    error = only_error(flows_dir)

    assert (error.file, error.line) == ("menu.yml", line)
    assert str(error) == (f"menu.yml:{line}: error: the text of step 'goodbye' (fr) has 'de {{centre}}' (it reads "
                          "'de le centre de test'), which is not French: write {centre_de} ('du centre de test') "
                          "instead of 'de {centre}'")


def test_a_le_before_the_name_in_a_multiline_text_is_reported_at_its_language_line(flows_dir: Path) -> None:
    edit(flows_dir / "menu.yml", GOODBYE,
         'say:\n      fr: "Au revoir."\n      nl: "Tot ziens."\n      en: "Bye from the {centre}."')
    line = line_of(flows_dir / "menu.yml", 'en: "Bye from the {centre}."')

    error = only_error(flows_dir)

    assert (error.file, error.line) == ("menu.yml", line)
    assert "(en) has 'the {centre}' (it reads 'the the test centre'), two articles in a row" in error.message


def test_literal_de_le_cpas_is_an_error_and_de_le_renouveler_is_not(flows_dir: Path) -> None:
    line = edit(flows_dir / "menu.yml", GOODBYE,
                'say: {fr: "Merci de le renouveler. Le robot de le CPAS.", nl: "Tot ziens.", en: "Bye."}')

    error = only_error(flows_dir)

    assert (error.file, error.line) == ("menu.yml", line)
    assert error.message == ("the text of step 'goodbye' (fr) has 'de le CPAS', which is not French: write "
                             "'du CPAS' (for the centre's name, {centre_de})")


def test_the_forms_read_right_and_are_filled_in(flows_dir: Path) -> None:
    edit(flows_dir / "menu.yml", GOODBYE, 'say: {fr: "{Centre} vous dit au revoir, venez {centre_a}.", '
                                          'nl: "Tot ziens {centre_de}.", en: "Bye {centre_de}."}')

    report = check_dir(flows_dir)

    assert report.problems == []
    assert report.flows is not None and report.flows.centre_forms["fr"] == {
        "plain": "le centre de test", "de": "du centre de test", "a": "au centre de test"}


def test_the_name_may_be_written_with_its_forms_which_win(flows_dir: Path) -> None:
    edit(flows_dir / "centre.yml", NAME, 'name:\n    fr: {plain: "le Relais", de: "du Relais", '
                                         'a: "chez le Relais"}\n    nl: het Relais\n    en: {plain: the Relais}')
    edit(flows_dir / "menu.yml", GOODBYE, 'say: {fr: "Venez {centre_a}.", nl: "Tot ziens.", en: "Bye."}')

    report = check_dir(flows_dir)

    assert report.problems == [] and report.flows is not None
    assert report.flows.name == {"fr": "le Relais", "nl": "het Relais", "en": "the Relais"}
    assert report.flows.centre_forms["fr"]["a"] == "chez le Relais"
    assert report.flows.centre_forms["en"]["de"] == "of the Relais"


def test_a_written_form_is_checked_too(flows_dir: Path) -> None:
    line = edit(flows_dir / "centre.yml", NAME,
                'name:\n    fr: {plain: "le CPAS", de: "de le CPAS"}\n    nl: het OCMW\n    en: the centre') + 1

    error = only_error(flows_dir)

    assert (error.file, error.line) == ("centre.yml", line)
    assert error.message.startswith("the centre's name (fr, de) has 'de le CPAS', which is not French")


@pytest.mark.parametrize(("name", "message"), [
    ('{fr: {plain: "le CPAS", du: "du CPAS"}, nl: het OCMW, en: the centre}',
     "the centre's name (fr) has 'du', which is not known here; it can have plain, de, a"),
    ('{fr: {de: "du CPAS"}, nl: het OCMW, en: the centre}', "the centre's name (fr) needs 'plain'"),
    ('{fr: le CPAS, de: du CPAS, nl: het OCMW, en: the centre}',
     "the centre's name has 'de', which is not a language (fr, nl, en); a text with a comma or a colon "
     "inside {...} must be in quotes"),
])
def test_the_schema_refuses_a_name_in_another_shape(flows_dir: Path, name: str, message: str) -> None:
    line = edit(flows_dir / "centre.yml", NAME, f"name: {name}")

    error = only_error(flows_dir)

    assert (error.file, error.line, error.message) == ("centre.yml", line, message)


def test_the_a_form_in_dutch_must_be_written_or_avoided(flows_dir: Path) -> None:
    line = edit(flows_dir / "menu.yml", GOODBYE, 'say: {fr: "Venez {centre_a}.", nl: "Kom {centre_a}.", en: "Bye."}')

    error = only_error(flows_dir)

    assert (error.file, error.line) == ("menu.yml", line)
    assert error.message == ("the text of step 'goodbye' (nl) uses {centre_a}, which has no form in nl: write "
                             "'naar {centre}', 'bij {centre}' or 'aan {centre}' as the sentence needs")


def test_a_sentence_starting_with_the_name_in_small_letters_is_a_warning(flows_dir: Path) -> None:
    line = edit(flows_dir / "menu.yml", GOODBYE, 'say: {fr: "{centre} vous dit au revoir.", nl: "Tot ziens.", '
                                                 'en: "Bye."}')

    report = check_dir(flows_dir)

    assert report.ok and [(w.file, w.line) for w in report.warnings] == [("menu.yml", line)]
    assert "write {Centre} for 'Le centre de test'" in report.warnings[0].message


def test_a_text_the_bot_needs_is_required(flows_dir: Path) -> None:
    edit(flows_dir / "menu.yml", '  flow_changed: {fr: "Le menu a changé.", nl: "Het menu is veranderd.", '
                                 'en: "The menu changed."}\n', "")

    error = only_error(flows_dir)

    assert error.file == "menu.yml"
    assert "the text 'flow_changed' is missing" in error.message


# --- 5. references --------------------------------------------------------------------------


@pytest.mark.parametrize(("old", "new", "what"), [
    ("        goto: hours\n", "        goto: hour\n", "choice 1 of step 'menu' goes to 'hour'"),
    ("    say: {fr: \"Pas compris.\", nl: \"Niet begrepen.\", en: \"Not understood.\"}\n    next: menu\n",
     "    say: {fr: \"Pas compris.\", nl: \"Niet begrepen.\", en: \"Not understood.\"}\n    next: menuu\n",
     "step 'not_understood' goes to 'menuu'"),
    ("    step: goodbye\n", "    step: goodbey\n", "intent 'goodbye' goes to 'goodbey'"),
    ("    goto: talk\n    words:", "    goto: tlak\n    words:", "keyword 'offer_yes' goes to 'tlak'"),
])
def test_a_reference_to_a_missing_step_is_an_error_at_its_line(flows_dir: Path, old: str, new: str,
                                                               what: str) -> None:
    menu = flows_dir / "menu.yml"
    line = edit(menu, old, new) + old.count("\n") - 1

    report = check_dir(flows_dir)

    error = next(p for p in report.errors if "which is not a step" in p.message)
    assert (error.file, error.line) == ("menu.yml", line)
    assert error.message.startswith(f"{what}, which is not a step")


def test_a_do_result_that_leads_nowhere_and_a_missing_result_are_errors(flows_dir: Path) -> None:
    (flows_dir / "cancel.yml").write_text(
        "steps:\n"
        "  cancel:\n"
        "    do: cancel\n"
        "    results:\n"
        "      cancelled: goodbye\n"
        "      nne: goodbye\n"
        "keywords:\n"
        "  cancel:\n"
        "    goto: cancel\n"
        "    words: {fr: [annuler]}\n", encoding="utf-8")

    report = check_dir(flows_dir)

    found = {(p.file, p.line): p.message for p in report.errors}
    assert found == {
        ("cancel.yml", 3): "step 'cancel' does 'cancel' but does not say where the result 'none' leads "
                           "(add it under results:)",
        ("cancel.yml", 6): "step 'cancel' lists the result 'nne', which 'cancel' never gives; "
                           "did you mean 'none'?",
    }


def test_a_step_the_engine_needs_must_exist(flows_dir: Path) -> None:
    edit(flows_dir / "menu.yml", "  media_only:\n", "  media_only_old:\n")

    report = check_dir(flows_dir)

    messages = [p.message for p in report.errors]
    assert any(m.startswith("the step 'media_only' is missing") for m in messages)


# --- 6. graph -------------------------------------------------------------------------------


def test_an_unreachable_step_is_an_error(flows_dir: Path) -> None:
    line = edit(flows_dir / "menu.yml", "\nintents:\n",
                "\n  orphan:\n    say: {fr: \"0 ?\", nl: \"0 ?\", en: \"0 ?\"}\n\nintents:\n") + 1

    error = only_error(flows_dir)

    assert (error.file, error.line) == ("menu.yml", line + 1)
    assert error.message.startswith("step 'orphan' cannot be reached")


def test_a_dead_end_without_a_way_to_a_person_is_an_error(flows_dir: Path) -> None:
    line = edit(flows_dir / "menu.yml", 'en: "Write in words, or 0."}', 'en: "Write in words."}')

    error = only_error(flows_dir)

    assert (error.file, error.line) == ("menu.yml", line)
    assert error.message.startswith("step 'media_only' ends the conversation without saying how to "
                                    "reach a person (in en)")


def test_the_exempt_steps_may_end_without_mentioning_0(flows_dir: Path) -> None:
    # goodbye and the human step (talk) end the turn without a 0: allowed by FORMAT.md
    assert check_dir(flows_dir).problems == []


def test_a_loop_of_next_steps_is_an_error(flows_dir: Path) -> None:
    edit(flows_dir / "menu.yml", "    say: {fr: \"Message vide.\", nl: \"Leeg bericht.\", en: \"Empty message.\"}\n"
                                 "    next: menu\n",
         "    say: {fr: \"Message vide.\", nl: \"Leeg bericht.\", en: \"Empty message.\"}\n    next: empty\n")

    report = check_dir(flows_dir)

    assert any("loop" in p.message and "empty -> empty" in p.message for p in report.errors)


# --- 7. keywords ----------------------------------------------------------------------------


def test_a_keyword_word_leading_to_two_steps_is_an_error_naming_both_places(flows_dir: Path) -> None:
    menu_line = line_of(flows_dir / "menu.yml", "    words: {fr: [oui]")
    (flows_dir / "extra.yml").write_text(
        "keywords:\n"
        "  yes_menu:\n"
        "    goto: menu\n"
        "    words: {fr: [Oui!], en: [sure]}\n", encoding="utf-8")

    error = only_error(flows_dir)

    # the files are read in name order: extra.yml first, so the error is on menu.yml's line
    assert (error.file, error.line) == ("menu.yml", menu_line)
    assert error.message == ("the word 'oui' (fr) of keyword 'offer_yes' leads to 'talk', but keyword "
                             "'yes_menu' (extra.yml:4) uses it for 'menu'; a word can lead to one step only")


def test_an_intent_word_leading_to_two_steps_is_an_error(flows_dir: Path) -> None:
    line = edit(flows_dir / "menu.yml", "keywords: {fr: [merci], nl: [bedankt]",
                "keywords: {fr: [merci, Bonjour], nl: [bedankt]")

    error = only_error(flows_dir)

    assert (error.file, error.line) == ("menu.yml", line)
    assert "the word 'bonjour' (fr) of intent 'goodbye' leads to 'goodbye', but intent 'greet'" in error.message


def test_a_choice_word_equal_to_a_global_keyword_is_allowed(flows_dir: Path) -> None:
    # "oui" is both the menu's choice 2 keyword and the global keyword offer_yes (FORMAT.md)
    menu = (flows_dir / "menu.yml").read_text(encoding="utf-8")
    assert "keywords: {fr: [oui]" in menu and "words: {fr: [oui]" in menu

    assert check_dir(flows_dir).problems == []


# --- 8. SMS budget --------------------------------------------------------------------------


def test_a_reply_over_the_sms_budget_is_an_error(flows_dir: Path) -> None:
    long_text = " ".join(["Un texte beaucoup trop long pour un SMS."] * 14)  # about 570 characters
    line = edit(flows_dir / "menu.yml", 'say: {fr: "Au revoir.",', f'say: {{fr: "{long_text}",')

    error = only_error(flows_dir)

    assert (error.file, error.line) == ("menu.yml", line)
    assert error.message == "step 'goodbye' takes 4 SMS in fr on a basic phone; the limit is 3: shorten it"
    assert check_dir(flows_dir, max_segments=4).ok


def test_the_budget_counts_the_placeholders_and_the_menu_lines(flows_dir: Path) -> None:
    # as written, 132 characters: 1 SMS. As sent: 120 x, a space, "112 : urgences" and the
    # numbered menu ("1 Horaires", "2 Oui", "0 Parler à quelqu'un"): 172 characters, 2 SMS.
    edit(flows_dir / "menu.yml", 'say: {fr: "Répondez avec un chiffre :",', f'say: {{fr: "{"x" * 120} {{emergency}}",')

    report = check_dir(flows_dir, max_segments=1)

    messages = [p.message for p in report.errors]
    assert "step 'menu' takes 2 SMS in fr on a basic phone; the limit is 1: shorten it" in messages


def test_a_reply_and_the_steps_said_after_it_are_counted_together(flows_dir: Path) -> None:
    text = "y" * 140  # alone 1 SMS; with the menu said after it (next: menu), 2 SMS
    line = line_of(flows_dir / "menu.yml", "  not_understood:")
    edit(flows_dir / "menu.yml", 'say: {fr: "Pas compris.",', f'say: {{fr: "{text}",')

    report = check_dir(flows_dir, max_segments=1)

    error = next(p for p in report.errors if "'not_understood' starts" in p.message)
    assert (error.file, error.line) == ("menu.yml", line + 1)
    assert "with 'menu' said after it" in error.message and "2 SMS in fr" in error.message


def test_a_character_that_forces_ucs2_is_a_warning(flows_dir: Path) -> None:
    line = edit(flows_dir / "menu.yml", 'say: {fr: "Au revoir.",', 'say: {fr: "Au revoir 🙂",')

    report = check_dir(flows_dir)

    assert report.ok and report.errors == []
    (warning,) = report.warnings
    assert (warning.file, warning.line, warning.level) == ("menu.yml", line, "warning")
    assert warning.message.startswith("the text of step 'goodbye' (fr) has 🙂")
    assert "UCS-2" in warning.message


def test_characters_gsm7_can_spell_are_not_warned_about(flows_dir: Path) -> None:
    # ’ « » œ ê are converted (' " oe e) by bot.core.sms.prepare before counting
    edit(flows_dir / "menu.yml", 'say: {fr: "Au revoir.",', 'say: {fr: "« Au revoir » l’œuvre fête",')

    assert check_dir(flows_dir).problems == []


# --- overrides (the admin page's unsaved edit) ----------------------------------------------


def test_an_unsaved_edit_is_checked_without_touching_the_folder(flows_dir: Path) -> None:
    menu = flows_dir / "menu.yml"
    before = menu.read_text(encoding="utf-8")
    broken = before.replace("next: menu\n", "next: menuu\n", 1)

    report = check_dir(flows_dir, overrides={"menu.yml": broken})

    assert [(p.file, "'menuu'" in p.message) for p in report.errors] == [("menu.yml", True)]
    assert menu.read_text(encoding="utf-8") == before
    assert check_dir(flows_dir, overrides={"menu.yml": before}).ok


def test_an_unsaved_new_file_is_checked_with_the_others(flows_dir: Path) -> None:
    report = check_dir(flows_dir, overrides={"more.yml": "steps:\n  more:\n    next: nowhere\n"})

    assert [(p.file, p.line) for p in report.errors] == [("more.yml", 3), ("more.yml", 3)]
    assert {p.message for p in report.errors} == {
        "step 'more' goes to 'nowhere', which is not a step",
        "step 'more' cannot be reached: no menu choice, next, result, keyword or intent leads to it",
    }
    assert not (flows_dir / "more.yml").exists()


# --- the command ----------------------------------------------------------------------------


def run_cli(*args: str, flows: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "FLOWS_DIR": str(flows), "DATABASE_URL": f"sqlite:///{flows.parent / 'cli.db'}",
           "REDIS_URL": "redis://127.0.0.1:9/0"}
    return subprocess.run([sys.executable, "-m", "flask", "--app", "bot", "flows", "check", *args],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


def test_the_command_exits_1_on_an_error_and_0_on_warnings_only(flows_dir: Path, tmp_path: Path) -> None:
    broken = Path(shutil.copytree(flows_dir, tmp_path / "broken"))
    line = edit(broken / "menu.yml", "    next: menu\n", "    next: menuu\n", first=True)
    edit(broken / "menu.yml", 'say: {fr: "Au revoir.",', 'say: {fr: "Au revoir 🙂",')

    failed = run_cli(str(broken), flows=flows_dir)
    passed = run_cli(flows=flows_dir)  # DIR defaults to FLOWS_DIR

    assert failed.returncode == 1, failed.stderr
    assert (f"menu.yml:{line}: error: step 'not_understood' goes to 'menuu', which is not a step; "
            "did you mean 'menu'?") in failed.stdout
    assert "warning:" in failed.stdout
    assert failed.stdout.strip().endswith("1 error, 1 warning")
    assert passed.returncode == 0, passed.stderr
    assert passed.stdout.strip().endswith("no problem found")


def test_the_command_checks_the_apps_own_folder_when_it_is_broken(flows_dir: Path) -> None:
    # the app starts without flows (safe replies) so that the command can still say why
    edit(flows_dir / "menu.yml", "    next: menu\n", "    next: menuu\n", first=True)

    done = run_cli(flows=flows_dir)

    assert done.returncode == 1, done.stderr
    assert "error: step 'not_understood' goes to 'menuu'" in done.stdout
    assert "Traceback" not in done.stderr


def test_an_app_started_on_broken_flows_answers_safely_and_says_why(flows_dir: Path, tmp_path: Path) -> None:
    from bot.adapters import db
    from bot.services.pipeline import SAFE_REPLY
    from tests.conftest import PUBLIC, TEST_REDIS_URL, Phone

    line = edit(flows_dir / "menu.yml", "    next: menu\n", "    next: menuu\n", first=True)
    url = f"sqlite:///{tmp_path / 'broken.db'}"
    db.upgrade(url)
    app = create_app({"TESTING": True, "FLOWS_DIR": flows_dir, "DATABASE_URL": url, "REDIS_URL": TEST_REDIS_URL,
                      "RASA_URL": "http://127.0.0.1:9", "PUBLIC_BASE_URL": PUBLIC, "DEV_MODE": True})

    replies = Phone(app).text("bonjour")
    health = app.test_client().get("/healthz")

    assert replies == [SAFE_REPLY]
    assert health.status_code == 503
    assert f"menu.yml:{line}" in health.get_json()["flows"]
    assert "nothing served" in health.get_json()["flows"]


def test_the_command_takes_max_segments(flows_dir: Path, tmp_path: Path) -> None:
    app = create_app({"TESTING": True, "FLOWS_DIR": flows_dir, "DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}",
                      "REDIS_URL": "redis://127.0.0.1:9/0"})
    edit(flows_dir / "menu.yml", 'say: {fr: "Au revoir.",', f'say: {{fr: "{"z" * 200}",')
    runner = app.test_cli_runner()

    strict = runner.invoke(args=["flows", "check", str(flows_dir), "--max-segments", "1"])
    default = runner.invoke(args=["flows", "check", str(flows_dir)])

    assert strict.exit_code == 1 and "step 'goodbye' takes 2 SMS in fr" in strict.output
    assert default.exit_code == 0, default.output


# --- the running app ------------------------------------------------------------------------


def test_the_store_refuses_an_edit_with_a_checker_error_and_keeps_serving(
    flows_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bot.services.flows_store, "CHECK_EVERY", 0)
    store = FlowsStore(flows_dir)
    before = store.get()

    # loads fine (bot.core.flows.load_flows accepts it) but leaves people with no way to a person
    line = edit(flows_dir / "menu.yml", 'en: "Write in words, or 0."}', 'en: "Write in words."}')
    served = store.get()

    assert served is before
    assert isinstance(store.last_error, FlowError)
    assert (store.last_error.file, store.last_error.line) == ("menu.yml", line)
    assert "media_only" in store.last_error.reason
    assert not store.last_report.ok

    edit(flows_dir / "menu.yml", 'en: "Write in words."}', 'en: "Write in words, or 0!"}')
    assert store.get() is not before
    assert store.last_error is None


def test_the_store_refuses_to_start_on_a_checker_error(flows_dir: Path) -> None:
    edit(flows_dir / "menu.yml", 'en: "Write in words, or 0."}', 'en: "Write in words."}')

    with pytest.raises(FlowError) as info:
        FlowsStore(flows_dir)

    assert info.value.file == "menu.yml"
    assert "reach a person" in info.value.reason
