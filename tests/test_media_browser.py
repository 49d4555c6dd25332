"""Media in the inbox, in a real browser (Debian's Chromium through Playwright) against the
live app; the photo and the voice note come from the local fake of Twilio, through the app."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import Browser

from tests.conftest import Phone, make_user, rows
from tests.test_browser import case_of, log_in
from tests.test_media import fake_media


def test_the_inbox_shows_a_photo_that_loaded_and_plays_a_voice_note_through_the_app(
        live: Any, browser: Browser) -> None:
    app, server = live
    make_user(app)
    person = Phone(app, "whatsapp:+32470100101")
    person.text("c'est cette lettre", **fake_media(app, "photo.png"))
    person.text("", **fake_media(app, "voice.mp3"))
    case_id = case_of(app, "whatsapp:+32470100101")
    photo, voice = (int(r[0]) for r in rows(app, "SELECT id FROM messages WHERE direction = 'in' ORDER BY id"))

    page = browser.new_page()
    media_responses: list[Any] = []
    page.on("response", lambda r: media_responses.append(r) if "/media/" in r.url else None)
    log_in(page, server.url)
    page.goto(f"{server.url}/inbox/cases/{case_id}")

    image = page.locator(f'img[src="/inbox/messages/{photo}/media/0"]')
    image.wait_for(timeout=15_000)
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=image.element_handle(),
                           timeout=15_000)
    assert image.evaluate("img => [img.naturalWidth, img.naturalHeight]") == [96, 128]

    audio = page.locator(f'audio[src="/inbox/messages/{voice}/media/0"]')
    page.wait_for_function("a => a.readyState >= 1", arg=audio.element_handle(),
                           timeout=15_000)
    fetched = page.evaluate("src => fetch(src).then(r => [r.status, r.headers.get('content-type')])",
                            audio.get_attribute("src"))
    assert fetched == [200, "audio/mpeg"]

    assert media_responses and all(r.url.startswith(server.url + "/inbox/") for r in media_responses)
    assert "twilio" not in page.content().lower()

    # a new message arrives by polling; the voice message and the photo are not loaded again
    page.evaluate("() => { window.voiceNode = document.querySelector('audio');"
                  " window.photoNode = document.querySelector('#messages img'); }")
    fetched_before = len(media_responses)
    person.text("vous avez vu ?")
    page.wait_for_function("() => document.querySelector('#messages').innerText.includes('vous avez vu ?')",
                           timeout=15_000)
    assert page.evaluate("() => document.querySelector('audio') === window.voiceNode"
                         " && document.querySelector('#messages img') === window.photoNode")
    assert len(media_responses) == fetched_before


def test_the_dev_phone_sends_a_photo_and_a_location(live: Any, browser: Browser) -> None:
    app, server = live
    page = browser.new_page()
    page.goto(server.url + "/dev/phone")
    page.fill("#from", "+32470100111")
    page.select_option("#channel", "whatsapp")
    page.fill("#send input[name=body]", "c'est cette lettre")
    page.click("button[data-media=photo]")
    page.wait_for_function("() => document.querySelectorAll('#thread .bot').length >= 1", timeout=15_000)
    assert "regarder votre photo" in page.inner_text("#thread")
    page.click("button[data-location]")
    page.wait_for_function("() => document.querySelectorAll('#thread .bot').length >= 2", timeout=15_000)
    assert "nous avons reçu votre position" in page.inner_text("#thread")
    kinds = [r[0] for r in rows(app, "SELECT media FROM messages WHERE direction = 'in' ORDER BY id")]
    assert "photo.png" in str(kinds[0]) and "location" in str(kinds[1])
