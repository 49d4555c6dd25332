"""The conversation engine: state + message + clock + flows -> new state, replies, actions.

Pure code: no Flask, Redis, Twilio, SQL or HTTP here. The caller asks `interpret`
first; when it answers None the message is free text, the caller asks the NLU service
(or the fallback classifier) and hands the result to `respond`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime

from rapidfuzz import fuzz

from bot import answers
from bot.flows import Choice, Flows, Step
from bot.lang import detect
from bot.text import as_number, clean, normalize

MAX_CHAIN = 6  # steps followed in one turn through `next`
MAX_REPLY = 1600  # Twilio's limit for one message body
FUZZY_MIN = 85


@dataclass(frozen=True)
class State:
    """What the bot remembers of one contact between messages (kept in Redis)."""

    lang: str | None = None
    lang_locked: bool = False
    step: str | None = None
    turns: int = 0

    def to_dict(self) -> dict[str, object]:
        """A JSON-ready copy."""
        return dict(self.__dict__)

    @classmethod
    def from_dict(cls, raw: dict[str, object] | None) -> State:
        """Rebuild a state, ignoring keys an older or newer version wrote."""
        raw = raw or {}
        known = {k: raw[k] for k in cls.__dataclass_fields__ if k in raw}
        return cls(**known)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Incoming:
    """A message as the engine sees it."""

    text: str
    channel: str = "sms"
    num_media: int = 0
    country: str | None = None
    reference: str = ""  # the reference of the case this message may open or join


@dataclass(frozen=True)
class Interpretation:
    """What a message means: a step to go to, or an intent with a confidence."""

    intent: str | None
    confidence: float
    source: str  # "menu", "keyword", "nlu", "fallback", "input"
    goto: str | None = None
    language: str | None = None
    reason: str | None = None  # why, in words a social worker reads (crisis triage)


@dataclass(frozen=True)
class OpenCase:
    """Action: open a case for a social worker."""

    priority: str
    reason: str


@dataclass(frozen=True)
class OptOut:
    """Action: the person asked for no more messages."""


@dataclass(frozen=True)
class OptIn:
    """Action: the person asked to get messages again (START)."""


@dataclass(frozen=True)
class Outcome:
    """What the engine decided for one message."""

    state: State
    replies: list[str]
    actions: list[object] = field(default_factory=list)
    intent: str | None = None
    confidence: float = 0.0
    priority: str | None = None
    language: str = "fr"
    source: str = "input"


def interpret(state: State, message: Incoming, flows: Flows) -> Interpretation | None:
    """Understand menu digits, number words, keywords and menu labels; None means free text."""
    text = clean(message.text)
    if not text:
        goto = "media_only" if message.num_media else "empty"
        return Interpretation(None, 1.0, "input", goto=goto)
    number = as_number(text)
    if number is not None:
        return _by_number(state, number, flows)
    norm = normalize(text)
    keyword = _keyword(norm, flows)
    if keyword:
        return keyword
    return _by_label(state, norm, flows)


def _menu_choices(state: State, flows: Flows) -> tuple[Choice, ...]:
    step = flows.steps.get(state.step or "")
    if step and step.choices:
        return step.choices
    return flows.steps[flows.start].choices


def _to_step(step: str, source: str, flows: Flows) -> Interpretation:
    """Going to a step, labelled with the intent that leads there (for records and stats)."""
    intent = next((r.intent for r in flows.intents.values() if r.step == step), None)
    return Interpretation(intent, 1.0, source, goto=step)


def _by_number(state: State, number: int, flows: Flows) -> Interpretation:
    if number == 0:
        return _to_step(flows.human, "menu", flows)
    choices = _menu_choices(state, flows)
    if 1 <= number <= len(choices):
        return _to_step(choices[number - 1].goto, "menu", flows)
    return _to_step("not_understood", "menu", flows)


def _keyword(norm: str, flows: Flows) -> Interpretation | None:
    for keyword in flows.keywords:
        for words in keyword.words.values():
            if norm in words:
                meaning = _to_step(keyword.goto or flows.start, "keyword", flows)
                return replace(meaning, language=keyword.language)
    return None


def _by_label(state: State, norm: str, flows: Flows) -> Interpretation | None:
    if len(norm.split()) > 3:
        return None
    for choice in _menu_choices(state, flows):
        candidates = [normalize(label) for label in choice.label.values()]
        candidates += [w for words in choice.keywords.values() for w in words]
        for candidate in candidates:
            if norm == candidate or (len(norm) >= 5 and fuzz.ratio(norm, candidate) >= FUZZY_MIN):
                return _to_step(choice.goto, "menu", flows)
    return None


def respond(state: State, message: Incoming, meaning: Interpretation, now: datetime,
            flows: Flows) -> Outcome:
    """Follow the flow for one understood message and say what to answer and do."""
    lang, locked = _language(state, message, meaning, flows)
    step_name = meaning.goto or _step_for_intent(meaning.intent, flows)
    ctx = answers.Context(flows, lang, now, message)
    parts: list[str] = []
    actions: list[object] = []
    last = state.step
    for _ in range(MAX_CHAIN):
        step = flows.steps[step_name]
        parts.append(_render(step, ctx))
        actions.extend(_actions(step, meaning))
        last = step.name
        if not step.next:
            break
        step_name = step.next
    priority = None
    for action in actions:
        if isinstance(action, OpenCase):
            priority = _max_priority(priority, action.priority)
    new_state = replace(state, lang=lang, lang_locked=locked, step=last, turns=state.turns + 1)
    return Outcome(new_state, split_reply("\n".join(p for p in parts if p)), actions,
                   meaning.intent, meaning.confidence, priority, lang, meaning.source)


def _step_for_intent(intent: str | None, flows: Flows) -> str:
    route = flows.intents.get(intent or "")
    return route.step if route else "not_understood"


def _language(state: State, message: Incoming, meaning: Interpretation,
              flows: Flows) -> tuple[str, bool]:
    if meaning.language in flows.languages:
        return meaning.language, True  # type: ignore[return-value]
    current = state.lang or flows.default_language
    if state.lang_locked:
        return current, True
    guess, strength = detect(message.text)
    if guess in flows.languages and (state.lang is None or strength >= 2):
        return guess, state.turns >= 2
    return current, False


def _render(step: Step, ctx: answers.Context) -> str:
    if step.say is None:
        return ""
    text = step.say.get(ctx.lang) or step.say[ctx.flows.default_language]
    body = text.format_map(ctx)
    if step.choices:
        body = "\n".join([body, answers.menu_lines(step.choices, ctx)])
    return body.strip()


def _actions(step: Step, meaning: Interpretation) -> list[object]:
    actions: list[object] = []
    if step.open_case:
        reason = meaning.reason or f"{meaning.source}: {meaning.intent or step.name} ({meaning.confidence:.2f})"
        actions.append(OpenCase(step.open_case, reason))
    if step.do == "stop":
        actions.append(OptOut())
    if step.do == "start":
        actions.append(OptIn())
    return actions


def _max_priority(a: str | None, b: str | None) -> str | None:
    order = {None: 0, "normal": 1, "urgent": 2}
    return a if order[a] >= order[b] else b


def split_reply(text: str, limit: int = MAX_REPLY) -> list[str]:
    """Cut a reply into messages of at most limit characters, at line breaks when possible."""
    text = text.strip()
    if not text:
        return []
    chunks: list[str] = []
    current = ""
    for line in text.split("\n"):
        while len(line) > limit:
            if current:
                chunks.append(current)
                current = ""
            chunks.append(line[:limit])
            line = line[limit:]
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) > limit:
            chunks.append(current)
            current = line
        else:
            current = candidate
    if current:
        chunks.append(current)
    return chunks
