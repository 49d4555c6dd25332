"""Reading and checking `flows/crisis.yml`: every error names the file, the line and the reason."""

from __future__ import annotations

import hashlib
import re
import threading
from pathlib import Path
from typing import Any

import yaml

from bot.core import yamlfile
from bot.core.errors import FlowError
from bot.core.lang import LANGUAGES
from bot.core.text import normalize
from bot.core.triage.compiling import compile_lexicon
from bot.core.triage.model import Lexicon
from bot.core.triage.words import CRY_GROUPS, PLACEHOLDER
from bot.core.yamlfile import Node, Seq

SECTIONS = ("crisis", "not_crisis", "calm", "joking", "together", "cries")

_LEXICONS: dict[tuple[str, str], Lexicon] = {}  # (file name, content hash) -> compiled lexicon (the last few)
_LEXICONS_LOCK = threading.Lock()


def load_lexicon(path: Path | str) -> Lexicon:
    """Read, check and compile the crisis lexicon; raise FlowError naming the file, line and reason.

    Compiled once per content of the file (compiling takes seconds), not per path: the checker
    validates edits through a temporary copy of the folder and must not compile it again.
    """
    path = Path(path)
    content = path.read_bytes()
    key = (path.name, hashlib.sha256(content).hexdigest())
    with _LEXICONS_LOCK:  # one compile at a time: a second caller then finds it done
        lexicon = _LEXICONS.get(key)
        if lexicon is None:
            lexicon = _parsed(content.decode("utf-8"), path.name)
            while len(_LEXICONS) >= 4:
                _LEXICONS.pop(next(iter(_LEXICONS)), None)
            _LEXICONS[key] = lexicon
    return lexicon


def _parsed(text: str, name: str) -> Lexicon:
    """The lexicon of a file's text."""
    doc = _read(text, name)
    stray = [key for key in doc if key not in SECTIONS]
    if stray:
        raise FlowError(name, doc.key_lines[stray[0]], f"'{stray[0]}' is not a section here: "
                        f"the file has {', '.join(repr(s + ':') for s in SECTIONS)}")
    crisis = doc.get("crisis")
    if not isinstance(crisis, Node) or not crisis:
        raise FlowError(name, doc.key_lines.get("crisis", 1), "'crisis:' must list categories "
                        "(suicide, violence, ...), each with a label and phrases")
    categories = [_category(key, raw, name, crisis.key_lines[key]) for key, raw in crisis.items()]
    not_crisis = _phrases(doc.get("not_crisis") or Node(), name, doc.key_lines.get("not_crisis"),
                          "'not_crisis'")
    calm = _phrases(doc.get("calm") or Node(), name, doc.key_lines.get("calm"), "'calm'")
    names = {c[0] for c in categories}
    together = [_together(key, raw, name, doc["together"].key_lines[key], names)
                for key, raw in _section(doc, "together", name).items()]
    cries = _cries(doc["cries"], name, doc.key_lines["cries"]) if "cries" in doc else None
    joking = _section(doc, "joking", name)
    jokes = [_plain_list(joking.get(key), name, joking.key_lines.get(key, joking.line), f"'joking: {key}'")
             for key in ("markers", "about")] if joking else [[], []]
    return compile_lexicon(categories, not_crisis, calm, name, together, cries, (jokes[0], jokes[1]))


def _section(doc: Node, key: str, file: str) -> Node:
    raw = doc.get(key)
    if raw is None:
        return Node()
    if not isinstance(raw, Node):
        raise FlowError(file, doc.key_lines[key], f"'{key}:' must list named entries")
    return raw


def _label(raw: Node, file: str, line: int, what: str) -> dict[str, str]:
    label = raw.get("label")
    if not isinstance(label, Node):
        raise FlowError(file, line, f"{what} has no 'label:' (a short name per language)")
    _check_languages(label, file, f"the label of {what}")
    missing = [lang for lang in LANGUAGES if not str(label.get(lang) or "").strip()]
    if missing:
        raise FlowError(file, label.line, f"the label of {what} has no text in {', '.join(missing)}")
    return {lang: str(label[lang]) for lang in LANGUAGES}


def _plain_list(raw: Any, file: str, line: int | None, what: str) -> list[str]:
    if not isinstance(raw, Seq) or not raw:
        raise FlowError(file, line, f"{what} must be a list of phrases (one a line, starting with '- ')")
    for item, item_line in zip(raw, raw.lines, strict=True):
        _check_phrase(item, file, item_line)
    return [str(item) for item in raw]


def _together(key: Any, raw: Any, file: str, line: int, categories: set[str]) -> tuple[Any, ...]:
    what = f"combination '{key}'"
    if not isinstance(raw, Node):
        raise FlowError(file, line, f"{what} needs 'category:', 'label:' and 'all:' under it")
    if raw.get("category") not in categories:
        raise FlowError(file, raw.key_lines.get("category", line), f"{what} needs 'category:', one of "
                        f"{', '.join(sorted(categories))}")
    label = _label(raw, file, line, what)
    parts = raw.get("all")
    if not isinstance(parts, Seq) or len(parts) < 2:
        raise FlowError(file, raw.key_lines.get("all", line), f"{what} needs 'all:' with two lists or more "
                        "(a phrase of each must be in the message)")
    lists = [_plain_list(part, file, part_line, f"each part of {what}")
             for part, part_line in zip(parts, parts.lines, strict=True)]
    return str(key), str(raw["category"]), label, lists


def _cries(raw: Any, file: str, line: int) -> tuple[dict[str, str], dict[str, list[str]]]:
    if not isinstance(raw, Node):
        raise FlowError(file, line, f"'cries:' needs 'label:' and {', '.join(CRY_GROUPS)}")
    stray = [key for key in raw if key != "label" and key not in CRY_GROUPS]
    if stray:
        raise FlowError(file, raw.key_lines[stray[0]], f"'{stray[0]}' is not a group of cries "
                        f"({', '.join(CRY_GROUPS)})")
    label = _label(raw, file, line, "'cries'")
    groups = {group: _plain_list(raw.get(group), file, raw.key_lines.get(group, line), f"'cries: {group}'")
              for group in CRY_GROUPS if group in raw}
    return label, groups


def _read(text: str, name: str) -> Node:
    try:
        doc = yamlfile.load(text, name, fast=True)
    except yaml.YAMLError as exc:
        raise FlowError(name, yamlfile.error_line(exc),
                        f"this is not valid YAML ({getattr(exc, 'problem', exc)})") from None
    if not isinstance(doc, Node):
        raise FlowError(name, 1, "the file must start with 'crisis:'")
    return doc


def _category(key: Any, raw: Any, file: str, line: int) -> tuple[Any, ...]:
    if not isinstance(raw, Node):
        raise FlowError(file, line, f"category '{key}' needs 'label:' and 'phrases:' under it")
    label = _label(raw, file, line, f"'{key}'")
    if "phrases" not in raw:
        raise FlowError(file, line, f"category '{key}' has no phrases")
    phrases = _phrases(raw["phrases"], file, raw.key_lines["phrases"], f"category '{key}'")
    if not any(phrases.values()):
        raise FlowError(file, raw.key_lines["phrases"], f"category '{key}' has no phrases")
    weak = _phrases(raw["weak"], file, raw.key_lines["weak"], f"category '{key}'") if "weak" in raw else {}
    stray = [k for k in raw if k not in ("label", "phrases", "weak")]
    if stray:
        raise FlowError(file, raw.key_lines[stray[0]], f"category '{key}' has '{stray[0]}': "
                        "only 'label:', 'phrases:' and 'weak:' go there")
    return str(key), label, phrases, weak


def _phrases(raw: Any, file: str, line: int | None, what: str) -> dict[str, Seq]:
    if not isinstance(raw, Node):
        raise FlowError(file, line, f"the phrases of {what} must be listed per language (fr, nl, en)")
    _check_languages(raw, file, f"the phrases of {what}")
    found: dict[str, Seq] = {}
    for lang, items in raw.items():
        if items is None:
            continue
        if not isinstance(items, Seq):
            raise FlowError(file, raw.key_lines[lang], f"the {lang} phrases of {what} must be a list "
                            "(one phrase a line, starting with '- ')")
        for item, item_line in zip(items, items.lines, strict=True):
            _check_phrase(item, file, item_line)
        found[lang] = items
    return found


def _check_languages(raw: Node, file: str, what: str) -> None:
    for lang in raw:
        if lang not in LANGUAGES:
            raise FlowError(file, raw.key_lines[lang], f"{what} has '{lang}', which is not a language "
                            f"({', '.join(LANGUAGES)})")


def _check_phrase(item: Any, file: str, line: int) -> None:
    if isinstance(item, dict | list):
        raise FlowError(file, line, "a phrase containing ': ' must be put in quotes")
    text = "" if item is None else str(item)
    words = [w for w in PLACEHOLDER.sub(" ", text).split() if normalize(w)]
    if not text.strip():
        raise FlowError(file, line, "a phrase is empty (a phrase cannot start with #, which starts "
                        "a comment in YAML)")
    unknown = re.findall(r"<[^>]*>", PLACEHOLDER.sub(" ", text))
    if unknown:
        raise FlowError(file, line, f"'{unknown[0]}' is not a wildcard: use <n> (any number), "
                        "<5+> (5 or more) or ... (up to 3 words)")
    if not words:
        raise FlowError(file, line, f"the phrase '{text}' has no word, only wildcards")
    if text.strip().startswith(("...", "…")) or text.strip().endswith(("...", "…")):
        raise FlowError(file, line, f"the phrase '{text}' starts or ends with '...': "
                        "'...' only goes between two words")
