"""The steps of the flows as a graph: where a person can land, and what is said in one turn."""

from __future__ import annotations

from collections.abc import Iterator

from bot.core import engine
from bot.core.flowmodel import Flows, Step

ENGINE_STEPS = {  # steps the engine and the pipeline go to by name
    "not_understood": "the bot goes there when it does not understand a message",
    "media_only": "the bot goes there when a message has only a photo, a sound or a document",
    "empty": "the bot goes there when a message is empty",
    "urgent": "the bot goes there when a message speaks of danger",
    "stop": "the bot goes there when a person sends STOP (it must do: stop)",
    "restart": "the bot goes there when a person sends START (it must do: start)",
    "opted_out": "what a person who sent STOP hears when they write again",
}
OPTIONAL_ENGINE_STEPS = {  # steps the pipeline goes to by name when they exist
    "location": "the bot goes there when a person shares a location (else to media_only)",
}

def roots(flows: Flows) -> set[str]:
    """The steps a person can land on without a step leading there."""
    found = {flows.start, flows.human, *ENGINE_STEPS, *(set(OPTIONAL_ENGINE_STEPS) & set(flows.steps))}
    found |= {route.step for route in flows.intents.values()}
    return found | {keyword.goto or flows.start for keyword in flows.keywords}


def continuations(flows: Flows, path: list[str]) -> Iterator[list[str]]:
    """Every path of steps said in the same turn from path[-1], stopping at loops and at 7."""
    step = flows.steps.get(path[-1])
    if step is None or path[-1] in path[:-1] or len(path) > engine.MAX_CHAIN:
        yield path
        return
    following = said_after(step)
    if not following:
        yield path
    for target in following:
        yield from continuations(flows, [*path, target])


def said_after(step: Step) -> list[str]:
    """The steps said right after step in the same reply (an empty pick list goes to `empty`)."""
    if step.do in engine.ACTIONS_WITH_RESULTS and step.results:
        return list(dict.fromkeys(step.results.values()))
    found = [step.pick.empty] if step.pick and step.pick.empty else []
    return found + ([step.next] if step.next else [])
