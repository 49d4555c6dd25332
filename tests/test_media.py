"""Messages that are not only text: voice notes, photos, documents, shared locations.

Through the real webhook, database and Redis; Twilio's media are served by the app's own
fake (/dev/twilio) on a live port, which the inbox's media route fetches like Twilio's.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.conftest import FIXED_FLOWS, Clock, Phone, rows

SATURDAY_NIGHT = "2026-11-28 23:10"
VOICE = {"NumMedia": "1", "MediaUrl0": "https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME1",
         "MediaContentType0": "audio/ogg"}
PHOTO = {"NumMedia": "1", "MediaUrl0": "https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM2/Media/ME2",
         "MediaContentType0": "image/jpeg"}
LOCATION = {"Latitude": "50.8274", "Longitude": "4.3459", "Address": "Place Van Meenen 39, Saint-Gilles",
            "Label": "Maison communale"}


def cases_of(app: Any, address: str) -> list[Any]:
    return rows(app, "SELECT cases.id, cases.priority, cases.reason, cases.message_id, cases.reference "
                     "FROM cases JOIN contacts ON contacts.id = cases.contact_id "
                     "WHERE contacts.address = :a ORDER BY cases.id", a=address)


def media_of(app: Any, message_id: int) -> list[dict[str, str]]:
    raw = rows(app, "SELECT media FROM messages WHERE id = :i", i=message_id)[0][0]
    return raw if raw is None or isinstance(raw, list) else json.loads(raw)


@pytest.fixture
def saturday(app: Any, clock: Clock) -> Any:
    """The app on Saturday night: the centre opens again on Monday at 9."""
    clock.set(SATURDAY_NIGHT)
    return app


# --- a voice note, a photo, a document alone ------------------------------------------------

def test_a_voice_note_opens_a_normal_case_and_says_someone_will_listen_on_monday(saturday: Any) -> None:
    phone = Phone(saturday, "whatsapp:+32470100001")
    reply = " ".join(phone.text("", **VOICE))
    assert "écouter votre message vocal lundi à 9h" in reply
    assert "Je lis seulement le texte" not in reply
    [(case_id, priority, reason, message_id, reference)] = cases_of(saturday, "whatsapp:+32470100001")
    assert priority == "normal" and reason == "voice message received"
    assert f"Votre référence : {reference}" in reply
    assert media_of(saturday, message_id)[0]["type"] == "audio/ogg"


def test_a_photo_alone_says_someone_will_look_and_a_document_someone_will_read(saturday: Any) -> None:
    photo = " ".join(Phone(saturday, "whatsapp:+32470100002").text("", **PHOTO))
    assert "regarder votre photo lundi à 9h" in photo
    pdf = dict(PHOTO, MediaContentType0="application/pdf")
    document = " ".join(Phone(saturday, "whatsapp:+32470100003").text("", **pdf))
    assert "lire votre document lundi à 9h" in document
    assert cases_of(saturday, "whatsapp:+32470100002")[0][1] == "normal"
    assert cases_of(saturday, "whatsapp:+32470100003")[0][2] == "document received"


def test_during_opening_hours_the_answer_says_today(app: Any, clock: Clock) -> None:
    clock.set("2026-12-01 10:00")  # a Tuesday morning
    reply = " ".join(Phone(app, "whatsapp:+32470100004").text("", **VOICE))
    assert "écouter votre message vocal aujourd'hui, pendant les heures d'ouverture" in reply


def test_a_voice_note_from_a_dutch_speaker_is_answered_in_dutch(saturday: Any) -> None:
    phone = Phone(saturday, "whatsapp:+32470100005")
    phone.text("NL")
    reply = " ".join(phone.text("", **VOICE))
    assert "beluistert uw spraakbericht maandag om 9u" in reply


# --- a caption is read as text ----------------------------------------------------------------

def test_a_photo_captioned_this_letter_leads_to_the_letter_procedure_and_opens_a_case_with_it(
        saturday: Any) -> None:
    phone = Phone(saturday, "whatsapp:+32470100011")
    reply = "\n".join(phone.text("c'est cette lettre", **PHOTO))
    assert "pas bien compris" not in reply
    assert "Une lettre que vous ne comprenez pas ?" in reply  # the letter procedure (procedures.yml)
    assert "regarder votre photo lundi à 9h" in reply
    assert reply.index("regarder votre photo") < reply.index("Une lettre")  # the photo first
    [(_id, priority, reason, message_id, reference)] = cases_of(saturday, "whatsapp:+32470100011")
    assert priority == "normal" and "photo" in reason and "proc_letter" in reason
    assert f"Votre référence : {reference}" in reply
    assert media_of(saturday, message_id) == [{"url": PHOTO["MediaUrl0"], "type": "image/jpeg"}]
    assert rows(saturday, "SELECT body FROM messages WHERE id = :i", i=message_id)[0][0] == "c'est cette lettre"
    # the person is at the letter procedure: "1" gives the documents to bring
    assert "Apportez : la lettre" in phone.text("1")[0]


def test_the_same_caption_with_the_nlu_up_also_leads_to_the_letter_procedure(
        nlu_app: Any, clock: Clock) -> None:
    clock.set(SATURDAY_NIGHT)
    reply = "\n".join(Phone(nlu_app, "whatsapp:+32470100012").text("c'est cette lettre", **PHOTO))
    assert "Une lettre que vous ne comprenez pas ?" in reply and "regarder votre photo" in reply
    assert cases_of(nlu_app, "whatsapp:+32470100012")[0][1] == "normal"


def test_a_caption_nobody_understands_gets_the_media_answer_not_i_did_not_understand(saturday: Any) -> None:
    reply = " ".join(Phone(saturday, "whatsapp:+32470100013").text("regarde ça", **PHOTO))
    assert "pas bien compris" not in reply
    assert "regarder votre photo lundi à 9h" in reply
    assert cases_of(saturday, "whatsapp:+32470100013")[0][1] == "normal"


def test_a_caption_that_holds_a_stop_word_never_opts_the_person_out(saturday: Any) -> None:
    reply = " ".join(Phone(saturday, "whatsapp:+32470100015").text("l'arret de bus ici", **PHOTO))
    assert "ne recevrez plus" not in reply and "regarder votre photo" in reply
    assert rows(saturday, "SELECT opted_out FROM contacts WHERE address = 'whatsapp:+32470100015'")[0][0] in (0, False)


def test_the_same_caption_without_a_photo_is_still_answered_as_text_only(saturday: Any) -> None:
    reply = " ".join(Phone(saturday, "whatsapp:+32470100014").text("c'est cette lettre"))
    assert "regarder votre photo" not in reply
    assert cases_of(saturday, "whatsapp:+32470100014") == []


def test_an_urgent_caption_on_a_photo_gives_an_urgent_case_and_the_emergency_numbers(saturday: Any) -> None:
    reply = " ".join(Phone(saturday, "whatsapp:+32470100021").text("il me frappe, regardez mon bras", **PHOTO))
    assert "112" in reply and "0800 30 030" in reply
    [(_id, priority, _reason, message_id, _ref)] = cases_of(saturday, "whatsapp:+32470100021")
    assert priority == "urgent"
    assert media_of(saturday, message_id)[0]["type"] == "image/jpeg"


def test_a_photo_on_a_waiting_case_joins_it_without_a_second_case(saturday: Any) -> None:
    phone = Phone(saturday, "whatsapp:+32470100022")
    phone.text("0")  # talk to someone: a case opens
    phone.text("", **PHOTO)
    assert len(cases_of(saturday, "whatsapp:+32470100022")) == 1


def test_a_voice_note_answering_what_it_is_about_is_the_answer_and_the_questions_go_on(saturday: Any) -> None:
    phone = Phone(saturday, "whatsapp:+32470100023")
    assert "de quoi s'agit-il ?" in phone.text("0")[0]
    reply = "\n".join(phone.text("", **VOICE))
    assert "écouter votre message vocal lundi à 9h" in reply
    assert "Quand pouvons-nous vous appeler ?" in reply  # the next question of talk.yml
    [(_id, priority, reason, _message, _ref)] = cases_of(saturday, "whatsapp:+32470100023")
    assert priority == "normal" and "topic: (message vocal)" in reason
    phone.text("1")  # le matin
    assert "callback: le matin" in cases_of(saturday, "whatsapp:+32470100023")[0][2]


# --- a shared location ------------------------------------------------------------------------

def test_a_shared_location_gets_an_answer_and_opens_a_case_where_it_shows(saturday: Any, worker: Any) -> None:
    phone = Phone(saturday, "whatsapp:+32470100031")
    reply = " ".join(phone.text("", **LOCATION))
    assert "Merci, nous avons reçu votre position." in reply and "lundi à 9h" in reply
    assert "vide" not in reply
    [(case_id, priority, reason, message_id, _ref)] = cases_of(saturday, "whatsapp:+32470100031")
    assert priority == "normal" and reason == "location received"
    assert media_of(saturday, message_id) == [{"kind": "location", "latitude": "50.827400",
                                              "longitude": "4.345900", "label": "Maison communale",
                                              "address": "Place Van Meenen 39, Saint-Gilles"}]
    page = worker.get(f"/inbox/cases/{case_id}").get_data(as_text=True)
    assert "Maison communale" in page and "Place Van Meenen 39, Saint-Gilles" in page
    assert "50.827400, 4.345900" in page
    assert 'href="https://www.openstreetmap.org/?mlat=50.827400&amp;mlon=4.345900#map=18/50.827400/4.345900"' in page
    assert "<iframe" not in page


def test_a_location_out_of_range_is_not_kept(saturday: Any) -> None:
    reply = " ".join(Phone(saturday, "whatsapp:+32470100032").text("", Latitude="nan", Longitude="4.3"))
    assert "vide" in reply
    message_id = rows(saturday, "SELECT id FROM messages WHERE direction = 'in'")[0][0]
    assert media_of(saturday, message_id) is None


# --- the inbox streams media from Twilio (here the local fake, on a live port) ---------------

def fake_media(app: Any, name: str, query: str = "") -> dict[str, str]:
    """Twilio's form fields for one attachment served by the fake at a Twilio-shaped URL."""
    from bot.web.dev import PHONE_MEDIA, media_url

    types = {name: t for name, t in PHONE_MEDIA.values()} | {"drawing.svg": "image/svg+xml"}
    with app.app_context():
        url = media_url("SM" + "a" * 32, name) + (f"?{query}" if query else "")
    return {"NumMedia": "1", "MediaUrl0": url, "MediaContentType0": types.get(name, "image/png")}


def logged_in(app: Any) -> Any:
    from tests.conftest import log_in, make_user

    make_user(app)
    client = app.test_client()
    assert log_in(client).status_code == 302
    return client


def inbound_id(app: Any, address: str) -> int:
    return int(rows(app, "SELECT messages.id FROM messages JOIN contacts ON contacts.id = messages.contact_id "
                         "WHERE contacts.address = :a AND direction = 'in' ORDER BY messages.id DESC", a=address)[0][0])


def test_the_inbox_streams_a_photo_through_the_app_with_twilio_credentials_and_its_redirect(live: Any) -> None:
    app, _server = live
    Phone(app, "whatsapp:+32470100041").text("", **fake_media(app, "photo.png"))
    message_id = inbound_id(app, "whatsapp:+32470100041")
    answer = logged_in(app).get(f"/inbox/messages/{message_id}/media/0")
    assert answer.status_code == 200
    assert answer.mimetype == "image/png"
    assert answer.data == (Path(__file__).parent.parent / "bot/web/static/dev/photo.png").read_bytes()
    assert answer.headers["Content-Disposition"].startswith("inline")
    assert answer.headers["X-Content-Type-Options"] == "nosniff"
    assert answer.headers["Content-Security-Policy"] == "default-src 'none'; sandbox"
    assert answer.headers["Cache-Control"] == "no-store"
    audited = rows(app, "SELECT action, detail FROM audit_log WHERE action = 'view_media'")
    assert audited == [("view_media", f"message {message_id} media 0")]


def test_the_fake_twilio_wants_the_account_credentials_for_a_media(live: Any) -> None:
    app, server = live
    url = fake_media(app, "photo.png")["MediaUrl0"]
    assert requests.get(url, timeout=5, allow_redirects=False).status_code == 401


def test_a_pdf_is_only_offered_as_a_download(live: Any) -> None:
    app, _server = live
    Phone(app, "whatsapp:+32470100042").text("", **fake_media(app, "letter.pdf"))
    client = logged_in(app)
    answer = client.get(f"/inbox/messages/{inbound_id(app, 'whatsapp:+32470100042')}/media/0")
    assert answer.status_code == 200 and answer.mimetype == "application/pdf"
    assert answer.headers["Content-Disposition"].startswith("attachment")
    assert answer.headers["X-Content-Type-Options"] == "nosniff"
    assert answer.data.startswith(b"%PDF")


def test_the_media_route_refuses_anonymous_users(live: Any) -> None:
    app, _server = live
    Phone(app, "whatsapp:+32470100043").text("", **fake_media(app, "photo.png"))
    answer = app.test_client().get(f"/inbox/messages/{inbound_id(app, 'whatsapp:+32470100043')}/media/0")
    assert answer.status_code in (302, 401)
    assert b"PNG" not in answer.data
    assert rows(app, "SELECT COUNT(*) FROM audit_log WHERE action = 'view_media'")[0][0] == 0


def test_the_media_route_never_fetches_a_url_off_twilios_hosts(live: Any) -> None:
    app, _server = live
    hits: list[str] = []

    class Bait(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
            hits.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.end_headers()
            self.wfile.write(b"\x89PNG bait")

        def log_message(self, *args: Any) -> None:
            pass

    bait = HTTPServer(("127.0.0.1", 0), Bait)
    threading.Thread(target=bait.serve_forever, daemon=True).start()
    try:
        client = logged_in(app)
        for n, url in enumerate([f"http://127.0.0.1:{bait.server_port}/latest/meta-data.png",
                                 f"https://127.0.0.1:{bait.server_port}/x.png",
                                 "https://api.twilio.com.evil.example/photo.png"]):
            address = f"whatsapp:+3247010005{n}"
            Phone(app, address).text("", NumMedia="1", MediaUrl0=url, MediaContentType0="image/png")
            answer = client.get(f"/inbox/messages/{inbound_id(app, address)}/media/0")
            assert answer.status_code == 403, url
            assert b"bait" not in answer.data
    finally:
        bait.shutdown()
    assert hits == []


@pytest.mark.parametrize(("name", "query"), [("drawing.svg", ""), ("photo.png", "as=text/html"),
                                              ("page.html", "as=image/png")])
def test_svg_and_html_are_never_served_even_when_declared_or_served_as_an_image(
        live: Any, name: str, query: str) -> None:
    app, _server = live
    Phone(app, "whatsapp:+32470100061").text("", **fake_media(app, name, query))
    answer = logged_in(app).get(f"/inbox/messages/{inbound_id(app, 'whatsapp:+32470100061')}/media/0")
    assert answer.status_code == 415
    assert answer.mimetype == "text/plain"
    assert b"<svg" not in answer.data and b"<script" not in answer.data


def test_a_media_over_the_size_cap_is_refused(make_app: Any) -> None:
    import socket

    from tests.conftest import LiveServer

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    app = make_app(PUBLIC_BASE_URL=base, TWILIO_API_BASE_URL=base + "/dev/twilio", MEDIA_MAX_BYTES=100)
    server = LiveServer(app, port)
    try:
        Phone(app, "whatsapp:+32470100062").text("", **fake_media(app, "voice.mp3"))
        answer = logged_in(app).get(f"/inbox/messages/{inbound_id(app, 'whatsapp:+32470100062')}/media/0")
        assert answer.status_code == 413
    finally:
        server.stop()


def test_the_thread_shows_a_photo_an_audio_player_and_a_pdf_link_without_any_twilio_url(live: Any) -> None:
    app, _server = live
    phone = Phone(app, "whatsapp:+32470100071")
    phone.text("c'est cette lettre", **fake_media(app, "photo.png"))
    phone.text("", **fake_media(app, "voice.mp3"))
    phone.text("", **fake_media(app, "drawing.svg"))
    case_id = cases_of(app, "whatsapp:+32470100071")[0][0]
    page = logged_in(app).get(f"/inbox/cases/{case_id}").get_data(as_text=True)
    photo, voice, drawing = (int(r[0]) for r in rows(
        app, "SELECT id FROM messages WHERE direction = 'in' ORDER BY id"))
    assert f'<img src="/inbox/messages/{photo}/media/0"' in page
    assert f'<audio controls preload="metadata" src="/inbox/messages/{voice}/media/0">' in page
    assert f"/inbox/messages/{drawing}/media/0" not in page  # an SVG is not even linked
    assert "type non autorisé (image/svg+xml)" in page
    assert "twilio" not in page.lower()


def test_the_dev_phone_signs_a_voice_note_whose_media_the_fake_serves(live: Any) -> None:
    app, server = live
    client = app.test_client()
    signed = client.post("/dev/phone/sign", json={"from": "+32470100081", "channel": "whatsapp",
                                                  "body": "", "media": "voice"}).get_json()
    params = signed["params"]
    assert params["NumMedia"] == "1" and params["MediaContentType0"] == "audio/mpeg"
    assert params["MediaUrl0"].startswith(server.url + "/dev/twilio/2010-04-01/Accounts/")
    answer = client.post(signed["url"], data=params, headers={"X-Twilio-Signature": signed["signature"]})
    assert "écouter votre message vocal" in answer.get_data(as_text=True)
    voice = logged_in(app).get(f"/inbox/messages/{inbound_id(app, 'whatsapp:+32470100081')}/media/0")
    assert voice.status_code == 200 and voice.mimetype == "audio/mpeg" and voice.data[:2] == b"\xff\xfb"


def test_the_dev_phone_shares_a_location(app: Any) -> None:
    client = app.test_client()
    signed = client.post("/dev/phone/sign", json={"from": "+32470100082", "channel": "whatsapp",
                                                  "body": "", "location": True}).get_json()
    assert signed["params"]["Body"] == "" and signed["params"]["Latitude"]
    answer = client.post(signed["url"], data=signed["params"], headers={"X-Twilio-Signature": signed["signature"]})
    assert "nous avons reçu votre position" in answer.get_data(as_text=True)


def test_only_twilios_media_hosts_or_the_configured_fake_are_fetched() -> None:
    from bot.adapters.twilio_media import allowed_url

    fake = "http://127.0.0.1:5000/dev/twilio"
    assert allowed_url("https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME1")
    assert allowed_url("https://media.twiliocdn.com/AC1/abc")
    assert allowed_url("https://mcs.us1.twilio.com/v1/Services/IS1/Media/ME1")
    assert allowed_url(fake + "/2010-04-01/Accounts/AC1/Messages/MM1/Media/photo.png", fake)
    for url in ["http://api.twilio.com/x",  # not https: the credentials would go in clear
                "https://api.twilio.com.evil.example/x", "https://eviltwilio.com/x",
                "https://user@169.254.169.254/latest", "file:///etc/passwd",
                "http://127.0.0.1:5000/dev/phone/messages", "http://127.0.0.1:5000/dev/twilio/../../inbox",
                "http://127.0.0.1:5001/dev/twilio/x"]:
        assert not allowed_url(url, fake), url
    assert not allowed_url(fake + "/x")  # the fake only counts when configured (dev mode)


def test_a_file_is_only_served_when_its_first_bytes_fit_its_type() -> None:
    from bot.adapters.twilio_media import looks_like

    assert looks_like("image/png", (Path(__file__).parent.parent / "bot/web/static/dev/photo.png").read_bytes())
    assert looks_like("image/jpeg", b"\xff\xd8\xff\xe0\x00\x10JFIF")
    assert looks_like("audio/ogg", b"OggS\x00\x02")
    assert looks_like("video/mp4", b"\x00\x00\x00\x18ftypmp42")
    assert looks_like("image/webp", b"RIFF\x24\x00\x00\x00WEBPVP8 ")
    assert not looks_like("image/png", b"<!doctype html><script>")
    assert not looks_like("image/webp", b"RIFF\x24\x00\x00\x00WAVEfmt ")
    assert not looks_like("audio/mpeg", b"<svg xmlns=")
    assert not looks_like("application/pdf", b"<html>")


def test_the_kind_of_each_attachment_and_of_a_location() -> None:
    from bot.core.media import describe, kinds

    entries = [{"url": "u", "type": "audio/ogg; codecs=opus"}, {"url": "u", "type": "image/jpeg"},
               {"kind": "location", "latitude": "1", "longitude": "2"}]
    assert kinds(entries, 2) == ("audio", "image", "location")
    assert kinds([], 2) == ("image", "image")  # counted by NumMedia, not described
    assert describe(("image", "image", "audio")) == "voice message + 2 photos"


def test_a_caption_is_routed_by_the_nlu_then_the_keywords_then_the_choices_it_names() -> None:
    from bot.core.engine import Incoming, Interpretation, State
    from bot.core.flows import load_flows
    from bot.core.media import route

    flows = load_flows(FIXED_FLOWS)
    letter = Incoming("c'est cette lettre", "whatsapp", 1, media=("image",))
    assert route(Interpretation("admin_procedure", 0.9, "nlu"), letter, flows, State()).goto == "proc_letter"
    not_understood = route(Interpretation("nlu_fallback", 0.3, "nlu"), letter, flows, State())
    assert (not_understood.goto, not_understood.source) == ("proc_letter", "fallback")
    cpas = Incoming("une lettre du cpas", "whatsapp", 1, media=("image",))  # "CPAS" alone names no procedure
    assert route(Interpretation("admin_procedure", 0.9, "nlu"), cpas, flows, State()).goto == "proc_letter"
    menu_digit = Interpretation(None, 1.0, "menu", goto="hours")
    assert route(menu_digit, Incoming("1", media=("image",)), flows, State()) == menu_digit
    text_only = Interpretation("admin_procedure", 0.9, "nlu")
    assert route(text_only, Incoming("c'est cette lettre"), flows, State()) == text_only
