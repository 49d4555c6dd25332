"""The admin page for the flows in a real browser (Debian's Chromium through Playwright) against
the live app: edit, check, preview, save, history, diff and rollback, on a private copy of flows/."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

import bot.services.flows_store
from bot import extensions
from tests.conftest import PASSWORD, make_user, rows

ADMIN = "lea@cpas.example"
CLOSED_FR = "Nous sommes fermés maintenant"
EDITED_FR = "Le centre dort à cette heure-ci"
PHONE = {"width": 390, "height": 844}


@pytest.fixture
def make_app(make_app: Callable[..., Any], flows_dir: Path, database_url: str) -> Callable[..., Any]:
    """conftest's make_app (and so its `live` server) on the private copy of the flows.

    database_url is named so that pytest still parametrizes it (sqlite, postgresql) here.
    """
    def build(**extra: Any) -> Any:
        return make_app(FLOWS_DIR=flows_dir, **extra)
    return build


def log_in(page: Page, base: str) -> None:
    page.goto(base + "/login")
    page.fill("#email", ADMIN)
    page.fill("#password", PASSWORD)
    page.click("#login-form button[type=submit]")
    page.wait_for_url(base + "/inbox")


def line_of(text: str, fragment: str) -> int:
    return text[: text.index(fragment)].count("\n") + 1


def test_an_admin_checks_previews_saves_compares_and_rolls_back_a_flow_on_a_phone(
        live: Any, browser: Browser, flows_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bot.services.flows_store, "CHECK_EVERY", 0.0)  # the running app looks at every request
    app, server = live
    make_user(app, ADMIN, "Léa", "admin")
    path = flows_dir / "centre.yml"
    original = path.read_bytes()
    text = original.decode("utf-8")
    page = browser.new_page(viewport=PHONE)
    log_in(page, server.url)

    page.click("#nav-admin")
    page.wait_for_url(server.url + "/admin/flows")
    expect(page.locator("#running-state")).to_contain_text("Le robot utilise les fichiers")
    page.click('li[data-file="centre.yml"] a.name')
    page.wait_for_url(server.url + "/admin/flows/centre.yml")
    assert page.input_value("#flow-text") == text
    expect(page.locator("#gutter span")).to_have_count(text.count("\n") + 1)  # line numbers

    # an invalid edit: Check names the file, the line and the reason, and marks the line
    broken = text.replace(CLOSED_FR, EDITED_FR).replace("tot {until}", "tot {untill}")
    line = line_of(broken, "{untill}")
    page.fill("#flow-text", broken)
    page.click("#check-button")
    problem = page.locator("#check-result .problem.error").first
    expect(problem).to_contain_text(f"centre.yml, ligne {line}")
    expect(problem).to_contain_text("unknown placeholder {untill}")
    expect(problem.locator(".excerpt .hit")).to_contain_text("{untill}")
    expect(page.locator("#gutter span.bad")).to_have_text([str(line)])
    problem.locator("a.goto-line").click()
    selected = page.evaluate("() => { const b = document.getElementById('flow-text');"
                             " return b.value.slice(b.selectionStart, b.selectionEnd); }")
    assert "{untill}" in selected
    assert page.url == server.url + "/admin/flows/centre.yml"  # all of it without leaving the page

    # fixed: Check is happy, and the preview answers with the unsaved text on Saturday night
    edited = broken.replace("{untill}", "{until}")
    page.fill("#flow-text", edited)
    page.click("#check-button")
    expect(page.locator("#check-ok")).to_contain_text("Aucune erreur")
    expect(page.locator("#gutter span.bad")).to_have_count(0)
    page.fill("#preview-messages", "bonjour\nhoraires")
    page.fill("#preview-when", "Saturday 23:10")
    page.select_option("#preview-lang", "fr")
    page.click("#preview-button")
    thread = page.locator("#preview-thread")
    expect(thread).to_contain_text(EDITED_FR)
    expect(page.locator("#preview-moment")).to_contain_text("samedi")
    expect(page.locator("#preview-moment")).to_contain_text("à 23:10")
    expect(thread.locator(".msg.in")).to_have_count(2)
    expect(thread.locator(".msg.out .meta").first).to_contain_text("SMS")
    assert path.read_bytes() == original  # a preview saves nothing
    assert rows(app, "SELECT COUNT(*) FROM messages")[0][0] == 0  # nor touches the real database

    # save: the file is written, the version kept with who and why
    page.fill("#comment", "texte de nuit")
    page.click("#save-button")
    expect(page.locator(".flash.ok")).to_contain_text("Enregistré : version #2")
    assert path.read_text(encoding="utf-8") == edited
    assert extensions.flows_store(app).get().text("hours_closed_now", "fr") == EDITED_FR

    # history and diff
    page.click("#history-link")
    page.wait_for_url(server.url + "/admin/flows/centre.yml/history")
    expect(page.locator('li[data-version="2"]')).to_contain_text("Léa")
    expect(page.locator('li[data-version="2"]')).to_contain_text("texte de nuit")
    expect(page.locator('li[data-version="1"]')).to_contain_text("trouvé sur le disque")
    page.click('li[data-version="1"] a.diff-link')
    page.wait_for_url(server.url + "/admin/flows/centre.yml/versions/1")
    removed, added = page.locator("#diff .d-del"), page.locator("#diff .d-add")
    expect(removed).to_contain_text([CLOSED_FR])
    expect(added).to_contain_text([EDITED_FR])
    colour = "el => getComputedStyle(el).backgroundColor"
    assert removed.first.evaluate(colour) != added.first.evaluate(colour) != "rgba(0, 0, 0, 0)"

    # roll back: the original bytes are on disk again, and the running app serves them
    page.fill("#rollback-comment", "trop familier")
    page.click("#rollback-form button[type=submit]")
    page.wait_for_url(server.url + "/admin/flows/centre.yml/history")
    expect(page.locator(".flash.ok")).to_contain_text("Retour à la version #1 fait")
    expect(page.locator('li[data-version="3"]')).to_contain_text("retour à la version #1 : trop familier")
    assert path.read_bytes() == original
    assert extensions.flows_store(app).get().text("hours_closed_now", "fr") == CLOSED_FR
    assert [r[0] for r in rows(app, "SELECT action FROM audit_log WHERE action LIKE 'flow_%' ORDER BY id")] \
        == ["flow_save", "flow_rollback"]


def test_without_javascript_check_and_save_still_work_and_an_error_is_never_written(
        live: Any, browser: Browser, flows_dir: Path) -> None:
    app, server = live
    make_user(app, ADMIN, "Léa", "admin")
    path = flows_dir / "centre.yml"
    text = path.read_text(encoding="utf-8")
    context = browser.new_context(java_script_enabled=False, viewport=PHONE)
    page = context.new_page()
    log_in(page, server.url)
    page.goto(server.url + "/admin/flows/centre.yml")

    broken = text.replace("tot {until}", "tot {untill}")
    page.fill("#flow-text", broken)
    page.click("#save-button")
    expect(page.locator("#refused")).to_contain_text("Rien n'a été enregistré")
    expect(page.locator("#check-result .problem.error").first).to_contain_text(
        f"centre.yml, ligne {line_of(broken, '{untill}')}")
    assert page.input_value("#flow-text") == broken  # the edit is kept to be fixed
    assert path.read_text(encoding="utf-8") == text

    page.fill("#flow-text", text.replace(CLOSED_FR, EDITED_FR))
    page.click("#check-button")
    expect(page.locator("#check-ok")).to_be_visible()
    page.click("#save-button")
    expect(page.locator(".flash.ok")).to_contain_text("Enregistré")
    assert path.read_text(encoding="utf-8") == text.replace(CLOSED_FR, EDITED_FR)
    context.close()
