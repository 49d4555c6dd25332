"""The admin page for the flows (bot/web/admin.py): access, edit, check, save, history, diff,
rollback and preview, on a private copy of flows/ (the repository's folder is never written)."""

from __future__ import annotations

import html
import re
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

import bot.services.flows_store
import bot.web.admin_files
from bot import extensions
from bot.core.flows import Problem
from bot.core.flows import check_dir as real_check_dir
from bot.core.text import parse_moment
from bot.web.admin_files import diff_lines, folder_lock
from tests.conftest import BRUSSELS, csrf_of, log_in, make_user, rows

ADMIN = "lea@cpas.example"
CLOSED_FR = "Nous sommes fermés maintenant"
EDITED_FR = "Le centre dort à cette heure-ci"
SATURDAY_NIGHT = "2026-11-28T23:10"  # a Saturday: the centre is closed


@pytest.fixture
def app(make_app: Callable[..., Any], flows_dir: Path) -> Any:
    """The app serving the private copy of the flows."""
    return make_app(FLOWS_DIR=flows_dir)


@pytest.fixture
def admin(app: Any) -> Any:
    """A test client logged in as the admin Léa."""
    make_user(app, ADMIN, "Léa", "admin")
    client = app.test_client()
    assert log_in(client, ADMIN).status_code == 302
    return client


@pytest.fixture
def reload_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """The running app's FlowsStore looks at the files on every get()."""
    monkeypatch.setattr(bot.services.flows_store, "CHECK_EVERY", 0.0)


def page(response: Any) -> str:
    """The response's HTML with entities decoded, for plain-text asserts."""
    return html.unescape(response.get_data(as_text=True))


def open_editor(client: Any, file: str) -> tuple[str, str, str]:
    """The editor's text, base digest and CSRF token, as a browser would get them."""
    response = client.get(f"/admin/flows/{file}")
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    text = html.unescape(re.search(r'<textarea id="flow-text"[^>]*>\n(.*?)</textarea>', body, re.S).group(1))
    base = re.search(r'name="base" value="([0-9a-f]{64})"', body).group(1)
    return text, base, csrf_of(body)


def save(client: Any, file: str, text: str, base: str, token: str, comment: str = "") -> Any:
    """Post the editor's Save button."""
    return client.post(f"/admin/flows/{file}", data={"text": text, "base": base, "csrf_token": token,
                                                     "comment": comment})


def edited_centre(flows_dir: Path) -> str:
    """centre.yml with the French closed-now text changed."""
    text = (flows_dir / "centre.yml").read_text(encoding="utf-8")
    assert text.count(CLOSED_FR) == 1
    return text.replace(CLOSED_FR, EDITED_FR)


def line_of(text: str, fragment: str) -> int:
    """The 1-based line of fragment in text."""
    return text[: text.index(fragment)].count("\n") + 1


def versions(app: Any, file: str) -> list[Any]:
    return rows(app, "SELECT id, user_id, comment, content, sha FROM flow_versions WHERE file = :f ORDER BY id",
                f=file)


def flow_audit(app: Any) -> list[Any]:
    return rows(app, "SELECT action, user_id, detail FROM audit_log WHERE action LIKE 'flow_%' ORDER BY id")


# --- access --------------------------------------------------------------------------------

def test_an_anonymous_visitor_is_sent_to_the_login_page(client: Any) -> None:
    response = client.get("/admin/flows")
    assert response.status_code == 302
    assert "/login?next=/admin/flows" in response.headers["Location"]


def test_a_social_worker_gets_a_clear_refusal_and_changes_nothing(app: Any, flows_dir: Path) -> None:
    make_user(app, "ana@cpas.example", "Ana", "worker")
    make_user(app, ADMIN, "Léa", "admin")
    worker = app.test_client()
    log_in(worker)
    original = (flows_dir / "centre.yml").read_bytes()
    for url in ("/admin/flows", "/admin/flows/centre.yml", "/admin/flows/centre.yml/history"):
        response = worker.get(url)
        assert response.status_code == 403
        assert "réservée aux administrateurs" in page(response)
    token = csrf_of(worker.get("/inbox").get_data(as_text=True))
    response = worker.post("/admin/flows/centre.yml", data={"text": "broken", "csrf_token": token, "base": ""})
    assert response.status_code == 403
    assert (flows_dir / "centre.yml").read_bytes() == original
    assert versions(app, "centre.yml") == []
    assert "Réglages du robot" not in page(worker.get("/inbox"))


def test_the_inbox_links_admins_to_the_flows_page(admin: Any) -> None:
    assert 'href="/admin/flows"' in admin.get("/inbox").get_data(as_text=True)
    assert admin.get("/admin").headers["Location"].endswith("/admin/flows")


def test_a_post_without_its_csrf_token_does_nothing(app: Any, admin: Any, flows_dir: Path) -> None:
    text, base, _token = open_editor(admin, "centre.yml")
    response = admin.post("/admin/flows/centre.yml", data={"text": edited_centre(flows_dir), "base": base})
    assert response.status_code == 400
    assert "Rien n'a été fait" in page(response)
    assert (flows_dir / "centre.yml").read_text(encoding="utf-8") == text
    assert versions(app, "centre.yml") == []
    for url in ("/admin/flows/centre.yml/check", "/admin/flows/centre.yml/preview"):
        assert admin.post(url, data={"text": text, "base": base}).status_code == 400


def test_only_the_folder_s_flow_files_can_be_opened(admin: Any) -> None:
    for url in ("/admin/flows/nothing.yml", "/admin/flows/..%2Fpyproject.toml", "/admin/flows/README.md",
                "/admin/flows/tests", "/admin/flows/centre.yml/versions/999"):
        assert admin.get(url).status_code == 404, url


# --- the list ------------------------------------------------------------------------------

def test_the_list_shows_every_flow_file_and_the_version_served(app: Any, admin: Any, flows_dir: Path) -> None:
    body = page(admin.get("/admin/flows"))
    for path in flows_dir.glob("*.yml"):
        assert f'data-file="{path.name}"' in body
    assert "README.md" not in body.split('id="files"')[1].split("</ul>")[0]
    served = extensions.flows_store(app).get().version
    assert f"version {served}" in body
    assert "jamais modifié depuis cette page" in body


def test_the_list_says_in_plain_words_why_the_app_refused_the_files_on_disk(
        app: Any, admin: Any, flows_dir: Path, reload_at_once: None) -> None:
    served = extensions.flows_store(app).get().version
    menu = flows_dir / "menu.yml"
    menu.write_text(menu.read_text(encoding="utf-8").replace("goto: hours", "goto: nowhere", 1), encoding="utf-8")
    body = page(admin.get("/admin/flows"))
    assert "Le robot a refusé les fichiers actuels" in body
    assert "menu.yml" in body and "'nowhere', which is not a step" in body
    assert f"dernière version valide ({served})" in body
    assert extensions.flows_store(app).get().version == served  # still the last valid one


def test_an_app_started_on_broken_flows_can_be_mended_from_the_page(
        make_app: Callable[..., Any], flows_dir: Path, reload_at_once: None) -> None:
    menu = flows_dir / "menu.yml"
    good = menu.read_text(encoding="utf-8")
    menu.write_text(good.replace("goto: hours", "goto: nowhere", 1), encoding="utf-8")
    app = make_app(FLOWS_DIR=flows_dir)  # the app starts all the same, with safe replies only
    make_user(app, ADMIN, "Léa", "admin")
    client = app.test_client()
    log_in(client, ADMIN)
    body = page(client.get("/admin/flows"))
    assert "aucune version valide" in body and "'nowhere', which is not a step" in body
    text, base, token = open_editor(client, "menu.yml")
    assert save(client, "menu.yml", good, base, token).status_code == 302
    assert extensions.flows_store(app).get().steps["hours"]
    assert "Le robot utilise les fichiers" in page(client.get("/admin/flows"))


# --- check and save ------------------------------------------------------------------------

def test_saving_writes_the_file_and_keeps_the_version_found_on_disk_first(
        app: Any, admin: Any, flows_dir: Path) -> None:
    original, base, token = open_editor(admin, "centre.yml")
    assert original == (flows_dir / "centre.yml").read_text(encoding="utf-8")
    edited = edited_centre(flows_dir)
    response = save(admin, "centre.yml", edited, base, token, comment="texte de nuit")
    assert response.status_code == 302 and response.headers["Location"].endswith("/admin/flows/centre.yml")
    assert (flows_dir / "centre.yml").read_text(encoding="utf-8") == edited
    assert not list(flows_dir.glob(".*.tmp"))  # the temp file was renamed, not left behind
    found, saved = versions(app, "centre.yml")
    assert (found.user_id, found.comment, found.content) == (None, "trouvé sur le disque", original)
    assert (saved.user_id, saved.comment, saved.content) == (1, "texte de nuit", edited)
    assert [a.action for a in flow_audit(app)] == ["flow_save"]
    assert flow_audit(app)[0].detail == f"centre.yml #{saved.id}"
    assert f"Enregistré : version #{saved.id}" in page(admin.get("/admin/flows/centre.yml"))


def test_a_browser_s_crlf_line_ends_are_saved_as_the_file_s_newlines(
        app: Any, admin: Any, flows_dir: Path) -> None:
    _text, base, token = open_editor(admin, "centre.yml")
    edited = edited_centre(flows_dir)
    assert save(admin, "centre.yml", edited.replace("\n", "\r\n"), base, token).status_code == 302
    assert (flows_dir / "centre.yml").read_bytes() == edited.encode("utf-8")


def test_check_finds_nothing_in_a_valid_edit_and_writes_nothing(app: Any, admin: Any, flows_dir: Path) -> None:
    original, base, token = open_editor(admin, "centre.yml")
    response = admin.post("/admin/flows/centre.yml/check",
                          data={"text": edited_centre(flows_dir), "base": base, "csrf_token": token})
    assert response.status_code == 200
    assert "Aucune erreur" in page(response)
    assert (flows_dir / "centre.yml").read_text(encoding="utf-8") == original
    assert versions(app, "centre.yml") == []


def test_an_invalid_edit_is_refused_with_file_line_and_reason(app: Any, admin: Any, flows_dir: Path) -> None:
    original, base, token = open_editor(admin, "menu.yml")
    broken = original.replace("        goto: hours\n", "        goto: opening_times\n", 1)
    response = save(admin, "menu.yml", broken, base, token)
    assert response.status_code == 422
    body = page(response)
    assert "Rien n'a été enregistré" in body
    assert f"menu.yml, ligne {line_of(broken, 'goto: opening_times')}" in body
    assert "'opening_times', which is not a step" in body
    assert 'class="hit"' in body  # the faulty line is shown, highlighted
    assert "opening_times" in body.split('id="flow-text"')[1].split("</textarea>")[0]  # the edit is kept
    assert (flows_dir / "menu.yml").read_text(encoding="utf-8") == original
    assert versions(app, "menu.yml") == [] and flow_audit(app) == []


def test_a_yaml_mistake_is_shown_at_its_line_by_check_as_json(admin: Any, flows_dir: Path) -> None:
    original, base, token = open_editor(admin, "centre.yml")
    broken = original.replace("  timezone: Europe/Brussels", "  timezone: Europe/Brussels: [", 1)
    line = line_of(broken, "timezone: Europe/Brussels: [")
    response = admin.post("/admin/flows/centre.yml/check", data={"text": broken, "base": base, "csrf_token": token},
                          headers={"Accept": "application/json"})
    data = response.get_json()
    assert data["ok"] is False
    assert {"file": "centre.yml", "line": line, "level": "error"}.items() <= data["problems"][0].items()
    assert "YAML" in data["problems"][0]["message"]
    assert f'data-line="{line}"' in data["html"]


def test_warnings_do_not_block_a_save_but_errors_do(
        app: Any, admin: Any, flows_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    found: list[Problem] = []

    def check_dir(directory: Path, overrides: dict[str, str]) -> Any:
        report = real_check_dir(directory, overrides=overrides)
        return replace(report, problems=report.problems + found)

    monkeypatch.setattr(bot.web.admin_files, "check_dir", check_dir)
    _text, base, token = open_editor(admin, "centre.yml")
    edited = edited_centre(flows_dir)

    found[:] = [Problem("centre.yml", 3, "warning", "this SMS takes 2 segments")]
    response = admin.post("/admin/flows/centre.yml/check", data={"text": edited, "base": base, "csrf_token": token})
    assert "1 avertissement" in page(response) and "this SMS takes 2 segments" in page(response)

    found[:] = [Problem("menu.yml", 12, "error", "a text is missing in nl")]
    response = save(admin, "centre.yml", edited, base, token)
    assert response.status_code == 422 and "menu.yml, ligne 12" in page(response)
    assert (flows_dir / "centre.yml").read_text(encoding="utf-8") != edited

    found[:] = [Problem("centre.yml", 3, "warning", "this SMS takes 2 segments")]
    response = save(admin, "centre.yml", edited, base, token)
    assert response.status_code == 302
    assert (flows_dir / "centre.yml").read_text(encoding="utf-8") == edited


def test_a_save_based_on_an_old_version_is_refused_and_shows_the_difference(
        app: Any, admin: Any, flows_dir: Path) -> None:
    make_user(app, "marc@cpas.example", "Marc", "admin")
    colleague = app.test_client()
    log_in(colleague, "marc@cpas.example")
    mine, my_base, my_token = open_editor(admin, "centre.yml")
    theirs, their_base, their_token = open_editor(colleague, "centre.yml")
    their_text = theirs.replace("fermés maintenant", "fermés pour le moment")
    assert save(colleague, "centre.yml", their_text, their_base, their_token).status_code == 302

    my_text = mine.replace("  saturday: []", '  saturday: ["09:00-12:00"]')
    response = save(admin, "centre.yml", my_text, my_base, my_token)
    assert response.status_code == 409
    body = page(response)
    assert "modifié par Marc" in body and "Rien n'a été enregistré" in body
    assert '<span class="d-del">-    fr: "Nous sommes fermés pour le moment"</span>' in body
    assert '<span class="d-add">+    fr: "Nous sommes fermés maintenant"</span>' in body
    assert '<span class="d-add">+  saturday: ["09:00-12:00"]</span>' in body
    assert (flows_dir / "centre.yml").read_text(encoding="utf-8") == their_text
    assert [v.user_id for v in versions(app, "centre.yml")] == [None, 2]


def test_a_hand_edit_is_kept_as_a_version_before_the_next_save(app: Any, admin: Any, flows_dir: Path) -> None:
    path = flows_dir / "centre.yml"
    _text, base, token = open_editor(admin, "centre.yml")
    mine = edited_centre(flows_dir)
    by_hand = path.read_text(encoding="utf-8").replace("fermés maintenant", "fermés (edit a la main)")
    path.write_text(by_hand, encoding="utf-8")
    assert save(admin, "centre.yml", mine, base, token).status_code == 409  # stale: not silent

    text, base, token = open_editor(admin, "centre.yml")
    assert text == by_hand
    assert "modifié hors de cette page" not in page(admin.get("/admin/flows/centre.yml/history"))
    assert save(admin, "centre.yml", by_hand.replace("(edit a la main)", "ce soir"), base, token).status_code == 302
    found, saved = versions(app, "centre.yml")
    assert (found.user_id, found.comment, found.content) == (None, "trouvé sur le disque", by_hand)

    path.write_text(saved.content.replace("ce soir", "cette nuit"), encoding="utf-8")
    assert "modifié hors de cette page" in page(admin.get("/admin/flows/centre.yml/history"))
    assert "modifié à la main depuis" in page(admin.get("/admin/flows"))
    text, base, token = open_editor(admin, "centre.yml")
    assert save(admin, "centre.yml", text.replace("cette nuit", "la nuit"), base, token).status_code == 302
    *_, hand, last = versions(app, "centre.yml")
    assert (hand.user_id, hand.comment) == (None, "modifié hors de la page (à la main)")
    assert "cette nuit" in hand.content and "la nuit" in last.content and last.user_id == 1


def test_saving_the_same_text_records_nothing(app: Any, admin: Any) -> None:
    text, base, token = open_editor(admin, "centre.yml")
    response = save(admin, "centre.yml", text, base, token)
    assert response.status_code == 302
    assert "Aucune modification" in page(admin.get("/admin/flows/centre.yml"))
    assert flow_audit(app) == []


# --- history, diff, rollback ---------------------------------------------------------------

def test_history_lists_who_when_and_why_and_the_diff_colours_the_changes(
        app: Any, admin: Any, flows_dir: Path) -> None:
    _text, base, token = open_editor(admin, "centre.yml")
    save(admin, "centre.yml", edited_centre(flows_dir), base, token, comment="texte de nuit")
    found, saved = versions(app, "centre.yml")
    body = page(admin.get("/admin/flows/centre.yml/history"))
    assert body.index(f'data-version="{saved.id}"') < body.index(f'data-version="{found.id}"')  # newest first
    assert "Léa" in body and "texte de nuit" in body and "trouvé sur le disque" in body
    assert "identique au fichier actuel" in body.split(f'data-version="{found.id}"')[0]

    body = page(admin.get(f"/admin/flows/centre.yml/versions/{found.id}"))
    assert f'<span class="d-del">-    fr: "{CLOSED_FR}"</span>' in body
    assert f'<span class="d-add">+    fr: "{EDITED_FR}"</span>' in body
    assert "Revenir à cette version" in body
    assert "identique au fichier actuel" in page(admin.get(f"/admin/flows/centre.yml/versions/{saved.id}"))
    assert admin.get(f"/admin/flows/menu.yml/versions/{found.id}").status_code == 404  # another file's version


def test_diff_lines_marks_added_removed_and_context_lines() -> None:
    kinds = [(d.kind, d.text) for d in diff_lines("a\nb\nc\n", "a\nB\nc\n", "old", "new")]
    assert kinds == [("file", "--- old"), ("file", "+++ new"), ("hunk", "@@ -1,3 +1,3 @@"), ("same", " a"),
                     ("del", "-b"), ("add", "+B"), ("same", " c")]


def test_rollback_restores_the_old_bytes_and_the_running_app_serves_them(
        app: Any, admin: Any, flows_dir: Path, reload_at_once: None) -> None:
    store = extensions.flows_store(app)
    original = (flows_dir / "centre.yml").read_bytes()
    _text, base, token = open_editor(admin, "centre.yml")
    save(admin, "centre.yml", edited_centre(flows_dir), base, token)
    assert store.get().text("hours_closed_now", "fr") == EDITED_FR
    found, saved = versions(app, "centre.yml")

    token = csrf_of(admin.get(f"/admin/flows/centre.yml/versions/{found.id}").get_data(as_text=True))
    response = admin.post(f"/admin/flows/centre.yml/versions/{found.id}/rollback",
                          data={"csrf_token": token, "comment": "trop familier"})
    assert response.status_code == 302 and response.headers["Location"].endswith("/admin/flows/centre.yml/history")
    assert (flows_dir / "centre.yml").read_bytes() == original
    assert store.get().text("hours_closed_now", "fr") == CLOSED_FR
    assert store.last_error is None
    *_, restored = versions(app, "centre.yml")
    assert (restored.user_id, restored.comment) == (1, f"retour à la version #{found.id} : trop familier")
    assert restored.content.encode("utf-8") == original
    assert [(a.action, a.detail) for a in flow_audit(app)] == [
        ("flow_save", f"centre.yml #{saved.id}"), ("flow_rollback", f"centre.yml #{restored.id} = #{found.id}")]
    assert f"Retour à la version #{found.id} fait" in page(admin.get("/admin/flows/centre.yml/history"))


def test_a_rollback_that_no_longer_fits_the_other_files_is_refused(
        app: Any, admin: Any, flows_dir: Path) -> None:
    menu, base, token = open_editor(admin, "menu.yml")
    with_promo = menu.replace("\nsteps:\n", '\nsteps:\n  promo:\n    say: "Atelier CV jeudi. Tapez 0 pour parler '
                              'à quelqu\'un."\n\n', 1).replace(
        "\nkeywords:\n", "\nkeywords:\n  promo:\n    goto: promo\n    words: {fr: [promo], nl: [promo], en: [promo]}\n", 1)
    assert save(admin, "menu.yml", with_promo, base, token).status_code == 302
    inbox, base, token = open_editor(admin, "inbox.yml")
    news = ('\nsteps:\n  news:\n    say: "Du nouveau."\n    next: promo\n\nkeywords:\n  news:\n    goto: news\n'
            "    words: {fr: [nouveau], nl: [nieuw], en: [news]}\n")
    assert save(admin, "inbox.yml", inbox + news, base, token).status_code == 302
    first = versions(app, "menu.yml")[0]

    token = csrf_of(admin.get(f"/admin/flows/menu.yml/versions/{first.id}").get_data(as_text=True))
    response = admin.post(f"/admin/flows/menu.yml/versions/{first.id}/rollback", data={"csrf_token": token})
    assert response.status_code == 422
    body = page(response)
    assert "Retour refusé" in body and "'promo', which is not a step" in body and "inbox.yml" in body
    assert (flows_dir / "menu.yml").read_text(encoding="utf-8") == with_promo
    assert [a.action for a in flow_audit(app)] == ["flow_save", "flow_save"]


# --- preview -------------------------------------------------------------------------------

def preview(client: Any, file: str, text: str, base: str, token: str, json: bool = False, **fields: str) -> Any:
    data = {"text": text, "base": base, "csrf_token": token, "messages": "horaires", "at": SATURDAY_NIGHT,
            "lang": "fr", "channel": "sms", **fields}
    headers = {"Accept": "application/json"} if json else {}
    return client.post(f"/admin/flows/{file}/preview", data=data, headers=headers)


def test_preview_on_saturday_night_answers_with_the_edited_unsaved_text(
        app: Any, admin: Any, flows_dir: Path) -> None:
    original, base, token = open_editor(admin, "centre.yml")
    response = preview(admin, "centre.yml", edited_centre(flows_dir), base, token)
    assert response.status_code == 200
    body = page(response)
    thread = body.split('id="preview-thread"')[1].split("</ol>")[0]
    assert "horaires" in thread and EDITED_FR in thread and CLOSED_FR not in thread
    assert "samedi 28/11/2026 à 23:10" in body
    assert re.search(r"\d SMS · \d+ caractères · GSM-7", thread)
    assert "compris : opening_hours" in thread
    # nothing saved, nothing sent, nothing in the real database
    assert (flows_dir / "centre.yml").read_text(encoding="utf-8") == original
    assert versions(app, "centre.yml") == []
    assert rows(app, "SELECT COUNT(*) FROM messages")[0][0] == 0
    assert rows(app, "SELECT COUNT(*) FROM contacts")[0][0] == 0


def test_preview_messages_are_not_counted_in_the_metrics(app: Any, admin: Any, flows_dir: Path) -> None:
    from prometheus_client import REGISTRY

    from tests.conftest import Phone

    def inbound() -> float:
        return sum(s.value for m in REGISTRY.collect() if m.name == "relais_inbound_messages"
                   for s in m.samples if s.name.endswith("_total"))

    text, base, token = open_editor(admin, "centre.yml")
    before = inbound()
    assert preview(admin, "centre.yml", text, base, token, messages="horaires\n2").status_code == 200
    after_preview = inbound()
    Phone(app, "+32470000093").text("horaires")  # a real message does count

    assert after_preview == before
    assert inbound() == before + 1


def test_preview_speaks_the_chosen_language_and_takes_a_weekday_in_words(
        admin: Any, flows_dir: Path) -> None:
    text, base, token = open_editor(admin, "centre.yml")
    data = preview(admin, "centre.yml", text, base, token, json=True, lang="en", at="",
                   when="Saturday 23:10", messages="hours\n\n2").get_json()
    assert data["ok"] is True
    answer = html.unescape(data["html"])
    assert "We are closed now" in answer and "samedi" in answer and "à 23:10" in answer
    assert answer.count('class="msg in"') == 2  # the empty line is no message


def test_preview_says_the_centre_s_name_in_the_form_the_sentence_needs(admin: Any, flows_dir: Path) -> None:
    text, base, token = open_editor(admin, "centre.yml")
    assert text.count("fr: le CPAS de Saint-Gilles") == 1
    edited = text.replace("fr: le CPAS de Saint-Gilles", "fr: la Maison de quartier Moulins")

    answers = {}
    for name, centre in (("shipped", text), ("edited", edited)):
        data = preview(admin, "centre.yml", centre, base, token, json=True, messages="aide").get_json()
        assert data["ok"] is True
        answers[name] = html.unescape(data["html"])

    assert "le robot SMS du CPAS de Saint-Gilles." in answers["shipped"]
    assert "le robot SMS de la Maison de quartier Moulins." in answers["edited"]
    assert "de le " not in answers["shipped"] and "de la Maison" not in answers["shipped"]


def test_preview_of_a_broken_edit_shows_the_errors_instead(admin: Any, flows_dir: Path) -> None:
    text, base, token = open_editor(admin, "centre.yml")
    broken = text.replace("  saturday: []", '  saturday: ["23:00-25:00"]')
    data = preview(admin, "centre.yml", broken, base, token, json=True).get_json()
    assert data["ok"] is False
    assert data["problems"][0]["file"] == "centre.yml" and data["problems"][0]["level"] == "error"
    assert "preview-thread" not in data["html"] and "Pas d'aperçu" in html.unescape(data["html"])


def test_preview_refuses_a_moment_it_does_not_understand(admin: Any) -> None:
    text, base, token = open_editor(admin, "centre.yml")
    body = page(preview(admin, "centre.yml", text, base, token, when="la semaine des quatre jeudis"))
    assert "n'est pas une date" in body and 'id="preview-thread"' not in body


@pytest.mark.parametrize(("words", "expected"), [
    ("Saturday 23:10", "2026-11-28 23:10"), ("samedi 23h10", "2026-11-28 23:10"), ("sam. 23h", "2026-11-28 23:00"),
    ("zaterdag 23:10", "2026-11-28 23:10"), ("mercredi 9:05", "2026-11-25 09:05"),
    ("demain 9h", "2026-11-26 09:00"), ("aujourd'hui 14:00", "2026-11-25 14:00"),
    ("2026-12-24T10:00", "2026-12-24 10:00"), ("2026-12-24 10:00", "2026-12-24 10:00"),
])
def test_a_preview_moment_can_be_written_in_words(words: str, expected: str) -> None:
    wednesday = datetime(2026, 11, 25, 16, 0, tzinfo=BRUSSELS)
    moment = parse_moment(words, wednesday)
    assert moment.strftime("%Y-%m-%d %H:%M") == expected and moment.tzinfo == BRUSSELS


@pytest.mark.parametrize("words", ["ma 10:00", "someday 10:00", "samedi 25:00", "samedi"])
def test_a_moment_that_means_nothing_is_refused(words: str) -> None:
    with pytest.raises(ValueError):
        parse_moment(words, datetime(2026, 11, 25, 16, 0, tzinfo=BRUSSELS))



def test_two_saves_at_once_take_turns_on_the_folder(tmp_path: Path) -> None:
    order: list[tuple[str, int]] = []

    def write(n: int) -> None:
        with folder_lock(tmp_path):
            order.append(("start", n))
            time.sleep(0.2)
            order.append(("end", n))

    threads = [threading.Thread(target=write, args=(n,)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [step for step, _ in order] == ["start", "end", "start", "end"]
    assert list(tmp_path.iterdir()) == []  # no lock file left behind
