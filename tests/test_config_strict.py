"""Every malformed variable stops the app at start with a message naming it (bot.config)."""

from __future__ import annotations

import pytest

from bot.config import ConfigError, load_settings


@pytest.mark.parametrize("name", ["PORT", "NLU_CACHE_SIZE", "STATE_TTL", "MEDIA_MAX_BYTES"])
def test_a_whole_number_with_a_fraction_is_refused_not_truncated(name: str) -> None:
    with pytest.raises(ConfigError, match=name):
        load_settings({name: "1.5"})


@pytest.mark.parametrize("name", ["PORT", "STATE_TTL", "NLU_CACHE_SIZE", "MEDIA_MAX_BYTES"])
def test_a_whole_number_that_is_no_number_is_refused(name: str) -> None:
    with pytest.raises(ConfigError, match=name):
        load_settings({name: "beaucoup"})


def test_whole_numbers_are_read_as_written() -> None:
    settings = load_settings({"STATE_TTL": "60", "NLU_CACHE_SIZE": " 0 ", "MEDIA_MAX_BYTES": "100"})

    assert (settings.state_ttl, settings.nlu_cache_size, settings.media_max_bytes) == (60, 0, 100)


@pytest.mark.parametrize("port", ["0", "-1", "65536"])
def test_a_port_out_of_range_is_refused(port: str) -> None:
    with pytest.raises(ConfigError, match="PORT"):
        load_settings({"PORT": port})


@pytest.mark.parametrize(("name", "raw"), [("STATE_TTL", "0"), ("MEDIA_MAX_BYTES", "0"), ("NLU_CACHE_SIZE", "-1")])
def test_a_count_below_its_least_is_refused(name: str, raw: str) -> None:
    with pytest.raises(ConfigError, match=name):
        load_settings({name: raw})


@pytest.mark.parametrize("name", ["NLU_TIMEOUT", "TWILIO_TIMEOUT", "MEDIA_TIMEOUT"])
@pytest.mark.parametrize("raw", ["0", "-2", "nan", "inf"])
def test_a_timeout_must_be_a_positive_finite_number(name: str, raw: str) -> None:
    with pytest.raises(ConfigError, match=name):
        load_settings({name: raw})


def test_the_log_level_defaults_to_info() -> None:
    assert load_settings({}).log_level == "INFO"


@pytest.mark.parametrize(("raw", "level"), [("debug", "DEBUG"), ("WARNING", "WARNING"), (" error ", "ERROR")])
def test_a_log_level_is_one_of_the_logging_names_in_any_case(raw: str, level: str) -> None:
    assert load_settings({"LOG_LEVEL": raw}).log_level == level


@pytest.mark.parametrize("raw", ["verbose", "10", "INFOS"])
def test_an_unknown_log_level_is_refused_naming_it(raw: str) -> None:
    with pytest.raises(ConfigError, match="LOG_LEVEL"):
        load_settings({"LOG_LEVEL": raw})


def test_the_flows_folder_comes_from_the_settings() -> None:
    assert str(load_settings({"FLOWS_DIR": "/srv/relais/flows"}).flows_dir) == "/srv/relais/flows"
