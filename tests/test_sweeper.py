"""The sweeper process (`flask --app bot sweep --every 30`) speaks only when it did something."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace
from typing import Any

import pytest

from bot.adapters.models import Case, utcnow
from tests.conftest import Phone, rows

CRISIS = "je veux me suicider ce soir"


class Stop(Exception):
    """Ends the sweeper's loop where it would wait for the next round."""


def sweep_every_30_s_once(app: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """One round of the Procfile's sweeper: the loop is stopped at its first wait."""
    def stop(_seconds: float) -> None:
        raise Stop

    monkeypatch.setattr("bot.cli.time", SimpleNamespace(sleep=stop))
    result = app.test_cli_runner().invoke(args=["sweep", "--every", "30"])
    assert isinstance(result.exception, Stop), result.output
    return result


def test_a_quiet_sweep_prints_nothing(app: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    first = app.test_cli_runner().invoke(args=["sweep"])  # plans the workshops' reminders, if any
    assert first.exit_code == 0, first.output
    assert sweep_every_30_s_once(app, monkeypatch).output == ""


def test_a_sweep_that_re_enqueued_a_case_says_so(app: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    app.test_cli_runner().invoke(args=["sweep"])
    Phone(app, "+32470555101").text(CRISIS)
    case_id = rows(app, "SELECT id FROM cases")[0][0]
    with app.extensions["relais.services"].sessions() as session, session.begin():
        session.get(Case, case_id).opened_at = utcnow() - timedelta(minutes=5)  # never escalated since
    output = sweep_every_30_s_once(app, monkeypatch).output
    assert output.startswith("1 cases, 0 messages"), output


def test_a_single_sweep_always_reports(app: Any) -> None:
    result = app.test_cli_runner().invoke(args=["sweep"])
    assert result.exit_code == 0
    assert result.output.endswith("0 unanswered\n"), result.output
