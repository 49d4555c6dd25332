"""The flow checker: `flask --app bot flows check [DIR]`, the admin page's save and every load.

It reads every `*.yml` of a flows folder and lists every problem it finds, each with the
file, the line and a sentence an admin (centre staff, not a programmer) understands.
Errors make the folder unusable (the running app keeps its last valid version); warnings
are worth a look but do not stop anything.

The checks, in order (a YAML error or a schema error stops before the later checks):

1. YAML: each file is valid YAML made of named sections; a key written twice in the same
   section is an error (YAML would silently keep the second one).
2. Schema: each file matches `flows/schema.json` (JSON Schema 2020-12): known sections and
   keys only ("did you mean 'say'?"), the right kind of value ("'seats' of workshop 'cv'
   must be a number"), required keys, allowed values (`do`, `open_case`, `pick.from`,
   languages), dates, times and slots. `oncall.yml` is checked against
   `$defs/oncall_file` and its rota must name known people; `crisis.yml` has its own
   format, checked by `bot.core.triage.load_lexicon`.
3. Texts: every text exists in every language the centre enables (fr, nl, en); every
   `{placeholder}` is known and every brace is closed; every text the code needs
   (`human_choice`, `flow_changed`, the opening-hours words, `claimed`, ...) exists; with
   the centre's name filled in, nothing reads wrong (`bot.core.centre_name.slips`): "de {centre}"
   giving "de le CPAS" is an error naming {centre_de}, so are "à {centre}", "de {centre_de}",
   "van {centre_de}", "the {centre}", a form the language lacks, and "de le CPAS" written
   out; a sentence starting with the name in small letters is a warning ({Centre}).
4. Definitions: a step, text or intent defined in two files; `start`/`human` set twice; a
   `do:` whose `results:` miss one of its results or list one it never gives; an unknown
   timezone, country or default language.
5. References: every `next`, choice `goto`, `ask`/`pick` `goto` and `empty`, `results`,
   intent `step`, keyword `goto`, `start` and `human` names a step; the steps the engine
   goes to by name exist (`not_understood`, `media_only`, `empty`, `urgent`); a choice
   `value` kept as `{workshop}` names a workshop.
6. Graph: every step can be reached (from `start`, `human`, the engine's steps, intents'
   steps and keywords' gotos); a step that ends the turn says how to reach a person (its
   text mentions 0 or it offers a choice to the `human` step; exempt: goodbye, stop,
   restart, urgent, language and the `human` step); no loop of `next`/`results` steps and
   no chain longer than the engine follows in one turn.
7. Keywords: the same normalised word used by two global keywords, or by two intents,
   leading to different steps in the same language is an error naming both places (in two
   different languages it is a warning: the engine does not look at the language); a
   keyword word that reads as a number (the menu digits win) is a warning. A step's own
   choice word equal to a global keyword is allowed by design (the step's word wins). In a
   list a message can name an entry of (a step that only lists choices, the workshops), a
   label, title or keyword that also names another entry of the same list, as the engine
   reads it (bot.core.naming: inside a sentence, every language, one typo), is an error; two
   sessions of one workshop (the same title) may share their words.
8. SMS budget: each reply is rendered as the person receives it, per language: the
   placeholders get realistic values (the centre's name, the longest {hours} answer of the
   coming week, the longest {emergency} list, the real {menu}, the longest workshop, a
   6-character reference, ...), the numbered choice and pick lines are appended as the
   engine does, and the steps said in the same turn (`next`, `results`) are joined. After
   the GSM-7 conversion of `bot.core.sms.prepare`, a reply over `max_segments` SMS segments is
   an error; a character that forces UCS-2 (emoji, ...) is a warning.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import re
import shutil
import string
import tempfile
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import ValidationError

from bot.core import answers, centre_name, engine, naming
from bot.core.errors import FlowError
from bot.core.flows import ACTIONS, PLACEHOLDERS, Flows, Step, _build, _LineLoader, _Node, load_lexicon
from bot.core.lang import LANGUAGES
from bot.core.oncall import load_rota
from bot.core.sms import GSM7_BASIC, GSM7_EXTENSION, prepare, segment_info
from bot.core.text import as_number, normalize

__all__ = ["Problem", "Report", "check_dir", "summary"]

SCHEMA_PATH = Path(__file__).resolve().parents[2] / "flows" / "schema.json"
CRISIS_FILE, ONCALL_FILE = "crisis.yml", "oncall.yml"
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
EXEMPT_DEAD_ENDS = {"goodbye", "stop", "stop_ask", "restart", "urgent", "language", "opted_out"}
# Names some shared texts fill in themselves (see bot.core.answers); allowed like bot.core.flows does.
BUILDING_BLOCKS = {"until", "when", "day", "slots", "time", "reason", "week", "start", "end",
                   "number", "label", "name"}
REQUIRED_TEXTS = {  # text -> (the file it belongs in, what the bot needs it for)
    "human_choice": ("menu.yml", "the last line of every numbered menu"),
    "flow_changed": ("menu.yml", "telling a person the menu changed"),
    "eta_open": ("menu.yml", "{human_eta}"), "eta_oncall": ("menu.yml", "{human_eta}"),
    "eta_next": ("menu.yml", "{human_eta}"),
    **{key: ("centre.yml", "the opening-hours answer") for key in (
        "hours_open_now", "hours_closed_now", "hours_next", "hours_no_next", "hours_day_open",
        "hours_day_closed", "hours_week", "slot", "and", "at_time", "today", "tomorrow", "holiday",
        "closure", "open_now_short")},
    "claimed": ("inbox.yml", "telling a person a social worker took their conversation"),
    "handed_back": ("inbox.yml", "telling a person the robot answers again"),
}
REFERENCE = "K7M2QX"  # a case reference as people get it: 6 characters
SAMPLE_ANSWER = "je voudrais un rendez-vous svp"  # a typical free-text answer kept by `ask`
_ZERO = re.compile(r"(?<!\d)0(?!\d)")


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


def check_dir(directory: Path | str, overrides: Mapping[str, str] | None = None,
              max_segments: int = 3) -> Report:
    """Check every flow file of directory; overrides maps a file name to unsaved text."""
    directory = Path(directory)
    if not overrides:
        return _Checker(directory, max_segments).run()
    bad = [name for name in overrides if Path(name).name != name or not name.endswith(".yml")]
    if bad:
        return Report([Problem(bad[0], None, "error", "a flow file name is a plain name ending "
                                                      "in .yml, like menu.yml")], None)
    with tempfile.TemporaryDirectory(prefix="relais-flows-check-") as tmp:
        for path in directory.glob("*.yml"):
            if path.is_file() and path.name not in overrides:
                shutil.copyfile(path, Path(tmp) / path.name)
        for name, text in overrides.items():
            (Path(tmp) / name).write_text(text, encoding="utf-8")
        return _Checker(Path(tmp), max_segments, shown=directory).run()


def summary(report: Report, directory: Path | str) -> str:
    """The last line of a check: '{directory}: 2 errors, 1 warning' or '... no problem found'."""
    if not report.problems:
        return f"{directory}: no problem found"
    errors, warnings = len(report.errors), len(report.warnings)
    return (f"{directory}: {errors} error{'s' if errors != 1 else ''}, "
            f"{warnings} warning{'s' if warnings != 1 else ''}")


def main(argv: list[str] | None = None) -> int:
    """`python -m bot.core.flows_check [DIR]`: the check without the app (which a broken folder stops)."""
    import argparse
    import os

    parser = argparse.ArgumentParser(prog="python -m bot.core.flows_check", description=__doc__.splitlines()[0])
    parser.add_argument("directory", nargs="?", default=os.environ.get("FLOWS_DIR") or "flows")
    parser.add_argument("--max-segments", type=int, default=3)
    args = parser.parse_args(argv)
    report = check_dir(args.directory, max_segments=args.max_segments)
    for problem in report.problems:
        print(problem)
    print(summary(report, args.directory))
    return 0 if report.ok else 1


def _now() -> datetime:
    return datetime.now(UTC)


@lru_cache(maxsize=1)
def _validators() -> tuple[Draft202012Validator, Draft202012Validator]:
    """Validators for a flow file and for oncall.yml (the schema is read once)."""
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    checker = FormatChecker(formats=())
    checker.checks("date")(lambda value: not isinstance(value, str) or isinstance(value, _YamlDate))
    oncall = {"$schema": schema["$schema"], "$defs": schema["$defs"], "$ref": "#/$defs/oncall_file"}
    return (Draft202012Validator(schema, format_checker=checker),
            Draft202012Validator(oncall, format_checker=checker))


# (file name, content hash) -> its parsed tree (None when unreadable) and its YAML/schema problems.
# Parsing and schema-checking are most of a check's time; an edit changes one file at a time.
# The trees are never modified (bot.core.flows copies what it keeps).
_FILES: dict[tuple[str, str], tuple[_Node | None, tuple[Problem, ...]]] = {}
_FILES_LOCK = threading.Lock()  # the admin page and the store's reload may check at once


class _YamlDate(str):
    """A date written unquoted in YAML, as the schema sees it."""


def _jsonable(node: Any) -> Any:
    """The YAML tree as JSON Schema expects it: dates become _YamlDate strings."""
    if isinstance(node, dict):
        return {key: _jsonable(value) for key, value in node.items()}
    if isinstance(node, list):
        return [_jsonable(value) for value in node]
    if isinstance(node, date | datetime):
        return _YamlDate(node.isoformat())
    return node


# --- where things are, in words and lines ---------------------------------------------------


def _line(doc: Any, path: list[Any] | tuple[Any, ...]) -> int | None:
    """The line of the node at path: its key's line, or a list item's own line."""
    node, line = doc, getattr(doc, "line", None)
    for key in path:
        if isinstance(node, dict):
            line = getattr(node, "key_lines", {}).get(key, line)
            node = node.get(key)
        elif isinstance(node, list) and isinstance(key, int) and 0 <= key < len(node):
            node = node[key]
            line = getattr(node, "line", None) or line
        else:
            break
    return line


_SINGULAR = {"steps": "step", "texts": "text", "intents": "intent", "keywords": "keyword",
             "workshops": "workshop"}


def _name(path: list[Any] | tuple[Any, ...]) -> str:
    """Where a node is, in words: "choice 2 of step 'menu'", "'seats' of workshop 'cv'"."""
    path = list(path)
    if not path:
        return "the file"
    if len(path) == 1:
        return f"'{path[0]}'"
    if path[:2] == ["centre", "name"]:
        return "the centre's name" + (f" ({', '.join(map(str, path[2:]))})" if path[2:] else "")
    if len(path) == 2 and path[0] in _SINGULAR:
        return f"{_SINGULAR[path[0]]} '{path[1]}'"
    if path[:2] == ["oncall", "people"] and len(path) == 3:
        return f"person '{path[2]}' of the on-call list"
    if path[:2] == ["oncall", "rota"] and len(path) == 3 and isinstance(path[2], int):
        return f"rota line {path[2] + 1}"
    if path[0] == "closures" and len(path) == 2 and isinstance(path[1], int):
        return f"closure {path[1] + 1}"
    if path[0] == "emergency" and len(path) == 3 and isinstance(path[2], int):
        return f"emergency number {path[2] + 1} of {path[1]}"
    *head, last = path
    if isinstance(last, int) and len(head) >= 2 and head[-2] in ("keywords", "words"):
        return f"word {last + 1} ({head[-1]}) of {_name(head[:-1])}"
    if isinstance(last, int):
        if head[-1] == "choices":
            return f"choice {last + 1} of {_name(head[:-1])}"
        return f"item {last + 1} of {_name(head)}"
    if last == "say":
        return f"the text of {_name(head)}"
    return f"'{last}' of {_name(head)}"


def _show(value: Any) -> str:
    text = str(value)
    return f"'{text[:40]}...'" if len(text) > 40 else f"'{text}'"


def _did_you_mean(word: Any, options: Any) -> str:
    close = difflib.get_close_matches(str(word), [str(o) for o in options], n=1, cutoff=0.6)
    return f"; did you mean '{close[0]}'?" if close else ""


# --- the checker ---------------------------------------------------------------------------


class _Checker:
    """One run over one folder; collects problems instead of stopping at the first."""

    def __init__(self, directory: Path, max_segments: int, shown: Path | None = None) -> None:
        self.directory, self.max_segments = directory, max_segments
        self.shown = shown or directory
        self.problems: list[Problem] = []
        self.docs: dict[str, _Node] = {}
        self.languages: tuple[str, ...] = LANGUAGES
        self.centre_forms: dict[str, dict[str, str]] = {}  # lang -> the forms of the centre's name

    def error(self, file: str, line: int | None, message: str) -> None:
        self.problems.append(Problem(file, line, "error", message))

    def warning(self, file: str, line: int | None, message: str) -> None:
        self.problems.append(Problem(file, line, "warning", message))

    def _report(self, flows: Flows | None) -> Report:
        ordered = sorted(self.problems, key=lambda p: (p.file, p.line or 0))
        return Report(list(dict.fromkeys(ordered)), flows)

    def _has_errors(self) -> bool:
        return any(p.level == "error" for p in self.problems)

    def run(self) -> Report:
        files = sorted(p for p in self.directory.glob("*.yml") if p.is_file())
        if not files:
            self.error(str(self.shown), None, "there is no .yml flow file in this folder")
            return self._report(None)
        for path in files:
            if path.name == CRISIS_FILE:
                self._crisis(path)
            else:
                self._read(path)
        if self._has_errors():
            return self._report(None)
        self._centre()
        self._texts()
        self._definitions()
        self._actions()
        self._oncall()
        if self._has_errors():
            return self._report(None)
        flows = self._load(files)
        if flows is None:
            return self._report(None)
        budget = _Budget(self, flows)
        _Graph(self, flows, budget).run()
        _Keywords(self, flows).run()
        _Names(self, flows).run()
        budget.run()
        return self._report(None if self._has_errors() else flows)

    # 1. YAML and 2. schema, per file ---------------------------------------------------------

    def _read(self, path: Path) -> None:
        """Parse and schema-check one file, or take both from the cache when its content is known."""
        content = path.read_bytes()
        key = (path.name, hashlib.sha256(content).hexdigest())
        if key not in _FILES:
            checker = _Checker(self.directory, self.max_segments)
            checker._parse(path.name, content)
            for name, parsed in checker.docs.items():
                checker._duplicate_keys(name, parsed)
                checker._schema(name, parsed)
            with _FILES_LOCK:
                while len(_FILES) >= 64:
                    _FILES.pop(next(iter(_FILES)), None)
                _FILES[key] = (checker.docs.get(path.name), tuple(checker.problems))
        doc, problems = _FILES[key]
        self.problems += problems
        if doc is not None:
            self.docs[path.name] = doc

    def _parse(self, name: str, content: bytes) -> None:
        try:
            text = content.decode("utf-8")
        except UnicodeDecodeError:
            self.error(name, None, "the file is not saved as UTF-8 text")
            return
        loader = _LineLoader(text)
        loader.relais_file = name  # type: ignore[attr-defined]
        try:
            doc = loader.get_single_data()
        except yaml.YAMLError as exc:
            self.error(name, *_yaml_problem(exc))
            return
        except (ValueError, TypeError, OverflowError) as exc:  # e.g. date: 2026-02-30
            self.error(name, _bad_date_line(text), f"a value cannot be read ({exc}); a date must exist "
                                                   "and be written like 2026-12-03")
            return
        finally:
            loader.dispose()
        if doc is None:
            doc = _Node()
            doc.file = name
        if not isinstance(doc, _Node):
            self.error(name, 1, "the file must be made of named sections (name: value), like 'steps:'")
            return
        self.docs[name] = doc

    def _duplicate_keys(self, file: str, doc: _Node) -> None:
        for node in _mappings(doc):
            for key, line, earlier in node.duplicates:
                self.error(file, line, f"'{key}' is written twice in the same place (also on line "
                                       f"{earlier}); only the last one would count: remove or rename "
                                       "one of them")

    def _crisis(self, path: Path) -> None:
        """crisis.yml has its own format and loader (which compiles it, cached on its content)."""
        try:
            load_lexicon(path)
        except FlowError as exc:
            self.error(exc.file, exc.line, exc.reason)

    def _schema(self, file: str, doc: _Node) -> None:
        flow_validator, oncall_validator = _validators()
        validator = oncall_validator if file == ONCALL_FILE else flow_validator
        errors = list(validator.iter_errors(_jsonable(doc)))
        for err in errors:
            if not _follows_from_a_typo(err, errors):
                for line, message in _schema_problems(err, doc):
                    self.error(file, line, message)

    # 3. texts and 4. definitions ------------------------------------------------------------

    def _centre(self) -> None:
        doc = self.docs.get("centre.yml")
        if doc is None or not isinstance(doc.get("centre"), dict):
            self.error("centre.yml", None, "centre.yml with its 'centre:' section is missing: it "
                                           "holds the centre's name, languages and hours")
            return
        if not isinstance(doc.get("hours"), dict):
            self.error("centre.yml", doc.line, "centre.yml needs an 'hours:' section (the weekly "
                                               "opening hours)")
        centre = doc["centre"]
        self.languages = tuple(centre.get("languages") or LANGUAGES)
        names = centre.get("name")
        names = dict.fromkeys(self.languages, names) if isinstance(names, str) else names or {}
        self.centre_forms = {lang: centre_name.forms(names[lang], lang) for lang in self.languages
                             if isinstance(names.get(lang), str | dict) and names[lang]}
        default = centre.get("default_language", self.languages[0])
        if default not in self.languages:
            self.error("centre.yml", _line(doc, ["centre", "default_language"]),
                       f"default_language is '{default}', which is not one of the centre's "
                       f"languages ({', '.join(self.languages)})")
        zone = str(centre.get("timezone", "Europe/Brussels"))
        try:
            from zoneinfo import ZoneInfo

            ZoneInfo(zone)
        except (KeyError, ValueError):
            from zoneinfo import available_timezones

            self.error("centre.yml", _line(doc, ["centre", "timezone"]), f"the timezone '{zone}' is "
                       f"not known{_did_you_mean(zone, available_timezones()) or ' (like Europe/Brussels)'}")
        country = str(centre.get("country", "BE")).upper()
        try:
            import holidays

            holidays.country_holidays(country, subdiv=centre.get("subdivision"))
        except NotImplementedError:
            self.error("centre.yml", _line(doc, ["centre", "country"]),
                       f"the country '{country}' (with its subdivision) has no known public holidays; "
                       "use BE or FR")
        for entry_path in _closure_paths(doc):
            closure = _get(doc, entry_path)
            start, end = closure.get("from"), closure.get("to", closure.get("from"))
            if isinstance(start, date) and isinstance(end, date) and end < start:
                self.error("centre.yml", _line(doc, entry_path), f"{_name(entry_path)} ends "
                           f"({end}) before it starts ({start})")

    def _texts(self) -> None:
        saved = _saved_names(self.docs)
        allowed = PLACEHOLDERS | BUILDING_BLOCKS | saved
        for file, doc in self.docs.items():
            for path in _text_paths(doc):
                node = _get(doc, path)
                variants = node if isinstance(node, dict) else dict.fromkeys(self.languages, node)
                missing = [lang for lang in self.languages if not str(variants.get(lang) or "").strip()]
                if missing:
                    self.error(file, _line(doc, path), f"{_name(path)} has no text in "
                                                       f"{', '.join(missing)}")
                for lang in self.languages:
                    if lang in variants and variants[lang] is not None:
                        for where, line, text in _forms(doc, path, lang, isinstance(node, dict)):
                            self._placeholders(file, line, where, text, allowed)
                            self._grammar(file, line, where, text, lang)
        present = {key for doc in self.docs.values() for key in (doc.get("texts") or {})}
        for key, (file, purpose) in REQUIRED_TEXTS.items():
            if key not in present:
                self.error(file, None, f"the text '{key}' is missing; the bot needs it for {purpose}")

    def _grammar(self, file: str, line: int | None, where: str, text: str, lang: str) -> None:
        """'de {centre}' that reads 'de le CPAS', written 'de le CPAS': say which form to use."""
        forms = self.centre_forms.get(lang)
        for slip in centre_name.slips(text, lang, forms) if forms else ():
            (self.error if slip.level == "error" else self.warning)(file, line, f"{where} {slip.message}")

    def _placeholders(self, file: str, line: int | None, where: str, text: str, allowed: set[str]) -> None:
        try:
            names = [f for _, f, _, _ in string.Formatter().parse(text) if f is not None]
        except ValueError:
            self.error(file, line, f"{where} has a '{{' or '}}' without its partner; placeholders are "
                                   "written like {centre}")
            return
        for name in names:
            if name not in allowed:
                close = difflib.get_close_matches(name, sorted(allowed), n=1, cutoff=0.6)
                hint = f"; did you mean {{{close[0]}}}?" if close else ""
                self.error(file, line, f"{where} uses an unknown placeholder {{{name}}}{hint}")

    def _definitions(self) -> None:
        for section in ("steps", "texts", "intents"):
            where: dict[str, str] = {}
            for file, doc in self.docs.items():
                for key in doc.get(section) or {}:
                    if key in where:
                        self.error(file, _line(doc, [section, key]), f"{_SINGULAR[section]} '{key}' is "
                                   f"defined twice (also in {where[key]}); keep only one")
                    else:
                        where[key] = f"{file}:{_line(self.docs[file], [section, key])}"
        for key in ("start", "human"):
            owners = [f for f, doc in self.docs.items() if key in doc]
            for file in owners[1:]:
                self.error(file, _line(self.docs[file], [key]), f"'{key}:' is set in {owners[0]} too; "
                                                                "set it in one file only")

    def _actions(self) -> None:
        for file, doc, name, raw in _raw_steps(self.docs):
            do = raw.get("do")
            results = raw.get("results") or {}
            expected = ACTIONS.get(do or "", ())
            if results and not expected:
                self.error(file, _line(doc, ["steps", name, "results"]), f"step '{name}' has results "
                           f"but {'no do:' if not do else f'do: {do} gives none'}; remove 'results:'")
                continue
            for missing in (r for r in expected if r not in results):
                self.error(file, _line(doc, ["steps", name, "do"]), f"step '{name}' does '{do}' but does "
                           f"not say where the result '{missing}' leads (add it under results:)")
            for extra in (r for r in results if r not in expected):
                self.error(file, _line(doc, ["steps", name, "results", extra]), f"step '{name}' lists "
                           f"the result '{extra}', which '{do}' never gives{_did_you_mean(extra, expected)}")

    def _oncall(self) -> None:
        doc = self.docs.get(ONCALL_FILE)
        if doc is None:
            return
        raw = doc.get("oncall") or {}
        people = set(raw.get("people") or {})
        paths: list[list[Any]] = [["oncall", "rota", i] for i in range(len(raw.get("rota") or ()))]
        if raw.get("closed_days"):
            paths.append(["oncall", "closed_days"])
        for path in paths:
            for role in ("primary", "backup"):
                who = (_get(doc, path) or {}).get(role)
                if who is not None and who not in people:
                    self.error(ONCALL_FILE, _line(doc, [*path, role]), f"{_name(path)} names '{who}' as "
                               f"{role}, who is not under people{_did_you_mean(who, people)}")

    def _load(self, files: list[Path]) -> Flows | None:
        digest = hashlib.sha256(b"".join(p.read_bytes() for p in files)).hexdigest()[:12]
        crisis = self.directory / CRISIS_FILE
        try:
            flows = _build(self.docs, digest, check=False)
            return replace(flows, rota=load_rota(self.directory / ONCALL_FILE),
                           crisis=load_lexicon(crisis) if crisis.exists() else None)
        except FlowError as exc:
            self.error(exc.file, exc.line, exc.reason)
        except (ValueError, TypeError, KeyError, AttributeError) as exc:  # a shape the schema let by
            self.error("?", None, f"the flows cannot be loaded ({exc.__class__.__name__}: {exc})")
        return None

    # helpers for the later checks -----------------------------------------------------------

    def step_line(self, step: Step, *path: Any) -> int | None:
        """The line of step (or of path inside it) in its file."""
        doc = self.docs.get(step.file)
        return _line(doc, ["steps", step.name, *path]) if doc is not None else step.line

    def owner_of(self, key: str) -> tuple[str, int | None]:
        """The file and line that set a top-level key like start (else menu.yml)."""
        for file, doc in self.docs.items():
            if key in doc:
                return file, _line(doc, [key])
        return "menu.yml", None


# --- YAML and schema errors in words ---------------------------------------------------------


_YAML_HINTS = (
    ("mapping values are not allowed", "a ':' is in an unexpected place; a text that holds ': ' must "
                                       "be in quotes"),
    ("cannot start any token", "a character cannot start a value here (a tab? indent with spaces; "
                               "a text starting with @ or ` must be in quotes)"),
    ("could not find expected ':'", "a line is missing its ':' (or a quote is not closed)"),
    ("expected ',' or '}'", "a {...} is not closed, or a text inside it holds a comma or a colon and "
                           "is not in quotes"),
    ("expected ',' or ']'", "a [...] list is not closed, or a word inside it holds a comma or a colon "
                           "and is not in quotes"),
    ("found unexpected end of stream", "a quote is not closed"),
    ("expected <block end>", "this line is not indented like the lines around it"),
    ("did not find expected key", "this line is not indented like the lines around it"),
    ("did not find expected '-' indicator", "a list item is not indented like the ones above it"),
    ("sequence entries are not allowed", "a '- ' list item is in an unexpected place (check the indentation "
                                         "of this line and the one above)"),
    ("found undefined alias", "a '*' starts a value; put the text in quotes"),
    ("found unknown escape character", "a '\\' in a text in double quotes; write \\\\ or use single quotes"),
)


def _yaml_problem(exc: yaml.YAMLError) -> tuple[int | None, str]:
    mark = getattr(exc, "problem_mark", None)
    context = getattr(exc, "context_mark", None)
    line = mark.line + 1 if mark else None
    problem = str(getattr(exc, "problem", "") or exc)
    hint = next((h for key, h in _YAML_HINTS if key in problem), problem)
    if context is not None and line and context.line + 1 != line:
        hint += f" (it started on line {context.line + 1})"
    return line, f"this is not valid YAML: {hint}"


def _follows_from_a_typo(err: ValidationError, errors: list[ValidationError]) -> bool:
    """A missing 'say' next to an unknown 'sya' is one mistake: report only the unknown key."""
    if err.validator not in ("required", "anyOf"):
        return False
    unknown = [key for other in errors if other.validator == "additionalProperties"
               and list(other.absolute_path) == list(err.absolute_path) and isinstance(other.instance, dict)
               for key in other.instance if key not in other.schema.get("properties", {})]
    if err.validator == "anyOf":
        return bool(unknown)
    missing = [k for k in err.validator_value if isinstance(err.instance, dict) and k not in err.instance]
    return all(difflib.get_close_matches(str(k), map(str, unknown), n=1, cutoff=0.6) for k in missing)


def _bad_date_line(text: str) -> int | None:
    """The line of the first date YAML reads but the calendar lacks (2026-02-30)."""
    for number, line in enumerate(text.splitlines(), start=1):
        for found in re.findall(r"\b\d{4}-\d{1,2}-\d{1,2}\b", line.split("#")[0]):
            try:
                date(*map(int, found.split("-")))
            except ValueError:
                return number
    return None


_KINDS = {"string": "text", "integer": "a number", "number": "a number", "array": "a list",
          "object": "a section (name: value lines)", "null": "empty", "boolean": "yes or no"}


def _schema_problems(err: ValidationError, doc: _Node) -> Iterator[tuple[int | None, str]]:
    """Turn one JSON Schema error into (line, sentence) for an admin."""
    path = list(err.absolute_path)
    schema = err.schema if isinstance(err.schema, dict) else {}
    description = schema.get("description", "")
    value = err.instance
    where = _name(path) if path else "the file"
    if "propertyNames" in err.schema_path:
        yield (_line(doc, [*path, value]), f"{where} has {_show(value)}, which is not allowed here: "
                                           f"it must be {description or 'another name'}")
        return
    if err.validator == "additionalProperties" and isinstance(value, dict):
        known = list(err.schema.get("properties", {}))
        for extra in [k for k in value if k not in known]:
            line = _line(doc, [*path, extra])
            if set(known) == set(LANGUAGES):
                yield (line, f"{where} has '{extra}', which is not a language ({', '.join(LANGUAGES)}); "
                             "a text with a comma or a colon inside {...} must be in quotes")
            elif not path:
                yield (line, f"the file has a section '{extra}', which is not known"
                             f"{_did_you_mean(extra, known) or '; the sections are ' + ', '.join(known)}")
            else:
                yield (line, f"{where} has '{extra}', which is not known here"
                             f"{_did_you_mean(extra, known) or '; it can have ' + ', '.join(known)}")
        return
    if err.validator == "required" and isinstance(value, dict):
        for key in (k for k in err.validator_value if k not in value):
            yield (_line(doc, path), f"{where} needs '{key}'")
        return
    if err.validator == "anyOf" and path and path[0] == "steps":
        yield (_line(doc, path), f"{where} must have 'say', 'do' or 'next'")
        return
    line = _line(doc, path)
    if err.validator == "type":
        expected = err.validator_value if isinstance(err.validator_value, list) else [err.validator_value]
        if value is None:
            yield (line, f"{where} is empty; it must be {description or _KINDS[expected[0]]}")
            return
        kind = " or ".join(dict.fromkeys(_KINDS.get(str(e), str(e)) for e in expected))
        if description and (set(expected) & {"array", "object"}):
            kind = description
        hint = ""
        if isinstance(value, bool):
            hint = " (yes, no, on and off without quotes mean true or false in YAML: put the word in quotes)"
        elif "string" in expected and isinstance(value, int | float):
            hint = " (put it in quotes)"
        yield (line, f"{where} must be {kind}{hint}")
        return
    if err.validator == "enum":
        options = [str(o) for o in err.validator_value]
        yield (line, f"{where} is {_show(value)}, which is not allowed here; it must be one of: "
                     f"{', '.join(options)}{_did_you_mean(value, options)}")
        return
    if err.validator in ("pattern", "format", "minimum", "exclusiveMinimum", "minLength", "minItems",
                         "uniqueItems", "maxLength", "maximum"):
        shown = "this list" if isinstance(value, list) else _show(value)
        if path and path[-1] == "phone":
            shown = "not written right"  # a phone number never goes into a message or a log
        yield (line, f"{where} is {shown}; it must be {description or err.message}")
        return
    yield (line, f"{where}: {err.message}")


# --- walking the raw YAML ----------------------------------------------------------------------


def _mappings(node: Any) -> Iterator[_Node]:
    if isinstance(node, _Node):
        yield node
        for value in node.values():
            yield from _mappings(value)
    elif isinstance(node, list):
        for value in node:
            yield from _mappings(value)


def _get(doc: Any, path: list[Any]) -> Any:
    node = doc
    for key in path:
        if isinstance(node, dict):
            node = node.get(key)
        elif isinstance(node, list) and isinstance(key, int) and 0 <= key < len(node):
            node = node[key]
        else:
            return None
    return node


def _raw_steps(docs: dict[str, _Node]) -> Iterator[tuple[str, _Node, str, _Node]]:
    for file, doc in docs.items():
        for name, raw in (doc.get("steps") or {}).items():
            if isinstance(raw, _Node):
                yield file, doc, str(name), raw


def _closure_paths(doc: _Node) -> list[list[Any]]:
    return [["closures", i] for i, c in enumerate(doc.get("closures") or ()) if isinstance(c, dict)]


def _forms(doc: _Node, path: list[Any], lang: str, per_language: bool) -> Iterator[tuple[str, int | None, str]]:
    """(where, line, text) of the text at path in lang; the centre's name may give several forms."""
    node = _get(doc, [*path, lang]) if per_language else _get(doc, path)
    if isinstance(node, dict):
        for form, text in node.items():
            if text is not None:
                yield f"{_name(path)} ({lang}, {form})", _line(doc, [*path, lang, form]), str(text)
        return
    yield f"{_name(path)} ({lang})", _line(doc, [*path, lang]) if per_language else _line(doc, path), str(node)


def _text_paths(doc: _Node) -> Iterator[list[Any]]:
    """Every text that exists per language in a parsed (schema-valid) flow file."""
    centre = doc.get("centre")
    if isinstance(centre, dict) and "name" in centre:
        yield ["centre", "name"]
    for path in _closure_paths(doc):
        if _get(doc, [*path, "reason"]) is not None:
            yield [*path, "reason"]
    for country, entries in (doc.get("emergency") or {}).items():
        for i in range(len(entries or ())):
            yield ["emergency", country, i, "label"]
    for key in doc.get("texts") or {}:
        yield ["texts", key]
    for name, raw in (doc.get("steps") or {}).items():
        if raw.get("say") is not None:
            yield ["steps", name, "say"]
        for i in range(len(raw.get("choices") or ())):
            yield ["steps", name, "choices", i, "label"]
    for key in doc.get("workshops") or {}:
        yield ["workshops", key, "title"]
        yield ["workshops", key, "place"]


def _saved_names(docs: dict[str, _Node]) -> set[str]:
    names = set()
    for _, _, _, raw in _raw_steps(docs):
        for key in ("ask", "pick"):
            if isinstance(raw.get(key), dict) and raw[key].get("save"):
                names.add(str(raw[key]["save"]))
    return names


# --- 5. references and 6. graph ------------------------------------------------------------------


@dataclass
class _Graph:
    """References, reachability, dead ends and chains, on the loaded flows."""

    check: _Checker
    flows: Flows
    budget: _Budget

    def run(self) -> None:
        self._references()
        self._reachable()
        self._dead_ends()
        self._chains()

    def _ref(self, file: str, line: int | None, what: str, target: str | None) -> None:
        if target is not None and target not in self.flows.steps:
            self.check.error(file, line, f"{what} goes to '{target}', which is not a step"
                             f"{_did_you_mean(target, self.flows.steps)}")

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
                self._ref(file, _line(doc, ["intents", intent, "step"]), f"intent '{intent}'", raw.get("step"))
            for name, raw in (doc.get("keywords") or {}).items():
                self._ref(file, _line(doc, ["keywords", name, "goto"]), f"keyword '{name}'", raw.get("goto"))
        for key, value in (("start", flows.start), ("human", flows.human)):
            file, line = check.owner_of(key)
            if value not in flows.steps:
                self.check.error(file, line, f"'{key}:' names '{value}', which is not a step"
                                 f"{_did_you_mean(value, flows.steps)}")
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
                                 f"which is not a workshop{_did_you_mean(key, self.flows.workshops)}")

    def _reachable(self) -> None:
        seen: set[str] = set()
        todo = [name for name in _roots(self.flows) if name in self.flows.steps]
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
            for path in _continuations(flows, [start.name]):
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


def _roots(flows: Flows) -> set[str]:
    """The steps a person can land on without a step leading there."""
    found = {flows.start, flows.human, *ENGINE_STEPS, *(set(OPTIONAL_ENGINE_STEPS) & set(flows.steps))}
    found |= {route.step for route in flows.intents.values()}
    return found | {keyword.goto or flows.start for keyword in flows.keywords}


def _continuations(flows: Flows, path: list[str]) -> Iterator[list[str]]:
    """Every path of steps said in the same turn from path[-1], stopping at loops and at 7."""
    step = flows.steps.get(path[-1])
    if step is None or path[-1] in path[:-1] or len(path) > engine.MAX_CHAIN:
        yield path
        return
    following = _following(step)
    if not following:
        yield path
    for target in following:
        yield from _continuations(flows, [*path, target])


def _following(step: Step) -> list[str]:
    """The steps said right after step in the same reply (an empty pick list goes to `empty`)."""
    if step.do in engine.ACTIONS_WITH_RESULTS and step.results:
        return list(dict.fromkeys(step.results.values()))
    found = [step.pick.empty] if step.pick and step.pick.empty else []
    return found + ([step.next] if step.next else [])


# --- 7. keywords --------------------------------------------------------------------------------


@dataclass
class _Keywords:
    """The same word leading to two different steps."""

    check: _Checker
    flows: Flows

    def run(self) -> None:
        self._collisions("keywords", "words", "keyword", lambda raw: raw.get("goto") or self.flows.start,
                         cross_language=True)
        self._collisions("intents", "keywords", "intent", lambda raw: raw.get("step"), cross_language=True)

    def _collisions(self, section: str, field_name: str, noun: str, target_of: Any,
                    cross_language: bool) -> None:
        seen: dict[tuple[str, str], tuple[str, str, str, int | None]] = {}
        by_word: dict[str, tuple[str, str, str, str, int | None]] = {}
        for file, doc in self.check.docs.items():
            for name, raw in (doc.get(section) or {}).items():
                target = target_of(raw)
                for lang, words in (raw.get(field_name) or {}).items():
                    line = _line(doc, [section, name, field_name, lang])
                    for word in words or ():
                        norm = normalize(str(word))
                        if section == "keywords" and as_number(norm) is not None:
                            self.check.warning(file, line, f"keyword '{name}': '{word}' reads as the number "
                                               f"{as_number(norm)}, so it picks a menu line instead")
                        first = seen.get((lang, norm))
                        if first is None:
                            seen[(lang, norm)] = (name, target, file, line)
                            other = by_word.setdefault(norm, (lang, name, target, file, line))
                            if cross_language and other[0] != lang and other[2] != target:
                                self.check.warning(file, line, f"the word '{norm}' ({lang}) of {noun} "
                                                   f"'{name}' leads to '{target}', and in {other[0]} "
                                                   f"{noun} '{other[1]}' ({other[3]}:{other[4]}) uses it "
                                                   f"for '{other[2]}'; the bot does not look at the "
                                                   "language here, so one of them never works")
                        elif first[1] != target:
                            self.check.error(file, line, f"the word '{norm}' ({lang}) of {noun} '{name}' "
                                             f"leads to '{target}', but {noun} '{first[0]}' "
                                             f"({first[2]}:{first[3]}) uses it for '{first[1]}'; a word "
                                             "can lead to one step only")


@dataclass
class _Names:
    """A word of a list (a choice's label or keyword, a workshop's title or keyword) that names two entries.

    The engine reads the words of a list inside a sentence, in every language at once, with one
    typo allowed in longer words (bot.core.naming): a word names two entries when a message holding
    only that word would name both. Two sessions of one workshop (the same title) may share words.
    """

    check: _Checker
    flows: Flows
    reported: set[tuple[str, str, frozenset[Any]]] = field(default_factory=set)

    def _first(self, clash: tuple[str, str, frozenset[Any]]) -> bool:
        """True the first time a word is found naming the same two entries (one report, not one per side)."""
        if clash in self.reported:
            return False
        self.reported.add(clash)
        return True

    def run(self) -> None:
        for step in self.flows.steps.values():
            if step.choices and not step.pick and engine.list_entries(step, self.flows) is not None:
                self._choices(step)
        self._workshops()

    def _choices(self, step: Step) -> None:
        doc = self.check.docs.get(step.file)
        entries = engine.list_entries(step, self.flows) or []
        clashes = _clashes(tuple(entries))  # the same choices (written once with &name) are checked once
        for i, choice in enumerate(step.choices):
            for field_name, lang, word in _choice_words(choice):
                names = clashes.get(word, ())
                others = [j for j, entry in enumerate(entries) if j != i and entry.key != choice.goto
                          and entry.key in names]
                if not others:
                    continue
                j = others[0]
                if not self._first((step.name, word, frozenset((i, j)))):
                    continue
                line = _line(doc, ["steps", step.name, "choices", i, field_name, lang]) if doc else step.line
                other = _line(doc, ["steps", step.name, "choices", j]) if doc else step.line
                self.check.error(step.file, line, f"the word '{word}' ({lang}) of choice {i + 1} of step "
                                 f"'{step.name}' leads to '{choice.goto}', but it also names choice {j + 1} "
                                 f"({step.file}:{other}), which leads to '{step.choices[j].goto}'; a word can "
                                 "lead to one choice of a list only: remove it from one of them")

    def _workshops(self) -> None:
        workshops = list(self.flows.workshops.values())
        entries = [naming.Entry(w.key, engine.workshop_words(w)) for w in workshops]
        doc = self.check.docs.get("workshops.yml")
        lang0 = self.flows.default_language
        for workshop in workshops:
            for lang, word in [(lang, w) for lang, ws in workshop.keywords.items() for w in ws]:
                names = naming.named(word, entries)
                others = [w for w in workshops if w.key != workshop.key and w.title[lang0] != workshop.title[lang0]
                          and w.key in names]
                if not others or not self._first(("workshops", word, frozenset((workshop.key, others[0].key)))):
                    continue
                line = _line(doc, ["workshops", workshop.key, "keywords", lang]) if doc else workshop.line
                self.check.error(workshop.file, line, f"the word '{word}' ({lang}) of workshop '{workshop.key}' "
                                 f"also names workshop '{others[0].key}' ({others[0].file}:{others[0].line}); a "
                                 "word can name one workshop only (two sessions of the same workshop, with the "
                                 "same title, may share their words): remove it from one of them")


@lru_cache(maxsize=64)
def _clashes(entries: tuple[naming.Entry, ...]) -> dict[str, tuple[str, ...]]:
    """Each word of a list -> the entries a message of that word alone names (more than one: a clash)."""
    found = {}
    for entry in entries:
        for word in entry.words:
            names = tuple(naming.named(word, entries))
            if len(names) > 1:
                found[word] = names
    return found


def _choice_words(choice: Any) -> Iterator[tuple[str, str, str]]:
    """(field, lang, normalised word) for every label and keyword of a choice."""
    for lang, label in choice.label.items():
        yield "label", lang, normalize(label)
    for lang, words in choice.keywords.items():
        for word in words:
            yield "keywords", lang, word


# --- 8. SMS budget ------------------------------------------------------------------------------


class _Sample(answers.Context):
    """Placeholder values as a person would get them, the longest realistic ones."""

    def __init__(self, flows: Flows, lang: str, now: datetime, samples: dict[str, str],
                 data: dict[str, str]) -> None:
        super().__init__(flows, lang, now, engine.Incoming(text="", reference=REFERENCE), data)
        self.samples = samples

    def __missing__(self, key: str) -> str:
        if key in self.data:
            return self.data[key]
        if key in self.samples:
            return self.samples[key]
        return super().__missing__(key)


@dataclass
class _Budget:
    """SMS segments of each reply, and characters that force UCS-2."""

    check: _Checker
    flows: Flows
    now: datetime = field(default_factory=_now)
    _values: dict[str, dict[str, str]] = field(default_factory=dict)

    def run(self) -> None:
        self._ucs2()
        limit = self.check.max_segments
        over_alone: set[str] = set()
        for step in self.flows.steps.values():
            counts = {lang: self.segments(self.own_text(step, lang)) for lang in self.flows.languages}
            over = {lang: n for lang, n in counts.items() if n > limit}
            if over:
                over_alone.add(step.name)
                first = next(iter(over))
                self.check.error(step.file, self.check.step_line(step, "say", first) if step.say else step.line,
                                 f"step '{step.name}' takes {_count(over)} on a basic phone; the limit is "
                                 f"{limit}: shorten it")
        for name in sorted(self._entries()):
            step = self.flows.steps[name]
            notice = "flow_changed" if name == self.flows.start else None
            worst: dict[str, tuple[int, list[str]]] = {}
            for lang in self.flows.languages:
                for path, text in self.replies(name, lang, notice):
                    segments = self.segments(text)
                    if segments > worst.get(lang, (0, []))[0]:
                        worst[lang] = (segments, path)
            over = {lang: n for lang, (n, path) in worst.items()
                    if n > limit and not set(path) & over_alone}
            if over:
                path = worst[next(iter(over))][1]
                after = ", ".join(f"'{p}'" for p in path[1:]) or "the notice that the menu changed"
                self.check.error(step.file, step.line, f"the reply that step '{name}' starts (with {after} "
                                 f"said after it) takes {_count(over)} on a basic phone; the limit is "
                                 f"{limit}: shorten one of them")
        self._texts(limit)

    def _entries(self) -> set[str]:
        """Steps a reply can start at: every target except those only reached by next/results."""
        flows = self.flows
        found = _roots(flows)
        for step in flows.steps.values():
            found |= {c.goto for c in step.choices}
            if step.ask:
                found.add(step.ask.goto)
            if step.pick:
                found.add(step.pick.goto)
        return {name for name in found if name in flows.steps}

    def segments(self, text: str) -> int:
        """The SMS segments a reply bills after the GSM-7 conversion (cut like the engine does)."""
        return sum(segment_info(prepare(chunk, "sms")).segments for chunk in engine.split_reply(text))

    def values(self, lang: str) -> dict[str, str]:
        """The longest realistic value of each computed placeholder, in lang."""
        if lang not in self._values:
            self._values[lang] = self._compute_values(lang)
        return self._values[lang]

    def _moments(self) -> list[datetime]:
        tz = self.flows.schedule.tz
        today = self.now.astimezone(tz).date()
        return [datetime.combine(today + timedelta(days=d), time(hour), tz)
                for d in range(7) for hour in (10, 17, 23)]

    def _compute_values(self, lang: str) -> dict[str, str]:
        flows, moments = self.flows, self._moments()

        def longest(texts: Any) -> str:
            return max(texts, key=len, default="")

        def safe(compute: Any) -> str:
            try:
                return str(compute())
            except (KeyError, ValueError, IndexError):
                return ""

        values = {
            "hours": longest(safe(lambda m=m: answers.hours_answer(flows, lang, m, "")) for m in moments),
            "next_open": longest(safe(lambda m=m: answers.next_open(flows, lang, m)) for m in moments),
            "human_eta": longest(safe(lambda m=m: answers.human_eta(flows, lang, m)) for m in moments),
            "media": longest(safe(lambda m=m, k=k: answers.media_sentence(flows, lang, m, (k,)))
                             for m in moments for k in ("audio", "image", "video", "document", "location", "")),
            "emergency": longest(answers.emergency_lines(flows, lang, country) for country in flows.emergency),
            "reference": REFERENCE,
            "position": "12",
            "until": "16h30" if lang != "en" else "4:30pm",
            "slots": safe(lambda: answers.fmt_slots(max(flows.schedule.weekly.values(), key=len, default=()),
                                                    flows, lang)),
            "reason": longest(c.reason.get(lang, "") for c in flows.schedule.closures),
            "week": "",
            "start": "13h30", "end": "16h30", "time": "13h30", "number": "0800 32 123",
        }
        values["when"] = longest(safe(lambda m=m: answers._when(flows, lang, m, m + timedelta(days=8)))
                                 for m in moments[:3])
        values["offer_until"] = values["when"]
        values["day"] = longest(_day_label(d, lang) for d in range(7))
        values["label"] = longest(e.label.get(lang, "") for entries in flows.emergency.values() for e in entries)
        values["name"] = flows.name.get(lang, "")
        workshop = max(flows.workshops.values(), default=None,
                       key=lambda w: len(w.title[lang]) + len(w.place[lang]) + len(answers.workshop_when(w, lang)))
        for key in ("workshop_title", "workshop_when", "workshop_place", "workshop_seats"):
            values[key] = ""
        values["workshop_seats"] = longest(flows.text(key, lang).format(number=max(
            (w.seats for w in flows.workshops.values()), default=12)) for key in ("workshop_seats_left", "workshop_full")
            if key in flows.texts)
        if workshop is not None:
            values.update(workshop_title=workshop.title[lang], workshop_place=workshop.place[lang],
                          workshop_when=answers.workshop_when(workshop, lang), workshop=workshop.key)
        values.update(self._answers())
        return values

    def _answers(self) -> dict[str, str]:
        """What `ask` keeps: the longest choice a step offers, else a typical typed answer."""
        found: dict[str, str] = {}
        for step in self.flows.steps.values():
            if step.ask and step.ask.save not in found:
                options = [c.value or c.label[self.flows.default_language] for c in step.choices]
                found[step.ask.save] = max(options, key=len) if options else SAMPLE_ANSWER
            if step.pick and step.pick.save not in found and step.pick.save != "workshop":
                found[step.pick.save] = max(self.flows.workshops, key=len, default="")
        return found

    def _context(self, lang: str, data: dict[str, str] | None = None) -> _Sample:
        return _Sample(self.flows, lang, self.now, self.values(lang), dict(data or {}))

    def _shown(self, step: Step) -> list[str]:
        """The workshops a `pick` step lists: the upcoming ones (a person's sign-ups: up to 3)."""
        assert step.pick is not None
        upcoming = engine._pick_list(replace(step, pick=replace(step.pick, source="workshops")),
                                     self.flows, self.now, None)
        return upcoming[:3] if step.pick.source == "signups" else upcoming

    def own_text(self, step: Step, lang: str) -> str:
        """What step alone says in lang, with its numbered lines."""
        data = {engine.PICKED: ",".join(self._shown(step))} if step.pick else {}
        try:
            return engine._render(step, self._context(lang, data))
        except (ValueError, KeyError, IndexError, AttributeError):
            return ""

    def replies(self, name: str, lang: str, notice: str | None = None) -> Iterator[tuple[list[str], str]]:
        """Every reply a turn starting at step name can give: (steps said, text)."""
        first = [self.flows.text(notice, lang)] if notice in self.flows.texts else []
        yield from self._walk(name, lang, first, [])

    def _walk(self, name: str, lang: str, parts: list[str], path: list[str]) -> Iterator[tuple[list[str], str]]:
        step = self.flows.steps.get(name)
        if step is None or len(path) >= engine.MAX_CHAIN:
            yield path, "\n".join(p for p in parts if p)
            return
        if step.pick and step.pick.empty and not self._shown(step):
            yield from self._walk(step.pick.empty, lang, parts, [*path, name])
            return
        parts, path = [*parts, self.own_text(step, lang)], [*path, name]
        following = [t for t in _following(step) if not step.pick or t != step.pick.empty]
        if not following:
            yield path, "\n".join(p for p in parts if p)
        for target in following:
            yield from self._walk(target, lang, parts, path)

    def _texts(self, limit: int) -> None:
        for file, doc in self.check.docs.items():
            for key in doc.get("texts") or {}:
                over = {}
                for lang in self.flows.languages:
                    try:
                        text = self.flows.text(key, lang).format_map(self._context(lang))
                    except (ValueError, KeyError, IndexError, AttributeError):
                        continue
                    if self.segments(text) > limit:
                        over[lang] = self.segments(text)
                if over:
                    self.check.error(file, _line(doc, ["texts", key, next(iter(over))]), f"text '{key}' takes "
                                     f"{_count(over)} on a basic phone; the limit is {limit}: shorten it")

    def _ucs2(self) -> None:
        for file, doc in self.check.docs.items():
            for path in _text_paths(doc):
                node = _get(doc, path)
                variants = node if isinstance(node, dict) else {"": node}
                for lang, text in _flat(variants):
                    odd = sorted({c for c in prepare(str(text or ""), "sms")
                                  if c not in GSM7_BASIC and c not in GSM7_EXTENSION})
                    if odd:
                        where = f"{_name(path)} ({lang})" if lang else _name(path)
                        line = _line(doc, [*path, lang] if lang else path)
                        shown = " ".join(odd[:5])
                        self.check.warning(file, line, f"{where} has {shown}, which a basic phone cannot get "
                                           "in a normal SMS: the whole message goes as UCS-2 (70 characters "
                                           "a segment instead of 160, so it costs more); remove them")


def _flat(variants: dict[Any, Any]) -> Iterator[tuple[str, Any]]:
    """(lang, text) pairs; a language given as forms (the centre's name) yields each form."""
    for lang, text in variants.items():
        if isinstance(text, dict):
            yield from ((lang, form_text) for form_text in text.values())
        else:
            yield lang, text


def _day_label(offset: int, lang: str) -> str:
    """A weekday with its date ('Mercredi 2 décembre'), the longest form of a day label."""
    from babel.dates import format_date

    return format_date(date(2026, 11, 30) + timedelta(days=offset), "EEEE d MMMM", locale=lang).capitalize()


def _count(over: dict[str, int]) -> str:
    return ", ".join(f"{n} SMS in {lang}" for lang, n in over.items())


if __name__ == "__main__":
    raise SystemExit(main())
