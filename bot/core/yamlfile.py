"""The one YAML loader of Relais: trees whose mappings and lists know their file and lines.

Flow files, crisis.yml, oncall.yml and the flow test files are all read here, so that every
error an admin sees names the file and the line. `as_text` keeps every plain scalar as
written (`send: yes`, `from: +32...`) except null, for the flow test files.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import yaml

__all__ = ["Node", "Seq", "load"]


class Node(dict):  # type: ignore[type-arg]
    """A mapping that remembers the file and line it came from, and the line of each key."""

    file: str = "?"
    line: int | None = None
    key_lines: dict[Any, int] = {}  # a shared empty default, replaced per node
    duplicates: tuple[tuple[Any, int, int], ...] = ()  # keys written twice: (key, line, earlier line)


class Seq(list):  # type: ignore[type-arg]
    """A list that remembers the file and line it came from, and the line of each item."""

    file: str = "?"
    line: int | None = None
    lines: list[int] = []  # a shared empty default, replaced per list


def _mapping(loader: Any, node: yaml.MappingNode) -> Node:
    mapping = Node(loader.construct_mapping(node, deep=True))
    mapping.line = node.start_mark.line + 1
    mapping.file = loader.relais_file
    mapping.key_lines, duplicates, own = {}, [], set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=True)
        if not isinstance(key, str | int | float | bool | date):
            continue
        if key in own:  # written twice here (keys merged in by << come from elsewhere)
            duplicates.append((key, key_node.start_mark.line + 1, mapping.key_lines[key]))
        if key_node.start_mark.index >= node.start_mark.index:
            own.add(key)
        mapping.key_lines[key] = key_node.start_mark.line + 1
    mapping.duplicates = tuple(duplicates)
    return mapping


def _sequence(loader: Any, node: yaml.SequenceNode) -> Seq:
    items = Seq(loader.construct_sequence(node, deep=True))
    items.file, items.line = loader.relais_file, node.start_mark.line + 1
    items.lines = [item.start_mark.line + 1 for item in node.value]
    return items


class _Loader(yaml.SafeLoader):
    """Pure-Python parsing: its error messages are the ones the flow checker explains."""

    relais_file = "?"


class _FastLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """libyaml's parser when installed (10 times faster), for the large crisis lexicon."""

    relais_file = "?"


class _TextLoader(_Loader):
    """Every plain value is text except null."""


_TextLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag == "tag:yaml.org,2002:null"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
for _kind in (_Loader, _FastLoader):  # _TextLoader inherits _Loader's
    _kind.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)
    _kind.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _sequence)


def load(text: str, file: str = "?", *, as_text: bool = False, fast: bool = False) -> Any:
    """Parse one YAML document; raise yaml.YAMLError (with problem_mark) when it is not valid.

    Args:
        file: the name the nodes carry (what errors show).
        as_text: plain scalars stay text (only null is read), as flow test files want.
        fast: use libyaml when installed (its error messages differ from PyYAML's).
    """
    kind = _TextLoader if as_text else _FastLoader if fast else _Loader
    loader = kind(text)
    loader.relais_file = file
    try:
        return loader.get_single_data()
    finally:
        loader.dispose()


def error_line(exc: yaml.YAMLError) -> int | None:
    """The 1-based line a YAML error points at, when it says."""
    mark = getattr(exc, "problem_mark", None)
    return mark.line + 1 if mark else None
