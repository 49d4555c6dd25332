"""Contract 4: GET /api/v1/cases?status=open with Authorization: Bearer TOKEN."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.adapters.models import Case, utcnow
from tests.conftest import Phone, make_user, rows

CONTRACT_FIELDS = {"id", "priority", "contact", "opened_at", "reason"}
ISO_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


def token_for(app: Any, email: str = "ana@cpas.example") -> str:
    result = app.test_cli_runner().invoke(args=["users", "token", email])
    assert result.exit_code == 0, result.output
    return str(result.output.strip())


def get(app: Any, token: str | None, query: str = "?status=open") -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    return app.test_client().get(f"/api/v1/cases{query}", headers=headers)


def open_case(app: Any, address: str, text: str = "0", minutes_ago: int = 0) -> int:
    Phone(app, address).text(text)
    case_id = int(rows(app, "SELECT cases.id FROM cases JOIN contacts ON contacts.id = cases.contact_id "
                            "WHERE contacts.address = :a ORDER BY cases.id DESC", a=address)[0][0])
    with app.extensions["relais.services"].sessions() as session, session.begin():
        session.get(Case, case_id).opened_at = utcnow() - timedelta(minutes=minutes_ago)
    return case_id


def test_it_lists_open_cases_most_urgent_first_then_oldest_with_the_contract_fields(app: Any) -> None:
    make_user(app)
    token = token_for(app)
    normal_old = open_case(app, "+32470000101", minutes_ago=90)
    urgent_new = open_case(app, "+32470000102", "je vais me suicider ce soir", minutes_ago=2)
    normal_new = open_case(app, "+32470000103", minutes_ago=10)
    urgent_old = open_case(app, "+32470000104", "je vais me suicider ce soir", minutes_ago=40)
    response = get(app, token)
    assert response.status_code == 200 and response.is_json
    cases = response.get_json()
    assert [c["id"] for c in cases] == [urgent_old, urgent_new, normal_old, normal_new]
    assert [c["priority"] for c in cases] == ["urgent", "urgent", "normal", "normal"]
    for case in cases:
        assert CONTRACT_FIELDS <= set(case)
        assert ISO_UTC.match(case["opened_at"]), case["opened_at"]
        assert case["reason"]
    first = cases[0]
    pseudonym, opened_at, reason = rows(app, "SELECT contacts.pseudonym, cases.opened_at, cases.reason FROM cases "
                                             "JOIN contacts ON contacts.id = cases.contact_id WHERE cases.id = :i",
                                        i=urgent_old)[0]
    assert first["contact"] == pseudonym and first["reason"] == reason
    stored = datetime.fromisoformat(str(opened_at)).replace(tzinfo=UTC)
    assert abs(datetime.fromisoformat(first["opened_at"].replace("Z", "+00:00")) - stored) < timedelta(seconds=1)


def test_it_never_gives_a_phone_number(app: Any) -> None:
    make_user(app)
    token = token_for(app)
    open_case(app, "+32470000111")
    open_case(app, "whatsapp:+32470000112")
    body = get(app, token).get_data(as_text=True)
    assert "470000111" not in body and "470000112" not in body
    assert [c["channel"] for c in get(app, token).get_json()] == ["sms", "whatsapp"]


def test_the_status_filter_separates_open_and_closed_cases(app: Any) -> None:
    make_user(app)
    token = token_for(app)
    still_open = open_case(app, "+32470000121")
    closed = open_case(app, "+32470000122")
    with app.extensions["relais.services"].sessions() as session, session.begin():
        case = session.get(Case, closed)
        case.status, case.closed_at, case.outcome = "closed", utcnow(), "Information donnée"
    assert [c["id"] for c in get(app, token).get_json()] == [still_open]
    assert [c["id"] for c in get(app, token, "").get_json()] == [still_open]  # open by default
    closed_list = get(app, token, "?status=closed").get_json()
    assert [c["id"] for c in closed_list] == [closed]
    assert closed_list[0]["status"] == "closed" and ISO_UTC.match(closed_list[0]["closed_at"])
    bad = get(app, token, "?status=everything")
    assert bad.status_code == 400 and "status" in bad.get_json()["error"]


def test_claimed_cases_say_by_whom(app: Any) -> None:
    user_id = make_user(app)
    token = token_for(app)
    case_id = open_case(app, "+32470000131")
    with app.extensions["relais.services"].sessions() as session, session.begin():
        session.get(Case, case_id).claimed_by_id = user_id
    assert get(app, token).get_json()[0]["claimed_by"] == "Ana"


def test_it_answers_401_without_a_token(app: Any) -> None:
    open_case(app, "+32470000141")
    response = get(app, None)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert "error" in response.get_json()


def test_it_answers_401_with_a_wrong_or_replaced_token(app: Any) -> None:
    make_user(app)
    old = token_for(app)
    new = token_for(app)  # a new token replaces the old one
    assert get(app, "not-a-token").status_code == 401
    assert get(app, old).status_code == 401
    assert get(app, new).status_code == 200
    basic = app.test_client().get("/api/v1/cases", headers={"Authorization": f"Basic {new}"})
    assert basic.status_code == 401


def test_a_deactivated_users_token_stops_working(app: Any) -> None:
    user_id = make_user(app)
    token = token_for(app)
    from bot.adapters.models import User

    with app.extensions["relais.services"].sessions() as session, session.begin():
        session.get(User, user_id).active = False
    assert get(app, token).status_code == 401


def test_the_api_needs_no_session_and_no_csrf_and_is_audited(app: Any) -> None:
    make_user(app)
    token = token_for(app)
    assert get(app, token).status_code == 200
    assert rows(app, "SELECT action, user_id FROM audit_log") == [("api_cases", 1)]
