"""Reading a message without the NLU: menu digits, number words, keywords, menu labels. Pure.

`interpret` answers None when the message is free text: the caller then asks the NLU
service (or the fallback classifier), and the engine follows the flow from there.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from rapidfuzz import fuzz

from bot.core import standing
from bot.core.conversation import Incoming, Interpretation, State
from bot.core.flowmodel import Choice, Flows, Step
from bot.core.text import as_number, clean, normalize

PICKED = "_picked"  # the data key holding the keys of the list last shown by a `pick` step
SHOWN = "_shown"  # "step=goto,goto": the only choices of a list shown, when a message named several
FUZZY_MIN = 85
CLOSE_CALL = "_close_call"  # the state's step while a close-call question waits for 1 or 2
STOP_STEP, START_STEP = "stop", "restart"  # the steps that do: stop and do: start
OPTED_OUT_STEP = "opted_out"  # what someone who opted out hears: do you want to come back?
ACTIONS_WITH_RESULTS = ("signup", "cancel", "accept_offer")


def interpret(state: State, message: Incoming, flows: Flows) -> Interpretation | None:
    """Understand menu digits, number words, keywords and menu labels; None means free text."""
    text = clean(message.text)
    from_twilio = standing.from_twilio(message.opt_out_type)
    change = from_twilio or standing.keyword(text)
    if change is not None:
        return _standing(change, "twilio" if from_twilio else "keyword")
    if not text:
        goto = "media_only" if message.num_media else "empty"
        return Interpretation(None, 1.0, "input", goto=goto)
    number = as_number(text)
    if state.step == CLOSE_CALL:
        options = [o for o in state.data.get(CLOSE_CALL, "").split(",") if o in flows.intents]
        if number is not None and 1 <= number <= len(options):
            return Interpretation(options[number - 1], 1.0, "asked", goto=flows.intents[options[number - 1]].step)
        state = replace(state, step=None)  # anything else is read as a new message
    if state.step and state.step not in flows.steps:
        # an admin removed the step this person was at: a digit meant something that is gone,
        # so back to the menu with a word why; words are read as from the menu
        if number is not None and number != 0:
            return Interpretation(None, 1.0, "input", goto=flows.start, notice="flow_changed")
        state = replace(state, step=None)
    step = flows.steps.get(state.step or "")
    if number is not None:
        if step and step.pick and number != 0:
            return _by_pick(state, step, number, flows)
        if step and step.ask and number > len(step.choices):  # "14" for 14h is an answer
            return _answer(step, text, flows)
        return _by_number(state, number, flows)
    norm = normalize(text)
    if step and step.choices:  # the current step's own words win over global keywords
        exact = _by_label(state, norm, flows, fuzzy=False)
        if exact:
            return exact
    keyword = _keyword(norm, flows)
    if keyword and not (step and step.ask and _is_action(keyword.goto, flows)):
        return keyword  # inside a question, "oui" is an answer, not the seat-offer keyword
    by_label = _by_label(state, norm, flows)
    if by_label or step is None or step.ask is None:
        return by_label
    return _answer(step, text, flows)


def _standing(change: str, via: str) -> Interpretation:
    """The person's own word changes their standing: to the stop or the restart step."""
    if change == standing.OPT_OUT:
        return Interpretation("stop", 1.0, "standing", goto=STOP_STEP, reason=via)
    return Interpretation(None, 1.0, "standing", goto=START_STEP, reason=via)


def while_opted_out(state: State, message: Incoming, meaning: Interpretation, flows: Flows) -> Interpretation:
    """Someone who opted out is only asked whether to come back; a crisis, STOP and START still act."""
    if not message.opted_out or meaning.source == "standing" or meaning.goto == "urgent" \
            or meaning.intent == "urgent":
        return meaning
    if state.step == OPTED_OUT_STEP and standing.is_yes(message.text):
        return _standing(standing.OPT_IN, "confirmation")
    return Interpretation(None, 1.0, "input", goto=OPTED_OUT_STEP)


def _answer(step: Step, text: str, flows: Flows) -> Interpretation:
    assert step.ask is not None
    return Interpretation(None, 1.0, "answer", goto=step.ask.goto, save=(step.ask.save, text[:500]))


def _is_action(step_name: str | None, flows: Flows) -> bool:
    step = flows.steps.get(step_name or "")
    return bool(step and step.do in ACTIONS_WITH_RESULTS)


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
    choices = _numbered_choices(state, flows)
    if 1 <= number <= len(choices):
        return _choose(state, choices[number - 1], flows)
    return _to_step("not_understood", "menu", flows)


def _choose(state: State, choice: Choice, flows: Flows) -> Interpretation:
    meaning = _to_step(choice.goto, "menu", flows)
    step = flows.steps.get(state.step or "")
    if step and step.ask and choice in step.choices:
        value = choice.value or choice.label[flows.default_language]
        return replace(meaning, save=(step.ask.save, value))
    return meaning


def _by_pick(state: State, step: Step, number: int, flows: Flows) -> Interpretation:
    assert step.pick is not None
    shown = [key for key in state.data.get(PICKED, "").split(",") if key]
    if 1 <= number <= len(shown):
        return replace(_to_step(step.pick.goto, "menu", flows), save=(step.pick.save, shown[number - 1]))
    return _to_step("not_understood", "menu", flows)


def _keyword(norm: str, flows: Flows) -> Interpretation | None:
    for keyword in flows.keywords:
        for words in keyword.words.values():
            if norm in words:
                meaning = _to_step(keyword.goto or flows.start, "keyword", flows)
                if keyword.goto in (STOP_STEP, START_STEP):  # an admin's own STOP word, whole message
                    meaning = replace(meaning, source="standing", reason="keyword")
                return replace(meaning, language=keyword.language)
    return None


def _by_label(state: State, norm: str, flows: Flows, fuzzy: bool = True) -> Interpretation | None:
    if len(norm.split()) > 3:
        return None
    for choice in _menu_choices(state, flows):
        candidates = [normalize(label) for label in choice.label.values()]
        candidates += [w for words in choice.keywords.values() for w in words]
        for candidate in candidates:
            if norm == candidate or (fuzzy and len(norm) >= 5 and fuzz.ratio(norm, candidate) >= FUZZY_MIN):
                return _choose(state, choice, flows)
    return None


def visible_choices(step: Step, data: Mapping[str, str]) -> tuple[Choice, ...]:
    """The choices of step as the person sees them: only the named ones when a message named several."""
    name, _, gotos = data.get(SHOWN, "").partition("=")
    if name != step.name:
        return step.choices
    wanted = gotos.split(",")
    return tuple(c for c in step.choices if c.goto in wanted) or step.choices


def _numbered_choices(state: State, flows: Flows) -> tuple[Choice, ...]:
    step = flows.steps.get(state.step or "")
    if step and step.choices:
        return visible_choices(step, state.data)
    return flows.steps[flows.start].choices
