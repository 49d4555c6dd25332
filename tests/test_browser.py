"""The inbox in a real browser (Debian's Chromium through Playwright) against the live app,
with a real RQ worker sending through the local fake Twilio."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, Page

from bot.web.dev import SENT_KEY
from tests.conftest import PASSWORD, ROOT, Phone, make_user, rows, wait_for, worker_env

CRISIS = "je vais me suicider ce soir"


@contextmanager
def rq_worker(app: Any, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """A real RQ worker on the urgent and default queues for the length of the block."""
    process = subprocess.Popen(
        [str(ROOT / ".venv" / "bin" / "rq"), "worker", "--url", app.config["REDIS_URL"],
         "--serializer", "rq.serializers.JSONSerializer", "urgent", "default"],
        cwd=ROOT, env=worker_env(app), stdout=log.open("wb"), stderr=subprocess.STDOUT, start_new_session=True)
    try:
        yield process
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def sent_to(redis_client: Any, address: str) -> list[str]:
    return [m["body"] for m in (json.loads(r) for r in redis_client.lrange(SENT_KEY, 0, -1)) if m["to"] == address]


def case_of(app: Any, address: str) -> int:
    found = rows(app, "SELECT cases.id, cases.priority FROM cases JOIN contacts ON contacts.id = cases.contact_id "
                      "WHERE contacts.address = :a ORDER BY cases.id DESC", a=address)
    assert found, "no case for this contact"
    return int(found[0][0])


def log_in(page: Page, base: str) -> None:
    page.goto(base + "/login")
    page.fill("#email", "ana@cpas.example")
    page.fill("#password", PASSWORD)
    page.click("#login-form button[type=submit]")
    page.wait_for_url(base + "/inbox")


def test_a_worker_sees_an_urgent_case_arrive_claims_it_and_answers_while_the_bot_stays_silent(
        live: Any, redis_client: Any, browser: Browser, tmp_path: Path) -> None:
    app, server = live
    make_user(app)
    waiting = Phone(app, "+32470000201")
    waiting.text("0")  # a normal case already waits in the queue
    normal_case = case_of(app, "+32470000201")
    with rq_worker(app, tmp_path / "worker.log") as worker:
        page = browser.new_page(viewport={"width": 390, "height": 844})  # a phone's screen
        log_in(page, server.url)
        assert page.locator("#queue li.case").first.get_attribute("data-case-id") == str(normal_case)
        page.evaluate("window.stillTheSamePage = true")

        person = Phone(app, "+32470000202")
        replies = person.text(CRISIS)
        assert replies and "112" in replies[0]  # the emergency numbers at once
        urgent_case = case_of(app, "+32470000202")
        assert rows(app, "SELECT priority FROM cases WHERE id = :i", i=urgent_case)[0][0] == "urgent"

        # it appears at the top of the queue by itself, without reloading the page
        page.wait_for_function(
            "id => { const first = document.querySelector('#queue li.case');"
            " return first && first.dataset.caseId === id; }", arg=str(urgent_case), timeout=15_000)
        assert page.evaluate("window.stillTheSamePage") is True
        first = page.locator("#queue li.case").first
        assert "URGENT" in first.inner_text()
        assert "+32 470 •• •• 02" in first.inner_text()
        assert page.locator("#queue li.case").nth(1).get_attribute("data-case-id") == str(normal_case)

        first.locator("a").click()
        page.wait_for_url(f"{server.url}/inbox/cases/{urgent_case}")
        assert CRISIS in page.locator("#messages").inner_text()
        page.click("form.claim button")
        page.wait_for_url(f"{server.url}/inbox/cases/{urgent_case}")
        assert "Dossier pris en charge" in page.inner_text("main")

        # the segment counter mirrors bot/core/sms.py while typing
        page.fill("#reply-body", "a" * 161)
        assert page.inner_text("#reply-count").startswith("2 SMS")
        page.fill("#reply-body", "Bonjour 🙂")
        assert "UCS-2" in page.inner_text("#reply-count")
        page.fill("#reply-body", "Ça va ? Vous êtes en sécurité ?")
        assert page.inner_text("#reply-count").startswith("1 SMS")
        assert "GSM-7" in page.inner_text("#reply-count")
        reply = "Bonjour, ici Ana du CPAS. Je suis là. Êtes-vous en sécurité ce soir ?"
        page.fill("#reply-body", reply)
        page.click("#reply-form button[type=submit]")
        page.wait_for_url(f"{server.url}/inbox/cases/{urgent_case}")

        expected = "Bonjour, ici Ana du CPAS. Je suis là. Etes-vous en sécurité ce soir ?"  # made GSM-7
        wait_for(lambda: expected in sent_to(redis_client, "+32470000202"), timeout=30)
        claimed = sent_to(redis_client, "+32470000202")[0]
        assert "travailleur social" in claimed  # the person was told someone is there
        # the delivery status comes back through the fake's callbacks and shows by itself
        page.wait_for_selector('#messages li.worker [data-status="delivered"]', timeout=15_000)

        answer = person.post(person.params("oui je suis chez moi"))
        assert answer.status_code == 200 and "<Message>" not in answer.get_data(as_text=True)
        assert worker.poll() is None  # the worker ran the whole time
    assert rows(app, "SELECT claimed_by_id FROM cases WHERE id = :i", i=urgent_case)[0][0] == 1
    assert rows(app, "SELECT COUNT(*) FROM messages WHERE source = 'worker' AND status = 'delivered'")[0][0] == 1


def test_without_login_the_inbox_shows_the_login_page(live: Any, browser: Browser) -> None:
    _app, server = live
    page = browser.new_page()
    page.goto(server.url + "/inbox")
    assert "/login" in page.url
    assert page.locator("h1").inner_text() == "Connexion"
    assert page.locator("#password").is_visible()


def test_a_form_posted_without_its_csrf_token_does_nothing(live: Any, browser: Browser) -> None:
    app, server = live
    make_user(app)
    Phone(app, "+32470000211").text("0")
    case_id = case_of(app, "+32470000211")
    page = browser.new_page()
    log_in(page, server.url)
    page.goto(f"{server.url}/inbox/cases/{case_id}")
    page.evaluate("document.querySelector('form.claim input[name=csrf_token]').remove()")
    with page.expect_response(lambda r: r.url.endswith("/claim")) as answer:
        page.click("form.claim button")
    assert answer.value.status == 400
    assert "Rien n'a été fait" in page.inner_text("main")
    assert rows(app, "SELECT claimed_by_id FROM cases WHERE id = :i", i=case_id)[0][0] is None
    assert rows(app, "SELECT owner_id FROM contacts WHERE address = '+32470000211'")[0][0] is None
    assert rows(app, "SELECT COUNT(*) FROM messages WHERE source = 'system'")[0][0] == 0
