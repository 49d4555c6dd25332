"""The conversation engine: state + message + clock + flows -> new state, replies, actions.

Pure code: no Flask, Redis, Twilio, SQL or HTTP here. The caller asks `interpret`
first; when it answers None the message is free text, the caller asks the NLU service
(or the fallback classifier) and hands the result to `respond`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Protocol

from rapidfuzz import fuzz

from bot.core import answers, naming, standing
from bot.core.flowmodel import Choice, Flows, IntentRoute, Step, WorkshopDef
from bot.core.lang import detect
from bot.core.text import as_number, clean, normalize

MAX_CHAIN = 6  # steps followed in one turn through `next`
MAX_REPLY = 1600  # Twilio's limit for one message body
PICKED = "_picked"  # the data key holding the keys of the list last shown by a `pick` step
SHOWN = "_shown"  # "step=goto,goto": the only choices of a list shown, when a message named several
FUZZY_MIN = 85


@dataclass(frozen=True)
class State:
    """What the bot remembers of one contact between messages (kept in Redis)."""

    lang: str | None = None
    lang_locked: bool = False
    step: str | None = None
    turns: int = 0
    data: dict[str, str] = field(default_factory=dict)  # answers kept by `ask` and `pick`

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
    opted_out: bool = False  # the person has opted out (STOP) and not come back
    opt_out_type: str = ""  # Twilio's OptOutType on this message (STOP, START, HELP), if any
    message_id: int = 0  # the stored message's id (a close-call answer labels it)
    media: tuple[str, ...] = ()  # the kind of each attachment or shared location (bot.core.media.KINDS)


@dataclass(frozen=True)
class Interpretation:
    """What a message means: a step to go to, or an intent with a confidence."""

    intent: str | None
    confidence: float
    source: str  # "menu", "keyword", "nlu", "fallback", "input", "standing" (STOP/START)
    goto: str | None = None
    language: str | None = None
    reason: str | None = None  # why, in words a social worker reads (crisis triage)
    save: tuple[str, str] | None = None  # (name, value) an `ask` or `pick` keeps
    notice: str | None = None  # a shared text said first (e.g. "flow_changed")
    alternatives: tuple[str, ...] = ()  # two intents too close to call: ask which one is meant


@dataclass(frozen=True)
class ActionResult:
    """What a `do:` action gave: a result name (see flows.ACTIONS) and values for the texts."""

    result: str
    values: dict[str, str] = field(default_factory=dict)


class Effects(Protocol):
    """The actions that need the database (sign-ups), given by the caller."""

    def run(self, action: str, data: Mapping[str, str], now: datetime) -> ActionResult: ...

    def signups(self, now: datetime) -> list[str]: ...


@dataclass(frozen=True)
class OpenCase:
    """Action: open a case for a social worker."""

    priority: str
    reason: str


@dataclass(frozen=True)
class OptOut:
    """Action: the person asked for no more messages; via says how (keyword, twilio)."""

    via: str = "keyword"


@dataclass(frozen=True)
class OptIn:
    """Action: the person asked to get messages again (START, or OUI to the question)."""

    via: str = "keyword"


@dataclass(frozen=True)
class Labelled:
    """Action: the person said which intent an earlier message meant (kept for review)."""

    message_id: int
    intent: str


CLOSE_CALL = "_close_call"  # the state's step while a close-call question waits for 1 or 2
STOP_STEP, START_STEP = "stop", "restart"  # the steps that do: stop and do: start
OPTED_OUT_STEP = "opted_out"  # what someone who opted out hears: do you want to come back?
STOP_HINT = "stop_hint"  # the one-line question for a sentence that holds "stop"


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


def respond(state: State, message: Incoming, meaning: Interpretation, now: datetime,
            flows: Flows, effects: Effects | None = None) -> Outcome:
    """Follow the flow for one understood message and say what to answer and do."""
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
    if _may_name(message, meaning):
        step_name, only = _named_step(step_name, message.text, data, now, flows, effects)
    ctx = answers.Context(flows, lang, now, message, data)
    ctx.seats_left = _seats_left(effects, now)
    parts: list[str] = [flows.text(meaning.notice, lang)] if meaning.notice in flows.texts else []
    if meaning.intent != "stop" and meaning.source != "standing" and STOP_HINT in flows.texts \
            and standing.hints_opt_out(message.text):
        parts.append(flows.text(STOP_HINT, lang))  # asked, never unsubscribed by a sentence
    actions: list[object] = [Labelled(int(asked_about), meaning.intent or "")] if asked_about.isdigit() else []
    last = state.step
    for _ in range(MAX_CHAIN):
        step = flows.steps[step_name]
        if step.pick:
            shown = only.pop(step.name, None) or _pick_list(step, flows, now, effects)
            if not shown and step.pick.empty:
                step_name = step.pick.empty
                continue
            data[PICKED] = ",".join(shown)
        result = _run(step, data, now, effects) if step.do in ACTIONS_WITH_RESULTS else None
        if result is not None:
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
                   meaning.intent, meaning.confidence, priority, lang, meaning.source)


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


ACTIONS_WITH_RESULTS = ("signup", "cancel", "accept_offer")


def _run(step: Step, data: Mapping[str, str], now: datetime, effects: Effects | None) -> ActionResult:
    """Do a step's action; without effects (a pure test) it gives its first result."""
    if effects is None:
        from bot.core.flowmodel import ACTIONS

        return ActionResult(ACTIONS[step.do or ""][-1])
    outcome = effects.run(step.do or "", data, now)
    if outcome.result not in step.results:
        raise ValueError(f"action {step.do} gave {outcome.result!r}, not listed in results")
    return outcome


def _pick_list(step: Step, flows: Flows, now: datetime, effects: Effects | None) -> list[str]:
    """The keys shown as a numbered list by a `pick` step: upcoming workshops or the person's."""
    assert step.pick is not None
    if step.pick.source == "signups":
        return effects.signups(now) if effects else []
    local = now.astimezone(flows.schedule.tz)
    upcoming = [w for w in flows.workshops.values()
                if datetime.combine(w.day, w.start, tzinfo=local.tzinfo) > local]
    return [w.key for w in sorted(upcoming, key=lambda w: (w.day, w.start, w.key))][:9]


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
        choices = _visible_choices(step, ctx.data)
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


# --- a message that names what it asks about (issue 16) ---------------------------------------
#
# When the step a message leads to is a list (a step with choices that only lists, or a
# `pick` of workshops) and the message names one of its entries by their words (labels,
# titles, `keywords:`), the bot goes straight to that entry; when it names several equally,
# the list shows only those. Digits and answers never name anything.

NAMING_SOURCES = ("nlu", "fallback", "keyword", "menu")
# Intents that say nothing about what is asked: their reading never holds against the words
# of a list ("bonjour, la caf" is about the family allowance; see `by_names`).
WEAK_INTENTS = ("greet", "help")


def list_entries(step: Step, flows: Flows, now: datetime | None = None,
                 effects: Effects | None = None) -> list[naming.Entry] | None:
    """The entries a message can name at a list step (None when the step is not a list).

    Without now, a `pick` of workshops offers every workshop of the flows.
    """
    if step.ask or step.open_case or step.do:
        return None
    if step.pick:
        if now is None:
            keys = list(flows.workshops) if step.pick.source == "workshops" else []
        else:
            keys = _pick_list(step, flows, now, effects)
        return [naming.Entry(key, workshop_words(flows.workshops[key])) for key in keys if key in flows.workshops]
    if step.choices:
        return [naming.Entry(choice.goto, choice_words(choice)) for choice in step.choices]
    return None


def choice_words(choice: Choice) -> tuple[str, ...]:
    """The words that name a choice: its labels and keywords, in every language."""
    return tuple(dict.fromkeys([normalize(label) for label in choice.label.values()]
                               + [w for words in choice.keywords.values() for w in words]))


def workshop_words(workshop: WorkshopDef) -> tuple[str, ...]:
    """The words that name a workshop: its titles and keywords, in every language."""
    return tuple(dict.fromkeys([normalize(title) for title in workshop.title.values()]
                               + [w for words in workshop.keywords.values() for w in words]))


def _may_name(message: Incoming, meaning: Interpretation) -> bool:
    return meaning.source in NAMING_SOURCES and meaning.goto != "urgent" and as_number(message.text) is None


def _named_step(step_name: str, text: str, data: dict[str, str], now: datetime, flows: Flows,
                effects: Effects | None) -> tuple[str, dict[str, list[str]]]:
    """The step to say for a message at a list: the entry it names, or the list of the few it names."""
    step = flows.steps[step_name]
    entries = list_entries(step, flows, now, effects)
    if not entries:
        return step_name, {}
    keys = list(dict.fromkeys(naming.named(text, entries)))
    if not keys or (1 < len(keys) == len(entries)):
        return step_name, {}
    if len(keys) == 1:
        if step.pick:
            data[step.pick.save] = keys[0]
            return step.pick.goto, {}
        return keys[0], {}
    if step.pick:
        return step_name, {step_name: keys}
    data[SHOWN] = f"{step_name}={','.join(keys)}"
    return step_name, {}


def _visible_choices(step: Step, data: Mapping[str, str]) -> tuple[Choice, ...]:
    """The choices of step as the person sees them: only the named ones when a message named several."""
    name, _, gotos = data.get(SHOWN, "").partition("=")
    if name != step.name:
        return step.choices
    wanted = gotos.split(",")
    return tuple(c for c in step.choices if c.goto in wanted) or step.choices


def _numbered_choices(state: State, flows: Flows) -> tuple[Choice, ...]:
    step = flows.steps.get(state.step or "")
    if step and step.choices:
        return _visible_choices(step, state.data)
    return flows.steps[flows.start].choices


def _seats_left(effects: Effects | None, now: datetime) -> answers.SeatsLeft | None:
    counter = getattr(effects, "seats_left", None)
    return (lambda key: counter(key, now)) if counter is not None else None


def by_names(meaning: Interpretation, text: str, flows: Flows) -> Interpretation:
    """A free-text meaning corrected by the words of the lists ("ameli" -> admin_procedure).

    The lists are the steps intents lead to that list entries (procedures, workshops). A
    message that names entries of one list is read as that list's intent, unless the reading
    stands (`_stands`: urgent, an action such as cancelling, or the intent's own words are in
    the message). A message read as one list's intent goes to another list when that list is
    named better: the other names something and the first nothing ("m'inscrire pour un
    logement social"), or both do and only the other's own words are there ("atelier logement").
    """
    if meaning.source not in ("nlu", "fallback") or meaning.goto is not None:
        return meaning
    evidence = _list_evidence(text, flows)
    named = {intent: e for intent, e in evidence.items() if e[1] > 0}
    if not named:
        # nothing named: a reading that does not hold gives way to a list's own words ("aide
        # administrative": the list of procedures)
        said = [intent for intent, e in evidence.items() if e[0]]
        if len(said) == 1 and meaning.alternatives and (
                said[0] in meaning.alternatives or not any(_stands(a, text, flows) for a in meaning.alternatives)):
            # a close call the message's own words settle ("c koi les cours": the workshops)
            return replace(meaning, intent=said[0], alternatives=())
        if len(said) == 1 and meaning.intent not in evidence and not meaning.alternatives \
                and not _stands(meaning.intent, text, flows):
            return replace(meaning, intent=said[0])
        return meaning
    if meaning.alternatives:
        rivals = {intent: e for intent, e in named.items() if intent in meaning.alternatives}
        if not rivals and not any(_stands(intent, text, flows) for intent in meaning.alternatives):
            rivals = named
    elif meaning.intent in evidence:
        own = evidence[meaning.intent]
        rivals = {intent: e for intent, e in named.items() if intent != meaning.intent and (own[1] == 0 or e > own)}
    elif _stands(meaning.intent, text, flows):
        return meaning
    else:
        rivals = named
    if not rivals:
        return meaning
    top = max(rivals.values())
    winners = [intent for intent, e in rivals.items() if e == top]
    return replace(meaning, intent=winners[0], alternatives=()) if len(winners) == 1 else meaning


def _stands(intent: str | None, text: str, flows: Flows) -> bool:
    """True when a reading of the NLU holds against the words of the lists.

    It holds when it is urgent (a crisis always wins), when the message has the intent's own
    words (`keywords:` of the intent: "parler", "rdv" for talk_to_someone), or, for a step that
    does something to a sign-up (cancel), when it speaks of workshops ("je ne peux pas venir à
    l'atelier cv" is no sign-up). A greeting, "help" or "not understood" never holds.
    """
    route = flows.intents.get(intent or "")
    step = flows.steps.get(route.step) if route else None
    if route is None or step is None or intent in WEAK_INTENTS or route.step == "not_understood":
        return False
    if intent == "urgent" or step.open_case == "urgent":
        return True
    if step.do:  # an action on a sign-up holds when the message speaks of workshops and withdraws
        return _has_own_words(text, route) or (_about_workshops(text, flows) and _withdraws(text))
    return _has_own_words(text, route)


# A cancellation needs a cancelling word: "can I still join the atelier?" is a sign-up.
WITHDRAWING_WORDS = frozenset("""
    pas pa pu plus ni jamais absent absente
    niet geen nooit ziek weg
    not cant cannot wont dont never miss drop unable sick off remove
""".split())
WITHDRAWING_STEMS = ("annul", "desinscri", "desist", "enlev", "retir", "ray", "empech", "supprim",
                     "afzeg", "afmeld", "uitschrij", "schrap", "annuleer", "cancel")


def _withdraws(text: str) -> bool:
    """True when the message says the person will not come or takes their name off."""
    return any(word in WITHDRAWING_WORDS or word.startswith(WITHDRAWING_STEMS) for word in normalize(text).split())


def _about_workshops(text: str, flows: Flows) -> bool:
    """True when the message names a workshop or has the words of an intent that lists them ("atelier")."""
    if naming.mentions(text, [naming.Entry(w.key, workshop_words(w)) for w in flows.workshops.values()]):
        return True
    return any(_has_own_words(text, route) for route in flows.intents.values()
               if (step := flows.steps.get(route.step)) is not None and step.pick and step.pick.source == "workshops")


def _has_own_words(text: str, route: IntentRoute) -> bool:
    words = tuple(w for ws in route.keywords.values() for w in ws)
    return bool(words) and bool(naming.mentions(text, [naming.Entry(route.intent, words)]))


def _list_evidence(text: str, flows: Flows) -> dict[str, tuple[bool, int]]:
    """For each intent leading to a list: (the message has the intent's own keywords, places naming an entry).

    The entries of every list compete for the words of the message, so that the longer word
    counts ("lettre de motivation" names the CV workshop, not the letter).
    """
    lists: dict[str, list[naming.Entry]] = {}
    for intent, route in flows.intents.items():
        entries = list_entries(flows.steps[route.step], flows) if route.step in flows.steps else None
        if entries:
            lists[intent] = entries
    counts = naming.mentions(text, [naming.Entry(f"{intent}\t{entry.key}", entry.words)
                                    for intent, entries in lists.items() for entry in entries])
    found: dict[str, tuple[bool, int]] = {}
    for intent in lists:
        route = flows.intents[intent]
        own = _has_own_words(text, route)
        places = max((n for key, n in counts.items() if key.split("\t")[0] == intent), default=0)
        found[intent] = (own, places)
    return found


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
