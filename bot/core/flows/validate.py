"""The one validator: `check_dir` lists every problem of a flows folder, `load_flows` checks or raises.

The app's store, `flask --app bot flows check`, `flask --app bot flows test` and the admin
page all go through `check_dir`, so they agree on what a usable folder is. The checks, in
order (a YAML or schema error stops before the later checks): 1-2 YAML and schema
(check_schema), 3 texts (check_texts), 4 definitions (check_definitions), 5-6 references
and graph (check_graph), 7 keywords and names (check_keywords), 8 SMS budget (check_budget).
Errors make the folder unusable (the running app keeps its last valid version); warnings
are worth a look but do not stop anything.
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path

from bot.core.errors import FlowError
from bot.core.flowmodel import Flows
from bot.core.flows import check_definitions, check_texts
from bot.core.flows.build import build
from bot.core.flows.check_budget import Budget
from bot.core.flows.check_graph import Graph
from bot.core.flows.check_keywords import Keywords, Names
from bot.core.flows.check_schema import read_file
from bot.core.flows.report import Check, Problem, Report, as_error, summary
from bot.core.oncall import load_rota
from bot.core.triage import load_lexicon

CRISIS_FILE, ONCALL_FILE = "crisis.yml", "oncall.yml"


def load_flows(directory: Path | str, max_segments: int = 3) -> Flows:
    """Check every `*.yml` of directory (tests/ excluded) and return the flows; raise FlowError.

    The FlowError is the report's first error, saying how many more there are (`check_dir`
    lists them all).
    """
    check = Check(max_segments)
    report = _run(Path(directory), max_segments, Path(directory), check)
    if report.flows is None or not report.ok:
        raise as_error(report, _built_wording(check, report))
    return report.flows


def check_dir(directory: Path | str, overrides: Mapping[str, str] | None = None,
              max_segments: int = 3) -> Report:
    """Check every flow file of directory; overrides maps a file name to unsaved text."""
    directory = Path(directory)
    if not overrides:
        return _run(directory, max_segments, directory)
    bad = [name for name in overrides if Path(name).name != name or not name.endswith(".yml")]
    if bad:
        return Report([_problem(bad[0], "a flow file name is a plain name ending in .yml, like menu.yml")], None)
    with tempfile.TemporaryDirectory(prefix="relais-flows-check-") as tmp:
        for path in directory.glob("*.yml"):
            if path.is_file() and path.name not in overrides:
                shutil.copyfile(path, Path(tmp) / path.name)
        for name, text in overrides.items():
            (Path(tmp) / name).write_text(text, encoding="utf-8")
        return _run(Path(tmp), max_segments, directory)


def main(argv: list[str] | None = None, default_directory: Path | str = "flows") -> int:
    """`python -m bot.core.flows [DIR]`: the check without the app (which a broken folder stops)."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m bot.core.flows", description=(__doc__ or "").splitlines()[0])
    parser.add_argument("directory", nargs="?", default=str(default_directory))
    parser.add_argument("--max-segments", type=int, default=3)
    args = parser.parse_args(argv)
    report = check_dir(args.directory, max_segments=args.max_segments)
    for problem in report.problems:
        print(problem)
    print(summary(report, args.directory))
    return 0 if report.ok else 1


def _problem(file: str, message: str) -> Problem:
    return Problem(file, None, "error", message)


def _built_wording(check: Check, report: Report) -> str | None:
    """The builder's sentence for the report's first error, when building stops at the same place.

    A schema error stops the check before building; for some values the builder says more
    ("the centre's name (fr) has no plain form, like plain: ..."), so the error raised says that.
    """
    first = report.errors[0] if report.errors else None
    if first is None or "centre.yml" not in check.docs:
        return None
    try:
        build(check.docs, "")
    except FlowError as exc:
        return exc.reason if (exc.file, exc.line) == (first.file, first.line) else None
    except (ValueError, TypeError, KeyError, AttributeError):  # a shape the schema refused
        return None
    return None


def _run(directory: Path, max_segments: int, shown: Path, check: Check | None = None) -> Report:
    check = check or Check(max_segments)
    files = sorted(p for p in directory.glob("*.yml") if p.is_file())
    if not files:
        check.error(str(shown), None, "there is no .yml flow file in this folder")
        return check.report(None)
    for path in files:
        if path.name == CRISIS_FILE:
            _crisis(check, path)
        else:
            doc, problems = read_file(path.name, path.read_bytes())
            check.problems += problems
            if doc is not None:
                check.docs[path.name] = doc
    if check.has_errors():
        return check.report(None)
    check_texts.check_centre(check)
    check_texts.check_texts(check)
    check_definitions.check_definitions(check)
    check_definitions.check_actions(check)
    check_definitions.check_oncall(check)
    if check.has_errors():
        return check.report(None)
    flows = _load(check, directory, files)
    if flows is None:
        return check.report(None)
    budget = Budget(check, flows)
    Graph(check, flows, budget).run()
    Keywords(check, flows).run()
    Names(check, flows).run()
    budget.run()
    return check.report(None if check.has_errors() else flows)


def _crisis(check: Check, path: Path) -> None:
    """crisis.yml has its own format and loader (which compiles it, cached on its content)."""
    try:
        load_lexicon(path)
    except FlowError as exc:
        check.error(exc.file, exc.line, exc.reason)


def _load(check: Check, directory: Path, files: list[Path]) -> Flows | None:
    digest = hashlib.sha256(b"".join(p.read_bytes() for p in files)).hexdigest()[:12]
    crisis = directory / CRISIS_FILE
    try:
        flows = build(check.docs, digest)
        return replace(flows, rota=load_rota(directory / ONCALL_FILE),
                       crisis=load_lexicon(crisis) if crisis.exists() else None)
    except FlowError as exc:
        check.error(exc.file, exc.line, exc.reason)
    except (ValueError, TypeError, KeyError, AttributeError) as exc:  # a shape the schema let by
        check.error("?", None, f"the flows cannot be loaded ({exc.__class__.__name__}: {exc})")
    return None
