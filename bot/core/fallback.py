"""A keyword classifier built from the flows, used when the NLU service cannot answer. Pure."""

from __future__ import annotations

from rapidfuzz import fuzz

from bot.core.flowmodel import Flows
from bot.core.text import normalize

FALLBACK_CONFIDENCE = 0.5
# Safety first: one urgent word outweighs any number of other words.
SAFETY_FIRST = "urgent"


def classify(text: str, flows: Flows) -> tuple[str, float]:
    """The intent whose keywords the text holds most, or ('nlu_fallback', 0.0)."""
    norm = normalize(text)
    padded = f" {norm} "
    words = norm.split()
    best, best_score, best_acts = "nlu_fallback", 0.0, False
    for route in flows.intents.values():
        score = 0.0
        for keywords in route.keywords.values():
            for keyword in keywords:
                if not keyword:
                    continue
                if f" {keyword} " in padded:
                    score += 1.0
                elif " " not in keyword and len(keyword) >= 6 and any(
                    fuzz.ratio(keyword, w) >= 85 for w in words
                ):
                    score += 0.8
        if score and route.intent == SAFETY_FIRST:
            return SAFETY_FIRST, FALLBACK_CONFIDENCE
        # a tie goes to the intent whose step does something: "annuler l'atelier cv" cancels
        acts = bool(route.step in flows.steps and flows.steps[route.step].do)
        if score > best_score or (score and score == best_score and acts and not best_acts):
            best, best_score, best_acts = route.intent, score, acts
    return (best, FALLBACK_CONFIDENCE) if best_score else ("nlu_fallback", 0.0)
