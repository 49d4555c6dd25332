"""Opening hours (bot.core.hours) and the hours answer (bot.core.answers) on the real flows, fixed clocks."""

from __future__ import annotations

from datetime import datetime, time
from zoneinfo import ZoneInfo

import pytest

from bot.core import hours as h
from bot.core.answers import hours_answer, next_open
from bot.core.flows import Flows, load_flows
from tests.conftest import FIXED_FLOWS

FLOWS_DIR = FIXED_FLOWS
BRUSSELS = ZoneInfo("Europe/Brussels")


def at(text: str) -> datetime:
    """'2026-12-01 10:00' (a Tuesday) in Brussels."""
    return datetime.fromisoformat(text).replace(tzinfo=BRUSSELS)


@pytest.fixture(scope="module")
def flows() -> Flows:
    return load_flows(FLOWS_DIR)


def first_line(answer: str) -> str:
    return answer.split("\n")[0]


# --- now ---------------------------------------------------------------------------------


def test_it_answers_open_until_noon_on_a_tuesday_morning(flows: Flows) -> None:
    answer = hours_answer(flows, "fr", at("2026-12-01 10:00"), "vous êtes ouverts ?")

    assert "ouverts maintenant" in first_line(answer)
    assert "jusqu'à 12h" in first_line(answer)
    assert "fermés" not in answer


def test_it_answers_closed_over_lunch_and_reopening_this_afternoon(flows: Flows) -> None:
    answer = hours_answer(flows, "fr", at("2026-12-01 12:30"), "")

    assert "fermés" in first_line(answer)
    assert "aujourd'hui à 13h30" in first_line(answer)


def test_it_answers_closed_on_a_sunday_and_reopening_monday_at_9(flows: Flows) -> None:
    sunday = at("2026-12-06 11:00")

    answer = hours_answer(flows, "fr", sunday, "")

    assert h.next_opening(flows.schedule, sunday) == at("2026-12-07 09:00")
    assert "fermés" in first_line(answer)
    assert "demain à 9h" in first_line(answer)  # Monday is tomorrow


def test_it_answers_closed_on_saturday_night_reopening_monday(flows: Flows) -> None:
    answer = hours_answer(flows, "fr", at("2026-11-28 23:10"), "")

    assert "fermés" in first_line(answer)
    assert "lundi à 9h" in first_line(answer)


def test_it_answers_closed_on_a_public_holiday(flows: Flows) -> None:
    armistice = at("2026-11-11 10:00")  # a Wednesday, normally open in the morning

    answer = hours_answer(flows, "fr", armistice, "")

    assert "fermés" in first_line(answer)
    assert "jour férié" in first_line(answer)
    assert "demain à 9h" in first_line(answer)
    assert h.next_opening(flows.schedule, armistice) == at("2026-11-12 09:00")


def test_it_answers_closed_on_christmas_and_reopening_after_the_weekend(flows: Flows) -> None:
    christmas = at("2026-12-25 10:00")  # a Friday

    answer = hours_answer(flows, "fr", christmas, "")

    assert "jour férié" in first_line(answer)
    assert "lundi à 9h" in first_line(answer)
    assert h.next_opening(flows.schedule, christmas) == at("2026-12-28 09:00")


def test_it_gives_the_reason_of_an_exceptional_closure(flows: Flows) -> None:
    christmas_eve = at("2026-12-24 10:00")  # a Thursday, closed in centre.yml

    answer = hours_answer(flows, "fr", christmas_eve, "")

    assert h.open_until(flows.schedule, christmas_eve) is None
    assert "fermés" in first_line(answer)
    assert "fin d’année" in first_line(answer)
    assert "lundi à 9h" in first_line(answer)  # the 25th is a holiday, then the weekend


def test_the_answer_lists_the_week(flows: Flows) -> None:
    answer = hours_answer(flows, "fr", at("2026-12-01 10:00"), "")

    assert "lun-mar 9h-12h, 13h30-16h30" in answer
    assert "mer 9h-12h" in answer
    assert "sam" not in answer


# --- a day asked about -------------------------------------------------------------------


def test_asked_on_thursday_about_saturday_it_answers_about_saturday(flows: Flows) -> None:
    answer = hours_answer(flows, "fr", at("2026-12-03 10:00"), "vous etes ouvert samedi ?")

    assert answer.startswith("Samedi")
    assert "fermé" in answer
    assert "lundi à 9h" in answer
    assert "maintenant" not in answer  # not about today, when the centre is open


def test_asked_on_friday_about_tomorrow_it_answers_about_saturday(flows: Flows) -> None:
    answer = hours_answer(flows, "fr", at("2026-12-04 10:00"), "demain")

    assert answer.startswith("Demain")
    assert "fermé" in answer
    assert "lundi à 9h" in answer


def test_asked_on_monday_about_tomorrow_it_gives_tomorrows_slots(flows: Flows) -> None:
    answer = hours_answer(flows, "fr", at("2026-11-30 10:00"), "vous êtes ouverts demain ?")

    assert answer.startswith("Demain")
    assert "de 9h à 12h et de 13h30 à 16h30" in answer


def test_asked_about_25_12_it_answers_closed_for_the_holiday(flows: Flows) -> None:
    # Asked on Tuesday 22 December: Monday 28 is less than a week away, so "lundi".
    answer = hours_answer(flows, "fr", at("2026-12-22 10:00"), "ouvert le 25/12 ?")

    assert answer.startswith("Vendredi")
    assert "fermé" in answer
    assert "jour férié" in answer
    assert "lundi à 9h" in answer


def test_a_reopening_more_than_a_week_away_from_today_names_its_date(flows: Flows) -> None:
    # Asked on Tuesday 1 December: the reopening after Christmas is Monday 28 December,
    # not "lundi" (which the reader takes for Monday 7 December).
    answer = hours_answer(flows, "fr", at("2026-12-01 10:00"), "ouvert le 25/12 ?")

    assert answer.startswith("Vendredi 25 décembre")
    assert "lundi 28 décembre à 9h" in answer


def test_asked_about_a_closed_tomorrow_it_does_not_say_reopening_tomorrow(flows: Flows) -> None:
    # Tuesday 10 November: tomorrow is Armistice Day, the centre reopens on Thursday.
    answer = hours_answer(flows, "fr", at("2026-11-10 10:00"), "vous êtes ouverts demain ?")

    assert answer.startswith("Demain")
    assert "jour férié" in answer
    assert "jeudi à 9h" in answer
    assert "rouvrons demain" not in answer


def test_a_weekday_and_a_date_together_mean_that_date(flows: Flows) -> None:
    # Tuesday 1 December, "jeudi 24/12" is the closure day, not Thursday 3 December.
    answer = hours_answer(flows, "fr", at("2026-12-01 10:00"), "vous êtes ouverts jeudi 24/12 ?")

    assert answer.startswith("Jeudi 24 décembre")
    assert "fermé" in answer


# --- other languages ---------------------------------------------------------------------


def test_it_answers_in_dutch_with_hours_written_9u(flows: Flows) -> None:
    answer = hours_answer(flows, "nl", at("2026-11-28 23:10"), "")

    assert "gesloten" in first_line(answer)
    assert "maandag om 9u" in first_line(answer)
    assert "13u30-16u30" in answer


def test_it_answers_in_english_with_hours_written_9am(flows: Flows) -> None:
    answer = hours_answer(flows, "en", at("2026-12-01 12:30"), "")

    assert "closed" in first_line(answer)
    assert "today at 1:30pm" in first_line(answer)
    assert "9am-12pm" in answer


def test_asked_in_english_about_saturday_it_answers_about_saturday(flows: Flows) -> None:
    answer = hours_answer(flows, "en", at("2026-12-03 10:00"), "are you open saturday?")

    assert answer.startswith("Saturday")
    assert "closed" in answer
    assert "Monday at 9am" in answer


# --- hours functions ---------------------------------------------------------------------


def test_open_until_gives_the_end_of_the_current_slot(flows: Flows) -> None:
    assert h.open_until(flows.schedule, at("2026-12-01 14:00")) == at("2026-12-01 16:30")


def test_open_until_is_none_at_the_minute_a_slot_ends(flows: Flows) -> None:
    assert h.open_until(flows.schedule, at("2026-12-01 12:00")) is None


def test_open_until_counts_the_first_minute_of_a_slot_as_open(flows: Flows) -> None:
    assert h.open_until(flows.schedule, at("2026-12-01 09:00")) == at("2026-12-01 12:00")


def test_open_until_reads_a_naive_clock_as_utc(flows: Flows) -> None:
    # 08:30 UTC is 09:30 in Brussels in winter.
    assert h.open_until(flows.schedule, datetime(2026, 12, 1, 8, 30)) == at("2026-12-01 12:00")


def test_next_opening_skips_the_new_year_closure_holiday_and_weekend(flows: Flows) -> None:
    # Wednesday 30 Dec afternoon -> 31 Dec closure, 1 Jan holiday, weekend -> Monday 4 Jan.
    assert h.next_opening(flows.schedule, at("2026-12-30 12:00")) == at("2027-01-04 09:00")


def test_next_opening_skips_the_easter_weekend(flows: Flows) -> None:
    # Good Friday afternoon 2026 -> Easter Monday is a holiday -> Tuesday 7 April.
    assert h.next_opening(flows.schedule, at("2026-04-03 12:00")) == at("2026-04-07 09:00")


def test_next_opening_is_the_afternoon_slot_while_open_in_the_morning(flows: Flows) -> None:
    assert h.next_opening(flows.schedule, at("2026-12-01 09:00")) == at("2026-12-01 13:30")


def test_next_open_says_today_while_open(flows: Flows) -> None:
    assert next_open(flows, "fr", at("2026-12-01 10:00")) == flows.text("open_now_short", "fr")


def test_next_open_gives_the_day_and_hour_when_closed(flows: Flows) -> None:
    assert next_open(flows, "fr", at("2026-11-28 23:10")) == "lundi à 9h"


def test_day_hours_gives_the_holiday_name(flows: Flows) -> None:
    info = h.day_hours(flows.schedule, at("2026-11-11 10:00").date())

    assert info.slots == ()
    assert info.holiday is not None and "Armistice" in info.holiday


def test_no_lookahead_opening_gives_none() -> None:
    schedule = h.Schedule(timezone="Europe/Brussels", weekly={})

    assert h.next_opening(schedule, at("2026-12-01 10:00")) is None


# --- slots -------------------------------------------------------------------------------


def test_parse_slot_reads_a_slot() -> None:
    assert h.parse_slot("13:30-16:30") == (time(13, 30), time(16, 30))


def test_parse_slot_rejects_a_slot_that_ends_before_it_starts() -> None:
    with pytest.raises(ValueError, match="12:00-09:00"):
        h.parse_slot("12:00-09:00")


def test_parse_slot_rejects_an_hour_past_23() -> None:
    with pytest.raises(ValueError):
        h.parse_slot("25:00-12:00")


def test_parse_slot_rejects_two_slots_written_as_one() -> None:
    # An admin forgetting the comma: "09:00-12:00-13:30" must be refused as malformed.
    with pytest.raises(ValueError):
        h.parse_slot("09:00-12:00-13:30")
