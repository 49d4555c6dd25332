"""Messages that are not only text: voice notes, photos, documents and shared locations. Pure.

What Twilio sends becomes entries of `Message.media` (a JSON list): one per attachment,
`{"url": ..., "type": ...}` at the index of its `MediaUrl{i}`, then, for a shared
location, `{"kind": "location", "latitude": ..., "longitude": ..., "address": ..., "label": ...}`.
The bytes are never copied: the inbox streams them from Twilio when a social worker
looks (bot/adapters/twilio_media.py).

Retention and erasure: the media references (Twilio URLs and the location) live only in
`Message.media`. A job that purges or erases a message must clear `media` (and
`num_media`) with its body, and delete the media on Twilio's side (DELETE on the media
resource), since Twilio keeps the files until then.

The engine sees only the kinds (`Incoming.media`): `route` reads a caption as text and
sends a media-only message to its step; `acknowledge` opens a case so a person looks at
what was sent, and says who will listen or look, and when.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime

from bot.core import answers, engine, fallback
from bot.core.conversation import Incoming, Interpretation, OpenCase, Outcome, State
from bot.core.flowmodel import Flows
from bot.core.lists import by_names
from bot.core.text import as_number, normalize

KINDS = ("audio", "image", "video", "document", "location")
LOCATION_STEP = "location"  # optional in the flows: without it a location gets `media_only`
NOT_UNDERSTOOD = "not_understood"
# What an `ask` keeps when answered with media; social workers read it in the case (French).
SAVED = {"audio": "message vocal", "image": "photo", "video": "vidéo", "document": "document",
         "location": "position partagée"}
REASONS = {"audio": "voice message", "image": "photo", "video": "video", "document": "document",
           "location": "location"}
MAX_FIELD = 200  # characters kept of a location's address and label


def kind_of(content_type: str) -> str:
    """'audio', 'image', 'video' or 'document' for a MIME type (anything else is a document)."""
    major = content_type.split(";")[0].strip().lower().split("/")[0]
    return major if major in ("audio", "image", "video") else "document"


def location_of(form: Mapping[str, str]) -> dict[str, str] | None:
    """The location WhatsApp shared (Latitude, Longitude, Address, Label), or None."""
    try:
        latitude, longitude = float(form.get("Latitude") or ""), float(form.get("Longitude") or "")
    except ValueError:
        return None
    if not (math.isfinite(latitude) and math.isfinite(longitude)
            and -90 <= latitude <= 90 and -180 <= longitude <= 180):
        return None
    return {"kind": "location", "latitude": f"{latitude:.6f}", "longitude": f"{longitude:.6f}",
            "address": _field(form, "Address"), "label": _field(form, "Label")}


def _field(form: Mapping[str, str], name: str) -> str:
    # PostgreSQL cannot hold NUL in text: keep a visible trace of it instead (as parse_form does)
    return str(form.get(name) or "").replace("\x00", "\ufffd")[:MAX_FIELD]


def kinds(entries: tuple[dict[str, str], ...] | list[dict[str, str]], num_media: int = 0) -> tuple[str, ...]:
    """The kind of each entry; attachments counted by NumMedia but not described are photos."""
    found = [e["kind"] if e.get("kind") == "location" else kind_of(e.get("type", "")) for e in entries]
    attachments = sum(1 for e in entries if e.get("kind") != "location")
    return tuple(found + ["image"] * max(0, num_media - attachments))


def route(meaning: Interpretation, message: Incoming, flows: Flows, state: State) -> Interpretation:
    """Where a message with media goes: its caption read as text, or the step for what it is."""
    if not message.media:
        return meaning
    reason = f"{describe(message.media)} received"
    if meaning.goto in ("empty", "media_only"):  # no text: nothing but media or a location
        asked = flows.steps.get(state.step or "")
        if asked is not None and asked.ask is not None and _says_only(asked.ask.goto, flows):
            # "what is it about?" answered with a voice message: that is the answer, the flow goes on
            # (not where the answer is acted on, like a workshop to sign up for)
            return Interpretation(None, 1.0, "answer", goto=asked.ask.goto, language=meaning.language,
                                  save=(asked.ask.save, f"({_saved(message.media)})"))
        goto = "media_only"
        if meaning.goto == "empty" and LOCATION_STEP in flows.steps:
            goto = LOCATION_STEP
        return replace(meaning, goto=goto, reason=reason)
    if meaning.save is not None or meaning.source not in ("nlu", "fallback"):
        return meaning  # a digit, a keyword, an answer: the person chose; the caption is not guessed at
    step = meaning.goto or _step_for(meaning.intent, flows)
    if step == NOT_UNDERSTOOD:
        # a caption is short and about the attachment ("c'est cette lettre"): the keywords may
        # know it when the NLU does not; if not, the media answer, never "I did not understand"
        intent, confidence = fallback.classify(message.text, flows)
        guess = by_names(Interpretation(intent, confidence, "fallback", language=meaning.language),
                         message.text, flows)  # "lettre" names the letter procedure
        step = _step_for(guess.intent, flows)
        if step == NOT_UNDERSTOOD or not _says_only(step, flows):  # a guess never opts anyone out
            return replace(meaning, goto="media_only", reason=reason)
        meaning = guess
    if meaning.intent == fallback.SAFETY_FIRST:
        return meaning
    choice = _choice_named(step, message.text, flows)
    return replace(meaning, goto=choice) if choice and _says_only(choice, flows) else meaning


def _says_only(name: str, flows: Flows) -> bool:
    """True for a step that does nothing (no sign-up, no STOP): safe to reach on a guess."""
    step = flows.steps.get(name)
    return step is not None and step.do is None


def _step_for(intent: str | None, flows: Flows) -> str:
    found = flows.intents.get(intent or "")
    return found.step if found else NOT_UNDERSTOOD


def _choice_named(step_name: str, text: str, flows: Flows) -> str | None:
    """The one choice of step whose keywords the caption holds ("lettre" -> the letter procedure)."""
    step = flows.steps.get(step_name)
    if step is None or not step.choices or as_number(text) is not None:
        return None
    padded = f" {normalize(text)} "
    found = {c.goto for c in step.choices
             if any(f" {w} " in padded for words in c.keywords.values() for w in words if w)}
    return found.pop() if len(found) == 1 else None


def acknowledge(outcome: Outcome, message: Incoming, flows: Flows, now: datetime) -> Outcome:
    """With media the answer to the text is not enough: a case opens so that a person looks.

    When the turn already opened a case (media only, a location, talk to someone, urgent),
    its own text says what happens; otherwise the `media_attached` text comes first.
    """
    if not message.media or any(isinstance(a, OpenCase) for a in outcome.actions):
        return outcome
    answered = "; ".join(f"{k}: {v}" for k, v in outcome.state.data.items() if not k.startswith("_"))
    reason = f"{describe(message.media)} sent (bot answered: {outcome.state.step})"
    if answered:
        reason = f"{reason}; {answered}"
    replies = outcome.replies
    if "media_attached" in flows.texts:
        ctx = answers.Context(flows, outcome.language, now, message, dict(outcome.state.data))
        first = flows.text("media_attached", outcome.language).format_map(ctx)
        replies = engine.split_reply("\n".join([first, *outcome.replies]))
    return replace(outcome, replies=replies, actions=[*outcome.actions, OpenCase("normal", reason)],
                   priority=outcome.priority or "normal")


def _saved(found: tuple[str, ...]) -> str:
    return " + ".join(SAVED[kind] for kind in dict.fromkeys(found))


def describe(found: tuple[str, ...]) -> str:
    """'photo', '2 photos', 'voice message + photo', for case reasons (never the content)."""
    parts = []
    for kind in KINDS:
        count = found.count(kind)
        if count:
            parts.append(REASONS[kind] if count == 1 else f"{count} {REASONS[kind]}s")
    return " + ".join(parts) or "attachment"
