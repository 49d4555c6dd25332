"""The conversation engine: state + message + clock + flows -> new state, replies, actions.

Pure code: no Flask, Redis, Twilio, SQL or HTTP here. The caller asks `interpret`
first; when it answers None the message is free text, the caller asks the NLU service
(or the fallback classifier) and hands the result to `respond`. Workshop actions (sign up,
cancel, accept an offer) are returned like the others, with the result the reply told from
the seats the caller read before (`Seats`); `settle` has the caller apply them and tells
the reply again when the database gave another result.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime

from bot.core import answers, signups, standing
from bot.core.conversation import (
    ActionResult,
    Booking,
    Incoming,
    Interpretation,
    Labelled,
    OpenCase,
    OptIn,
    OptOut,
    Outcome,
    Seats,
    State,
    WorkshopAction,
)
from bot.core.flowmodel import Flows, Step
from bot.core.lang import detect
from bot.core.lists import by_names, list_entries, may_name, named_step, pick_list, workshop_words
from bot.core.reading import (
    ACTIONS_WITH_RESULTS,
    CLOSE_CALL,
    OPTED_OUT_STEP,
    PICKED,
    SHOWN,
    START_STEP,
    STOP_STEP,
    interpret,
    visible_choices,
    while_opted_out,
)

__all__ = ["ACTIONS_WITH_RESULTS", "CLOSE_CALL", "MAX_CHAIN", "MAX_REPLY", "OPTED_OUT_STEP", "PICKED", "SHOWN",
           "START_STEP", "STOP_HINT", "STOP_STEP", "ActionResult", "Booking", "Incoming", "Interpretation",
           "Labelled", "OpenCase", "OptIn", "OptOut", "Outcome", "Seats", "State", "WorkshopAction", "by_names",
           "can_ask_between", "interpret", "list_entries", "needs_seats", "respond", "settle", "split_reply",
           "while_opted_out", "workshop_words"]

MAX_CHAIN = 6  # steps followed in one turn through `next`
MAX_REPLY = 1600  # Twilio's limit for one message body
STOP_HINT = "stop_hint"  # the one-line question for a sentence that holds "stop"


def respond(state: State, message: Incoming, meaning: Interpretation, now: datetime, flows: Flows,
            seats: Seats | None = None, told: Sequence[ActionResult] = ()) -> Outcome:
    """Follow the flow for one understood message and say what to answer and do.

    Args:
        seats: the seats and the person's sign-ups, read before; None: no database (the YAML's seats).
        told: the results the caller's database gave the turn's first workshop actions (see `settle`).
    """
    meaning = while_opted_out(state, message, meaning, flows)
    lang, locked = _language(state, message, meaning, flows)
    if meaning.alternatives and meaning.goto is None:
        return _ask_which(state, message, meaning, lang, locked, flows)
    step_name = meaning.goto or _step_for_intent(meaning.intent, flows)
    asked_about = state.data.get("_asked_about", "") if meaning.source == "asked" else ""
    data = {} if step_name == flows.start else {k: v for k, v in state.data.items()
                                                 if k not in (CLOSE_CALL, "_asked_about")}
    if meaning.save:
        data[meaning.save[0]] = meaning.save[1]
    data.pop(SHOWN, None)
    only: dict[str, list[str]] = {}
    if may_name(message, meaning):
        step_name, only = named_step(step_name, message.text, data, now, flows, seats)
    ctx = answers.Context(flows, lang, now, message, data)
    ctx.seats_left = (lambda key: signups.seats_left(seats, key)) if seats is not None else None
    parts: list[str] = [flows.text(meaning.notice, lang)] if meaning.notice in flows.texts else []
    if meaning.intent != "stop" and meaning.source != "standing" and STOP_HINT in flows.texts \
            and standing.hints_opt_out(message.text):
        parts.append(flows.text(STOP_HINT, lang))  # asked, never unsubscribed by a sentence
    actions: list[object] = [Labelled(int(asked_about), meaning.intent or "")] if asked_about.isdigit() else []
    last, steps, done = state.step, [], 0
    for _ in range(MAX_CHAIN):
        step = flows.steps[step_name]
        steps.append(step.name)
        if step.pick:
            shown = only.pop(step.name, None) or pick_list(step, flows, now, seats)
            if not shown and step.pick.empty:
                step_name = step.pick.empty
                continue
            data[PICKED] = ",".join(shown)
        result = None
        if step.do in ACTIONS_WITH_RESULTS:
            result = _result(step, data, now, flows, seats, told[done] if done < len(told) else None)
            actions.append(WorkshopAction(step.do or "", dict(data), result))
            done += 1
            ctx.update(result.values)
        parts.append(_render(step, ctx))
        actions.extend(_actions(step, meaning, data))
        last = step.name
        if result is not None:
            step_name = step.results[result.result]
            continue
        if not step.next:
            break
        step_name = step.next
    if last == flows.start:
        data = {k: v for k, v in data.items() if k == PICKED}
    priority = None
    for action in actions:
        if isinstance(action, OpenCase):
            priority = _max_priority(priority, action.priority)
    new_state = replace(state, lang=lang, lang_locked=locked, step=last, turns=state.turns + 1, data=data)
    return Outcome(new_state, split_reply("\n".join(p for p in parts if p)), actions,
                   meaning.intent, meaning.confidence, priority, lang, meaning.source, tuple(steps))


def _result(step: Step, data: dict[str, str], now: datetime, flows: Flows, seats: Seats | None,
            given: ActionResult | None) -> ActionResult:
    """The result a step's action tells: the one the caller's database gave, else the one predicted."""
    result = given or signups.predict(step.do or "", data, now, flows, seats)
    if result.result not in step.results:
        raise ValueError(f"action {step.do} gave {result.result!r}, not listed in results")
    return result


Apply = Callable[[WorkshopAction], ActionResult]  # do one workshop action; the result it really gave


def settle(tell: Callable[[Sequence[ActionResult]], Outcome], apply: Apply, first: Outcome | None = None) -> Outcome:
    """Apply a turn's workshop actions one by one; when one gives another result than the reply
    told (the seats read before were stale), tell the turn again from the real results.

    tell(results) runs the turn with its first workshop actions' results given; first is tell(()).
    An action is applied once: told again, the turn repeats the same actions up to the first new one.
    """
    given: list[ActionResult] = []
    outcome = first or tell(())
    while True:
        pending = [a for a in outcome.actions if isinstance(a, WorkshopAction)][len(given):]
        for action in pending:
            given.append(apply(action))
            if given[-1] != action.told:
                outcome = tell(tuple(given))
                break
        else:
            return outcome


def needs_seats(outcome: Outcome, flows: Flows) -> bool:
    """True when the turn went through a step that lists, counts or changes sign-ups: told without
    seats, it must be told again with them (most turns never read the database for seats)."""
    for name in outcome.steps:
        step = flows.steps.get(name)
        if step is not None and (step.pick or step.do in ACTIONS_WITH_RESULTS
                                 or any("workshop_seats" in text for text in (step.say or {}).values())):
            return True
    return False


def _ask_which(state: State, message: Incoming, meaning: Interpretation, lang: str, locked: bool,
               flows: Flows) -> Outcome:
    """Two intents too close to call: one short question with numbered choices, not a guess."""
    lines = [flows.text("close_call", lang)]
    lines += [f"{n} {flows.intents[intent].choice[lang]}" for n, intent in enumerate(meaning.alternatives, 1)]
    lines.append(flows.text("close_call_end", lang))
    data = {CLOSE_CALL: ",".join(meaning.alternatives), "_asked_about": str(message.message_id)}
    new_state = replace(state, lang=lang, lang_locked=locked, step=CLOSE_CALL, turns=state.turns + 1, data=data)
    return Outcome(new_state, split_reply("\n".join(lines)), [], meaning.intent, meaning.confidence, None, lang,
                   meaning.source)


def can_ask_between(intents: tuple[str, ...], flows: Flows) -> bool:
    """True when every intent has a choice text, so a close call can be asked about."""
    return all(intent in flows.intents and flows.intents[intent].choice and "close_call" in flows.texts
               for intent in intents)


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
    if step.pick:
        keys = [k for k in ctx.data.get(PICKED, "").split(",") if k]
        body = "\n".join([body, answers.pick_lines(keys, ctx)])
        if not step.choices:
            body = "\n".join([body, ctx.flows.text("human_choice", ctx.lang)])
    if step.choices:
        choices = visible_choices(step, ctx.data)
        body = "\n".join([body, answers.menu_lines(choices, ctx, human=step.name != ctx.flows.human)])
    return body.strip()


def _actions(step: Step, meaning: Interpretation, data: Mapping[str, str]) -> list[object]:
    actions: list[object] = []
    if step.open_case:
        reason = meaning.reason or f"{meaning.source}: {meaning.intent or step.name} ({meaning.confidence:.2f})"
        answered = "; ".join(f"{k}: {v}" for k, v in data.items() if not k.startswith("_"))
        if answered and not meaning.reason:
            reason = f"{step.name}: {answered}"
        actions.append(OpenCase(step.open_case, reason))
    # Standing changes only on the person's explicit word (contract 10), never on a guess.
    if step.do == "stop" and meaning.source == "standing":
        actions.append(OptOut(meaning.reason or "keyword"))
    if step.do == "start" and meaning.source == "standing":
        actions.append(OptIn(meaning.reason or "keyword"))
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
