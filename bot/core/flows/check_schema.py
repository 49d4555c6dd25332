"""Checks 1 and 2, one file at a time: valid YAML made of named sections, no key written twice,
and the schema `flows/schema.json` (JSON Schema 2020-12), each error in an admin's words.

`oncall.yml` is checked against `$defs/oncall_file`; `crisis.yml` has its own format
(bot.core.triage checks it). A file's result is cached on its content: parsing and
schema-checking are most of a check's time, and an edit changes one file at a time.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import re
import threading
from collections.abc import Iterator
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import ValidationError

from bot.core import yamlfile
from bot.core.flows.paths import did_you_mean, line_of, mappings, name_of, show
from bot.core.flows.report import Check, Problem
from bot.core.lang import LANGUAGES
from bot.core.yamlfile import Node

SCHEMA_PATH = Path(__file__).resolve().parents[3] / "flows" / "schema.json"
ONCALL_FILE = "oncall.yml"


# (file name, content hash) -> its parsed tree (None when unreadable) and its YAML/schema problems.
# Parsing and schema-checking are most of a check's time; an edit changes one file at a time.
# The trees are never modified (bot.core.flows.build copies what it keeps).
_FILES: dict[tuple[str, str], tuple[Node | None, tuple[Problem, ...]]] = {}
_FILES_LOCK = threading.Lock()  # the admin page and the store's reload may check at once


def read_file(name: str, content: bytes) -> tuple[Node | None, tuple[Problem, ...]]:
    """The tree of one flow file (None when unreadable) and its YAML and schema problems."""
    key = (name, hashlib.sha256(content).hexdigest())
    if key not in _FILES:
        check = Check(max_segments=0)
        doc = _parse(check, name, content)
        if doc is not None:
            _duplicate_keys(check, name, doc)
            _schema(check, name, doc)
        with _FILES_LOCK:
            while len(_FILES) >= 64:
                _FILES.pop(next(iter(_FILES)), None)
            _FILES[key] = (doc, tuple(check.problems))
    return _FILES[key]


def _parse(check: Check, name: str, content: bytes) -> Node | None:
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError:
        check.error(name, None, "the file is not saved as UTF-8 text")
        return None
    try:
        doc = yamlfile.load(text, name)
    except yaml.YAMLError as exc:
        check.error(name, *yaml_problem(exc))
        return None
    except (ValueError, TypeError, OverflowError) as exc:  # e.g. date: 2026-02-30
        check.error(name, bad_date_line(text), f"a value cannot be read ({exc}); a date must exist "
                                               "and be written like 2026-12-03")
        return None
    if doc is None:
        doc = Node()
        doc.file = name
    if not isinstance(doc, Node):
        check.error(name, 1, "the file must be made of named sections (name: value), like 'steps:'")
        return None
    return doc


def _duplicate_keys(check: Check, file: str, doc: Node) -> None:
    for node in mappings(doc):
        for key, line, earlier in node.duplicates:
            check.error(file, line, f"'{key}' is written twice in the same place (also on line "
                                    f"{earlier}); only the last one would count: remove or rename "
                                    "one of them")


def _schema(check: Check, file: str, doc: Node) -> None:
    flow_validator, oncall_validator = validators()
    validator = oncall_validator if file == ONCALL_FILE else flow_validator
    errors = list(validator.iter_errors(jsonable(doc)))
    for err in errors:
        if not follows_from_a_typo(err, errors):
            for line, message in schema_problems(err, doc):
                check.error(file, line, message)


@lru_cache(maxsize=1)
def validators() -> tuple[Draft202012Validator, Draft202012Validator]:
    """Validators for a flow file and for oncall.yml (the schema is read once)."""
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    checker = FormatChecker(formats=())
    checker.checks("date")(lambda value: not isinstance(value, str) or isinstance(value, _YamlDate))
    oncall = {"$schema": schema["$schema"], "$defs": schema["$defs"], "$ref": "#/$defs/oncall_file"}
    return (Draft202012Validator(schema, format_checker=checker),
            Draft202012Validator(oncall, format_checker=checker))


class _YamlDate(str):
    """A date written unquoted in YAML, as the schema sees it."""


def jsonable(node: Any) -> Any:
    """The YAML tree as JSON Schema expects it: dates become _YamlDate strings."""
    if isinstance(node, dict):
        return {key: jsonable(value) for key, value in node.items()}
    if isinstance(node, list):
        return [jsonable(value) for value in node]
    if isinstance(node, date | datetime):
        return _YamlDate(node.isoformat())
    return node

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


def yaml_problem(exc: yaml.YAMLError) -> tuple[int | None, str]:
    """The line and an admin's sentence for a YAML syntax error."""
    mark = getattr(exc, "problem_mark", None)
    context = getattr(exc, "context_mark", None)
    line = mark.line + 1 if mark else None
    problem = str(getattr(exc, "problem", "") or exc)
    hint = next((h for key, h in _YAML_HINTS if key in problem), problem)
    if context is not None and line and context.line + 1 != line:
        hint += f" (it started on line {context.line + 1})"
    return line, f"this is not valid YAML: {hint}"


def follows_from_a_typo(err: ValidationError, errors: list[ValidationError]) -> bool:
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


def bad_date_line(text: str) -> int | None:
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


def schema_problems(err: ValidationError, doc: Node) -> Iterator[tuple[int | None, str]]:
    """Turn one JSON Schema error into (line, sentence) for an admin."""
    path = list(err.absolute_path)
    schema = err.schema if isinstance(err.schema, dict) else {}
    description = schema.get("description", "")
    value = err.instance
    where = name_of(path) if path else "the file"
    if "propertyNames" in err.schema_path:
        yield (line_of(doc, [*path, value]), f"{where} has {show(value)}, which is not allowed here: "
                                           f"it must be {description or 'another name'}")
        return
    if err.validator == "additionalProperties" and isinstance(value, dict):
        known = list(err.schema.get("properties", {}))
        for extra in [k for k in value if k not in known]:
            line = line_of(doc, [*path, extra])
            if set(known) == set(LANGUAGES):
                yield (line, f"{where} has '{extra}', which is not a language ({', '.join(LANGUAGES)}); "
                             "a text with a comma or a colon inside {...} must be in quotes")
            elif not path:
                yield (line, f"the file has a section '{extra}', which is not known"
                             f"{did_you_mean(extra, known) or '; the sections are ' + ', '.join(known)}")
            else:
                yield (line, f"{where} has '{extra}', which is not known here"
                             f"{did_you_mean(extra, known) or '; it can have ' + ', '.join(known)}")
        return
    if err.validator == "required" and isinstance(value, dict):
        for key in (k for k in err.validator_value if k not in value):
            yield (line_of(doc, path), f"{where} needs '{key}'")
        return
    if err.validator == "anyOf" and path and path[0] == "steps":
        yield (line_of(doc, path), f"{where} must have 'say', 'do' or 'next'")
        return
    line = line_of(doc, path)
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
        yield (line, f"{where} is {show(value)}, which is not allowed here; it must be one of: "
                     f"{', '.join(options)}{did_you_mean(value, options)}")
        return
    if err.validator in ("pattern", "format", "minimum", "exclusiveMinimum", "minLength", "minItems",
                         "uniqueItems", "maxLength", "maximum"):
        shown = "this list" if isinstance(value, list) else show(value)
        if path and path[-1] == "phone":
            shown = "not written right"  # a phone number never goes into a message or a log
        yield (line, f"{where} is {shown}; it must be {description or err.message}")
        return
    yield (line, f"{where}: {err.message}")
