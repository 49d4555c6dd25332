"""Where things are in a parsed flow file, in words and lines, and walking its raw tree."""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from typing import Any

from bot.core.yamlfile import Node


def line_of(doc: Any, path: list[Any] | tuple[Any, ...]) -> int | None:
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


SINGULAR = {"steps": "step", "texts": "text", "intents": "intent", "keywords": "keyword",
             "workshops": "workshop"}


def name_of(path: list[Any] | tuple[Any, ...]) -> str:
    """Where a node is, in words: "choice 2 of step 'menu'", "'seats' of workshop 'cv'"."""
    path = list(path)
    if not path:
        return "the file"
    if len(path) == 1:
        return f"'{path[0]}'"
    if path[:2] == ["centre", "name"]:
        return "the centre's name" + (f" ({', '.join(map(str, path[2:]))})" if path[2:] else "")
    if len(path) == 2 and path[0] in SINGULAR:
        return f"{SINGULAR[path[0]]} '{path[1]}'"
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
        return f"word {last + 1} ({head[-1]}) of {name_of(head[:-1])}"
    if isinstance(last, int):
        if head[-1] == "choices":
            return f"choice {last + 1} of {name_of(head[:-1])}"
        return f"item {last + 1} of {name_of(head)}"
    if last == "say":
        return f"the text of {name_of(head)}"
    return f"'{last}' of {name_of(head)}"


def show(value: Any) -> str:
    """A value as quoted in a message, cut at 40 characters."""
    text = str(value)
    return f"'{text[:40]}...'" if len(text) > 40 else f"'{text}'"


def did_you_mean(word: Any, options: Any) -> str:
    """The hint "; did you mean 'x'?" for the closest option, or nothing."""
    close = difflib.get_close_matches(str(word), [str(o) for o in options], n=1, cutoff=0.6)
    return f"; did you mean '{close[0]}'?" if close else ""

def mappings(node: Any) -> Iterator[Node]:
    """Every mapping of a tree, node first."""
    if isinstance(node, Node):
        yield node
        for value in node.values():
            yield from mappings(value)
    elif isinstance(node, list):
        for value in node:
            yield from mappings(value)


def get(doc: Any, path: list[Any]) -> Any:
    """The node at path, or None."""
    node = doc
    for key in path:
        if isinstance(node, dict):
            node = node.get(key)
        elif isinstance(node, list) and isinstance(key, int) and 0 <= key < len(node):
            node = node[key]
        else:
            return None
    return node


def raw_steps(docs: dict[str, Node]) -> Iterator[tuple[str, Node, str, Node]]:
    """(file, doc, name, raw step) of every step written as a section."""
    for file, doc in docs.items():
        for name, raw in (doc.get("steps") or {}).items():
            if isinstance(raw, Node):
                yield file, doc, str(name), raw


def closure_paths(doc: Node) -> list[list[Any]]:
    """The path of each closure of centre.yml."""
    return [["closures", i] for i, c in enumerate(doc.get("closures") or ()) if isinstance(c, dict)]


def forms(doc: Node, path: list[Any], lang: str, per_language: bool) -> Iterator[tuple[str, int | None, str]]:
    """(where, line, text) of the text at path in lang; the centre's name may give several forms."""
    node = get(doc, [*path, lang]) if per_language else get(doc, path)
    if isinstance(node, dict):
        for form, text in node.items():
            if text is not None:
                yield f"{name_of(path)} ({lang}, {form})", line_of(doc, [*path, lang, form]), str(text)
        return
    yield f"{name_of(path)} ({lang})", line_of(doc, [*path, lang]) if per_language else line_of(doc, path), str(node)


def text_paths(doc: Node) -> Iterator[list[Any]]:
    """Every text that exists per language in a parsed (schema-valid) flow file."""
    centre = doc.get("centre")
    if isinstance(centre, dict) and "name" in centre:
        yield ["centre", "name"]
    for path in closure_paths(doc):
        if get(doc, [*path, "reason"]) is not None:
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


