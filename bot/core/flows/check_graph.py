"""Checks 5 and 6: references and the graph of steps.

Every `next`, choice `goto`, `ask`/`pick` `goto` and `empty`, `results`, intent `step`,
keyword `goto`, `start` and `human` names a step; the steps the engine goes to by name exist
(`not_understood`, `media_only`, `empty`, `urgent`, ...); a choice `value` kept as
`{workshop}` names a workshop. Every step can be reached (from `start`, `human`, the
engine's steps, intents' steps and keywords' gotos); a step that ends the turn says how to
reach a person (its text mentions 0 or it offers a choice to the `human` step; exempt:
goodbye, stop, restart, urgent, language and the `human` step); no loop of `next`/`results`
steps and no chain longer than the engine follows in one turn.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.core import engine
from bot.core.flowmodel import Flows, Step
from bot.core.flows.check_budget import Budget
from bot.core.flows.paths import did_you_mean, line_of
from bot.core.flows.report import Check
from bot.core.flows.walk import ENGINE_STEPS, continuations, roots

EXEMPT_DEAD_ENDS = {"goodbye", "stop", "stop_ask", "restart", "urgent", "language", "opted_out"}
_ZERO = re.compile(r"(?<!\d)0(?!\d)")


@dataclass
class Graph:
    """References, reachability, dead ends and chains, on the loaded flows."""

    check: Check
    flows: Flows
    budget: Budget

    def run(self) -> None:
        """Record every reference, reachability, dead-end and chain problem."""
        self._references()
        self._reachable()
        self._dead_ends()
        self._chains()

    def _ref(self, file: str, line: int | None, what: str, target: str | None) -> None:
        if target is not None and target not in self.flows.steps:
            self.check.error(file, line, f"{what} goes to '{target}', which is not a step"
                             f"{did_you_mean(target, self.flows.steps)}")

    def _references(self) -> None:
        flows, check = self.flows, self.check
        for step in flows.steps.values():
            where = f"step '{step.name}'"
            for i, choice in enumerate(step.choices):
                self._ref(step.file, check.step_line(step, "choices", i, "goto"),
                          f"choice {i + 1} of {where}", choice.goto)
            self._ref(step.file, check.step_line(step, "next"), where, step.next)
            if step.ask:
                self._ref(step.file, check.step_line(step, "ask", "goto"), f"the 'ask' of {where}",
                          step.ask.goto)
            if step.pick:
                self._ref(step.file, check.step_line(step, "pick", "goto"), f"the 'pick' of {where}",
                          step.pick.goto)
                self._ref(step.file, check.step_line(step, "pick", "empty"),
                          f"the 'pick' of {where} (when the list is empty)", step.pick.empty)
            for result, target in step.results.items():
                self._ref(step.file, check.step_line(step, "results", result),
                          f"the result '{result}' of {where}", target)
            self._workshop_values(step)
        for file, doc in check.docs.items():
            for intent, raw in (doc.get("intents") or {}).items():
                self._ref(file, line_of(doc, ["intents", intent, "step"]), f"intent '{intent}'", raw.get("step"))
            for name, raw in (doc.get("keywords") or {}).items():
                self._ref(file, line_of(doc, ["keywords", name, "goto"]), f"keyword '{name}'", raw.get("goto"))
        for key, value in (("start", flows.start), ("human", flows.human)):
            file, line = check.owner_of(key)
            if value not in flows.steps:
                self.check.error(file, line, f"'{key}:' names '{value}', which is not a step"
                                 f"{did_you_mean(value, flows.steps)}")
        file = check.owner_of("start")[0]
        for name, why in ENGINE_STEPS.items():
            if name not in flows.steps:
                self.check.error(file, None, f"the step '{name}' is missing; {why}")

    def _workshop_values(self, step: Step) -> None:
        if not step.ask or step.ask.save != "workshop":
            return
        for i, choice in enumerate(step.choices):
            key = choice.value or choice.label[self.flows.default_language]
            if key not in self.flows.workshops:
                self.check.error(step.file, self.check.step_line(step, "choices", i),
                                 f"choice {i + 1} of step '{step.name}' keeps '{key}' as {{workshop}}, "
                                 f"which is not a workshop{did_you_mean(key, self.flows.workshops)}")

    def _reachable(self) -> None:
        seen: set[str] = set()
        todo = [name for name in roots(self.flows) if name in self.flows.steps]
        while todo:
            name = todo.pop()
            if name in seen:
                continue
            seen.add(name)
            todo += [t for t in self.flows.steps[name].targets() if t in self.flows.steps]
        for step in self.flows.steps.values():
            if step.name not in seen:
                self.check.error(step.file, step.line, f"step '{step.name}' cannot be reached: no "
                                 "menu choice, next, result, keyword or intent leads to it")
            if step.pick and step.pick.source in ("workshops", "signups") and step.pick.save != "workshop":
                self.check.warning(step.file, self.check.step_line(step, "pick", "save"),
                                   f"step '{step.name}' keeps the picked workshop as "
                                   f"'{step.pick.save}'; the sign-up and {{workshop_title}} read it "
                                   "from 'workshop' (save: workshop)")

    def _dead_ends(self) -> None:
        flows = self.flows
        exempt = EXEMPT_DEAD_ENDS | {flows.human}
        budget = self.budget
        for step in flows.steps.values():
            if step.waits or step.next or step.results or step.name in exempt:
                continue
            if any(c.goto == flows.human for c in step.choices):
                continue
            silent = [lang for lang in flows.languages if not _ZERO.search(budget.own_text(step, lang))]
            if silent:
                line = self.check.step_line(step, "say", silent[0]) if step.say else step.line
                self.check.error(step.file, line, f"step '{step.name}' ends the conversation without "
                                 f"saying how to reach a person (in {', '.join(silent)}): add \"0 to talk "
                                 "to someone\" to its text, or a choice or next that leads on")

    def _chains(self) -> None:
        """Steps said in one turn (next, results): no loop, no chain the engine would cut."""
        flows = self.flows
        reported: set[frozenset[str]] = set()
        for start in flows.steps.values():
            for path in continuations(flows, [start.name]):
                last = path[-1]
                if last in path[:-1]:
                    loop = path[path.index(last):]
                    if frozenset(loop) not in reported:
                        reported.add(frozenset(loop))
                        self.check.error(start.file, start.line, "these steps lead to each other in a loop "
                                         f"without waiting for the person: {' -> '.join(loop)}")
                elif len(path) > engine.MAX_CHAIN and frozenset(path) not in reported:
                    reported.add(frozenset(path))
                    self.check.error(start.file, start.line, f"step '{start.name}' starts a chain of "
                                     f"{len(path)} steps said in one go ({' -> '.join(path)}); the bot "
                                     f"says at most {engine.MAX_CHAIN}: make one of them wait")
