"""The conversation flows admins edit in `flows/*.yml`: loading them means checking them.

Every file may hold `steps`, `texts`, `keywords` and `intents`; `centre.yml` also holds
the centre's facts, hours, closures and emergency numbers. Errors name the file, the
line and the reason, in words an admin understands.

- bot.core.yamlfile: the one YAML loader (nodes that know their file and lines);
- bot.core.flowmodel: the dataclasses the engine reads (re-exported here);
- build: parsed files -> Flows; validate: `check_dir` (every problem) and `load_flows`
  (check, or raise FlowError); check_*: the checks, one concern each; report: Problem, Report.
"""

from __future__ import annotations

from bot.core.errors import FlowError
from bot.core.flowmodel import (
    ACTIONS,
    PICK_SOURCES,
    PLACEHOLDERS,
    Ask,
    Choice,
    EmergencyNumber,
    Flows,
    IntentRoute,
    Keyword,
    Pick,
    Step,
    WorkshopDef,
    WorkshopSettings,
)
from bot.core.flows.report import Problem, Report, summary
from bot.core.flows.validate import check_dir, load_flows, main

__all__ = [
    "ACTIONS", "PICK_SOURCES", "PLACEHOLDERS", "Ask", "Choice", "EmergencyNumber", "FlowError", "Flows",
    "IntentRoute", "Keyword", "Pick", "Problem", "Report", "Step", "WorkshopDef", "WorkshopSettings",
    "check_dir", "load_flows", "main", "summary",
]
