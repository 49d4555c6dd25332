"""What a message means: menu and keywords, else the NLU (or its fallback) and the words of the
lists, then the crisis triage. Used by the pipeline and by the tests of understanding."""

from __future__ import annotations

import logging
import time
from dataclasses import replace

from bot.adapters import metrics
from bot.adapters.nlu import NluClient, NluResult
from bot.core import engine, fallback, media, triage
from bot.core.conversation import Incoming, Interpretation, State
from bot.core.errors import NluUnavailable
from bot.core.flows import Flows
from bot.core.spelling import Speller
from bot.core.text import strip_accents, without_greeting

log = logging.getLogger(__name__)

# Two intents whose confidences are closer than this are a close call: the bot asks which one
# is meant instead of guessing. DIET's confidences are nearly always 1.0 or near 0, so the
# margin is wide. Measured on nlu/eval/intents.yml, clean and noisy (716 readings, 2026-12-01):
# 0.9 asks for 11 of the 44 misreads (the right intent is one of the two choices in 8) and
# for 8 of the 672 right readings; 0.5 asks for 6 misreads (4) and 6 right readings.
CLOSE_CALL_MARGIN = 0.9
# Words of address after a greeting ("bonjour madame,"): set aside with it before the NLU.
ADDRESS_WORDS = frozenset({"madame", "monsieur", "mme", "mr", "mevrouw", "meneer", "madam", "sir", "mrs"})
def triage_first(text: str, meaning: Interpretation, flows: Flows) -> Interpretation:
    """Safety first: the crisis lexicon and the NLU's urgent intent decide before any flow."""
    if flows.crisis is None or not text:
        return meaning
    from_nlu = meaning.source == "nlu"
    verdict = triage.assess(text, flows.crisis, meaning.intent if from_nlu else None,
                            meaning.confidence if from_nlu else 0.0)
    if verdict.priority == "urgent":
        return Interpretation("urgent", meaning.confidence if from_nlu else 1.0, meaning.source,
                              goto="urgent", language=meaning.language, reason=verdict.reason)
    if meaning.intent == "urgent" and meaning.goto is None:
        # the NLU or the keywords say urgent but the triage does not confirm it: a person looks
        return replace(meaning, goto=flows.human,
                       reason=verdict.reason or f"to check: {meaning.source} urgent ({meaning.confidence:.2f})")
    return meaning


def understand(nlu: NluClient | None, flows: Flows, state: State, incoming: Incoming,
               message_id: int = 0, counted: bool = False) -> tuple[Interpretation, str | None]:
    """What a message means: menu and keywords, else the NLU (or its fallback) and the words of the
    lists (procedures, workshops: `engine.by_names`), then the triage.

    Returns the meaning and, when the NLU could not answer, why the message needs a review.
    """
    meaning, review = engine.interpret(state, incoming, flows), None
    if meaning is None:
        meaning, review = _free_text(nlu, incoming.text, flows, message_id, counted)
        meaning = engine.by_names(meaning, incoming.text, flows)  # "ameli": the words of the lists
    return triage_first(incoming.text, media.route(meaning, incoming, flows, state), flows), review


def _free_text(nlu: NluClient | None, text: str, flows: Flows, message_id: int,
               counted: bool) -> tuple[Interpretation, str | None]:
    if nlu is not None:
        try:
            started = time.perf_counter()
            result = nlu.parse(for_nlu(text, flows, nlu.speller), message_id=str(message_id))
            if counted:
                metrics.NLU_SECONDS.observe(time.perf_counter() - started)
            return Interpretation(result.intent, result.confidence, "nlu",
                                  alternatives=close_call(result, flows)), None
        except NluUnavailable as exc:
            if counted:
                metrics.NLU_FAILURES.inc()
            log.warning("NLU unavailable for inbound %s (%s): keyword fallback", message_id, exc)
    intent, confidence = fallback.classify(text, flows)
    return Interpretation(intent, confidence, "fallback"), "nlu_unavailable"


def for_nlu(text: str, flows: Flows, speller: Speller | None = None) -> str:
    """The text as the NLU reads it best: a leading greeting set aside, lower case, no accents,
    typos mended (never in a crisis word: "pendre" must not become "prendre")."""
    text = strip_accents(without_greeting(text, greetings(flows))).lower()
    if speller is None:
        return text
    return speller.text(text, keep=flows.crisis.crisis_words if flows.crisis else frozenset())


def greetings(flows: Flows) -> frozenset[str]:
    """The one-word greetings of the flows' greet intent, and words of address."""
    route = flows.intents.get("greet")
    words = {w for ws in route.keywords.values() for w in ws if " " not in w} if route else set()
    return frozenset(words) | ADDRESS_WORDS


def close_call(result: NluResult, flows: Flows) -> tuple[str, ...]:
    """The two best intents when they are too close to call and both can be offered, else ()."""
    if result.runner_up is None or result.intent == "urgent":
        return ()
    second, confidence = result.runner_up
    pair = (result.intent, second)
    if result.confidence - confidence >= CLOSE_CALL_MARGIN or not engine.can_ask_between(pair, flows):
        return ()
    return pair
