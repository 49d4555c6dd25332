"""The building blocks of bot.core.flows.build: required keys, texts per language, word lists."""

from __future__ import annotations

import string
from typing import Any

from bot.core.errors import FlowError
from bot.core.flowmodel import PLACEHOLDERS
from bot.core.yamlfile import Node

BUILDING_BLOCKS = frozenset({"until", "when", "day", "slots", "time", "reason", "week", "start", "end",
                             "number", "label", "name"})


def file_of(node: Any) -> str:
    """The file a node came from ("?" when built by code)."""
    return str(getattr(node, "file", "?"))


def line_of(node: Any) -> int | None:
    """The line a node starts on, when known."""
    return getattr(node, "line", None)


def require(node: Any, key: str, kind: type) -> Any:
    """node[key] when it is a kind; else raise FlowError naming the key."""
    value = node.get(key) if isinstance(node, dict) else None
    if not isinstance(value, kind):
        line = getattr(node, "line", None)
        raise FlowError(file_of(node), line, f"'{key}' is missing or not a {kind.__name__}")
    return value


def texts_of(raw: Any, languages: tuple[str, ...], what: str,
           saved: frozenset[str] | set[str] = frozenset()) -> dict[str, str]:
    """A text per language (one text for all when given plain); raise FlowError naming what lacks one."""
    if isinstance(raw, str):
        raw_dict = Node({lang: raw for lang in languages})
        raw_dict.file, raw_dict.line = "?", None
        raw = raw_dict
    if not isinstance(raw, dict):
        raise FlowError("?", None, f"{what} must give a text per language ({', '.join(languages)})")
    stray = [str(key) for key in raw if key not in languages]
    if stray:
        raise FlowError(file_of(raw), line_of(raw), f"{what} has '{stray[0]}', which is not a language "
                        f"({', '.join(languages)}); a text with a comma in {{...}} must be in quotes")
    missing = [lang for lang in languages if not str(raw.get(lang) or "").strip()]
    if missing:
        raise FlowError(file_of(raw), line_of(raw), f"{what} has no text in {', '.join(missing)}")
    for lang, value in raw.items():
        names = {f for _, f, _, _ in string.Formatter().parse(str(value)) if f}
        unknown = names - PLACEHOLDERS - set(saved) - BUILDING_BLOCKS
        if unknown:
            raise FlowError(file_of(raw), line_of(raw), f"{what} ({lang}) uses an unknown placeholder "
                            f"{{{sorted(unknown)[0]}}}")
    return {lang: str(raw[lang]).rstrip("\n") for lang in languages}


def wordlists(raw: Any) -> dict[str, tuple[str, ...]]:
    """Normalised words per language."""
    from bot.core.text import normalize

    if not raw:
        return {}
    return {lang: tuple(normalize(str(w)) for w in words) for lang, words in raw.items()}
