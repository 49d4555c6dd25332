"""Reading the configuration from explicit environments (bot.config.load_settings)."""

from __future__ import annotations

import pytest

from bot.config import ConfigError, load_settings

CREDENTIALS = {"TWILIO_ACCOUNT_SID": "AC" + "1" * 32, "TWILIO_AUTH_TOKEN": "a-real-looking-token"}


def test_without_twilio_credentials_it_runs_in_dev_mode_on_port_5000() -> None:
    settings = load_settings({})

    assert settings.dev_mode is True
    assert settings.port == 5000
    assert settings.public_base_url == "http://127.0.0.1:5000"
    assert settings.twilio_api_base_url == "http://127.0.0.1:5000/dev/twilio"
    assert settings.nlu_timeout == 1.5


def test_in_dev_mode_the_fake_twilio_follows_the_port() -> None:
    settings = load_settings({"PORT": "8080"})

    assert settings.port == 8080
    assert settings.twilio_api_base_url == "http://127.0.0.1:8080/dev/twilio"


def test_it_reads_a_nlu_timeout() -> None:
    assert load_settings({"NLU_TIMEOUT": "0.25"}).nlu_timeout == 0.25


def test_a_malformed_nlu_timeout_stops_the_app_naming_it() -> None:
    with pytest.raises(ConfigError, match="NLU_TIMEOUT"):
        load_settings({"NLU_TIMEOUT": "vite"})


def test_a_malformed_port_stops_the_app_naming_it() -> None:
    with pytest.raises(ConfigError, match="PORT"):
        load_settings({"PORT": "cinq mille"})


def test_an_account_sid_without_a_token_is_refused() -> None:
    with pytest.raises(ConfigError, match="TWILIO_AUTH_TOKEN"):
        load_settings({"TWILIO_ACCOUNT_SID": CREDENTIALS["TWILIO_ACCOUNT_SID"], "SECRET_KEY": "s"})


def test_a_token_without_an_account_sid_is_refused() -> None:
    with pytest.raises(ConfigError, match="TWILIO_ACCOUNT_SID"):
        load_settings({"TWILIO_AUTH_TOKEN": CREDENTIALS["TWILIO_AUTH_TOKEN"], "SECRET_KEY": "s"})


def test_real_credentials_without_a_secret_key_are_refused_naming_it() -> None:
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        load_settings(dict(CREDENTIALS))


def test_real_credentials_with_a_secret_key_turn_dev_mode_off() -> None:
    settings = load_settings({**CREDENTIALS, "SECRET_KEY": "a-long-random-secret"})

    assert settings.dev_mode is False
    assert settings.twilio_api_base_url == ""
    assert settings.twilio_account_sid == CREDENTIALS["TWILIO_ACCOUNT_SID"]
    assert settings.twilio_auth_token == CREDENTIALS["TWILIO_AUTH_TOKEN"]
    assert settings.secret_key == "a-long-random-secret"


def test_the_pseudonym_key_defaults_to_the_secret_key() -> None:
    settings = load_settings({**CREDENTIALS, "SECRET_KEY": "a-long-random-secret"})

    assert settings.pseudonym_key == "a-long-random-secret"


def test_trailing_slashes_are_dropped_from_urls() -> None:
    settings = load_settings(
        {"PUBLIC_BASE_URL": "https://relais.example.org/", "RASA_URL": "http://rasa:5005/"}
    )

    assert settings.public_base_url == "https://relais.example.org"
    assert settings.rasa_url == "http://rasa:5005"
