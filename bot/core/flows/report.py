"""What a check finds: each Problem (file, line, level, sentence) and the Report of a folder."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.core.errors import FlowError
from bot.core.flowmodel import Flows, Step
from bot.core.flows.paths import line_of
from bot.core.lang import LANGUAGES
from bot.core.yamlfile import Node


@dataclass(frozen=True)
class Problem:
    """One thing wrong in a flow file: where, how bad, and why in plain words."""

    file: str
    line: int | None
    level: str  # "error" or "warning"
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.level}: {self.message}"


@dataclass
class Report:
    """Every problem found in a flows folder, and the flows when they could be loaded."""

    problems: list[Problem]
    flows: Flows | None  # None when loading failed

    @property
    def ok(self) -> bool:
        """True when there is no error (warnings allowed)."""
        return not self.errors

    @property
    def errors(self) -> list[Problem]:
        """The problems that make the flows unusable."""
        return [p for p in self.problems if p.level == "error"]

    @property
    def warnings(self) -> list[Problem]:
        """The problems worth a look that do not stop anything."""
        return [p for p in self.problems if p.level == "warning"]


def summary(report: Report, directory: Path | str) -> str:
    """The last line of a check: '{directory}: 2 errors, 1 warning' or '... no problem found'."""
    if not report.problems:
        return f"{directory}: no problem found"
    errors, warnings = len(report.errors), len(report.warnings)
    return (f"{directory}: {errors} error{'s' if errors != 1 else ''}, "
            f"{warnings} warning{'s' if warnings != 1 else ''}")


def as_error(report: Report, message: str | None = None) -> FlowError:
    """The first error of a report as a FlowError (in other words when given), saying how many more there are."""
    first = report.errors[0] if report.errors else None
    if first is None:  # cannot happen: a report without flows has an error
        return FlowError("?", None, "the flows could not be loaded")
    more = len(report.errors) - 1
    tail = f" (and {more} more; `flask --app bot flows check` lists them all)" if more else ""
    return FlowError(first.file, first.line, (message or first.message) + tail)


@dataclass
class Check:
    """One run over one folder: the parsed files and the problems found so far."""

    max_segments: int
    problems: list[Problem] = field(default_factory=list)
    docs: dict[str, Node] = field(default_factory=dict)
    languages: tuple[str, ...] = LANGUAGES
    centre_forms: dict[str, dict[str, str]] = field(default_factory=dict)  # lang -> the forms of its name

    def error(self, file: str, line: int | None, message: str) -> None:
        """Record an error: the folder cannot be used."""
        self.problems.append(Problem(file, line, "error", message))

    def warning(self, file: str, line: int | None, message: str) -> None:
        """Record a warning: worth a look, stops nothing."""
        self.problems.append(Problem(file, line, "warning", message))

    def has_errors(self) -> bool:
        """True once an error was recorded."""
        return any(p.level == "error" for p in self.problems)

    def report(self, flows: Flows | None) -> Report:
        """The problems in file and line order, each once."""
        ordered = sorted(self.problems, key=lambda p: (p.file, p.line or 0))
        return Report(list(dict.fromkeys(ordered)), flows)

    def step_line(self, step: Step, *path: Any) -> int | None:
        """The line of step (or of path inside it) in its file."""
        doc = self.docs.get(step.file)
        return line_of(doc, ["steps", step.name, *path]) if doc is not None else step.line

    def owner_of(self, key: str) -> tuple[str, int | None]:
        """The file and line that set a top-level key like start (else menu.yml)."""
        for file, doc in self.docs.items():
            if key in doc:
                return file, line_of(doc, [key])
        return "menu.yml", None
