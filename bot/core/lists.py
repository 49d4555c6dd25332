"""The lists a message can name (procedures, workshops) and the words that name their entries. Pure.

When the step a message leads to is a list (a step with choices that only lists, or a
`pick` of workshops) and the message names one of its entries by their words (labels,
titles, `keywords:`), the bot goes straight to that entry; when it names several equally,
the list shows only those. Digits and answers never name anything (issue 16).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from bot.core import naming, signups
from bot.core.conversation import Incoming, Interpretation, Seats
from bot.core.flowmodel import Choice, Flows, IntentRoute, Step, WorkshopDef
from bot.core.reading import SHOWN
from bot.core.text import as_number, normalize


def pick_list(step: Step, flows: Flows, now: datetime, seats: Seats | None = None) -> list[str]:
    """The keys shown as a numbered list by a `pick` step: upcoming workshops or the person's."""
    assert step.pick is not None
    if step.pick.source == "signups":
        return signups.signups(seats, flows)
    return signups.upcoming(flows, now)

NAMING_SOURCES = ("nlu", "fallback", "keyword", "menu")
# Intents that say nothing about what is asked: their reading never holds against the words
# of a list ("bonjour, la caf" is about the family allowance; see `by_names`).
WEAK_INTENTS = ("greet", "help")


def list_entries(step: Step, flows: Flows, now: datetime | None = None,
                 seats: Seats | None = None) -> list[naming.Entry] | None:
    """The entries a message can name at a list step (None when the step is not a list).

    Without now, a `pick` of workshops offers every workshop of the flows.
    """
    if step.ask or step.open_case or step.do:
        return None
    if step.pick:
        if now is None:
            keys = list(flows.workshops) if step.pick.source == "workshops" else []
        else:
            keys = pick_list(step, flows, now, seats)
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


def may_name(message: Incoming, meaning: Interpretation) -> bool:
    """True when the message's words may name an entry: free text or a keyword, never a digit or urgent."""
    return meaning.source in NAMING_SOURCES and meaning.goto != "urgent" and as_number(message.text) is None


def named_step(step_name: str, text: str, data: dict[str, str], now: datetime, flows: Flows,
               seats: Seats | None) -> tuple[str, dict[str, list[str]]]:
    """The step to say for a message at a list: the entry it names, or the list of the few it names."""
    step = flows.steps[step_name]
    entries = list_entries(step, flows, now, seats)
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
