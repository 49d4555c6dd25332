"""Check 4: a step, text or intent defined in two files, `start`/`human` set twice, a `do:`
whose `results:` miss one of its results or list one it never gives, and an on-call rota
naming someone who is not under `people`.
"""

from __future__ import annotations

from typing import Any

from bot.core.flowmodel import ACTIONS
from bot.core.flows.paths import SINGULAR, did_you_mean, get, line_of, name_of, raw_steps
from bot.core.flows.report import Check

ONCALL_FILE = "oncall.yml"


def check_definitions(check: Check) -> None:
    """A step, text or intent defined twice; start or human set in two files."""
    for section in ("steps", "texts", "intents"):
        where: dict[str, str] = {}
        for file, doc in check.docs.items():
            for key in doc.get(section) or {}:
                if key in where:
                    check.error(file, line_of(doc, [section, key]), f"{SINGULAR[section]} '{key}' is "
                               f"defined twice (also in {where[key]}); keep only one")
                else:
                    where[key] = f"{file}:{line_of(check.docs[file], [section, key])}"
    for key in ("start", "human"):
        owners = [f for f, doc in check.docs.items() if key in doc]
        for file in owners[1:]:
            check.error(file, line_of(check.docs[file], [key]), f"'{key}:' is set in {owners[0]} too; "
                                                            "set it in one file only")


def check_actions(check: Check) -> None:
    """A do: whose results: miss one of its results or list one it never gives."""
    for file, doc, name, raw in raw_steps(check.docs):
        do = raw.get("do")
        results = raw.get("results") or {}
        expected = ACTIONS.get(do or "", ())
        if results and not expected:
            check.error(file, line_of(doc, ["steps", name, "results"]), f"step '{name}' has results "
                       f"but {'no do:' if not do else f'do: {do} gives none'}; remove 'results:'")
            continue
        for missing in (r for r in expected if r not in results):
            check.error(file, line_of(doc, ["steps", name, "do"]), f"step '{name}' does '{do}' but does "
                       f"not say where the result '{missing}' leads (add it under results:)")
        for extra in (r for r in results if r not in expected):
            check.error(file, line_of(doc, ["steps", name, "results", extra]), f"step '{name}' lists "
                       f"the result '{extra}', which '{do}' never gives{did_you_mean(extra, expected)}")


def check_oncall(check: Check) -> None:
    """A rota line or closed_days naming someone who is not under people."""
    doc = check.docs.get(ONCALL_FILE)
    if doc is None:
        return
    raw = doc.get("oncall") or {}
    people = set(raw.get("people") or {})
    paths: list[list[Any]] = [["oncall", "rota", i] for i in range(len(raw.get("rota") or ()))]
    if raw.get("closed_days"):
        paths.append(["oncall", "closed_days"])
    for path in paths:
        for role in ("primary", "backup"):
            who = (get(doc, path) or {}).get(role)
            if who is not None and who not in people:
                check.error(ONCALL_FILE, line_of(doc, [*path, role]), f"{name_of(path)} names '{who}' as "
                           f"{role}, who is not under people{did_you_mean(who, people)}")
