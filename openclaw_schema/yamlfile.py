"""Strict YAML for every file the project reads: bounded, UTF-8, no duplicate keys, no alias bombs.

`yaml.safe_load` is safe against code execution but not against input that is merely hostile
or careless. This loader turns each of those into one located error (``line L, column C:
message``) instead of a traceback, a stall or gigabytes of memory:

- the file is bounded in size and must be UTF-8 text (UTF-16/32, other encodings and binary
  files are named as such);
- nesting deeper than ``MAX_DEPTH`` levels (which overflows Python's recursion) is refused;
- a mapping may not repeat a key (YAML says keys are unique; PyYAML silently keeps the last);
- aliases are expanded in the count: a value whose expanded size (one per node plus the length
  of every scalar, each alias counted again) exceeds ``MAX_EXPANDED_SIZE`` is refused, so a
  "billion laughs" document cannot reach the probes, which serialise values on every run.
"""

from __future__ import annotations

import codecs
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

MAX_FILE_BYTES = 1024 * 1024
MAX_DEPTH = 64
MAX_EXPANDED_SIZE = 1_000_000

_MERGE_TAG = "tag:yaml.org,2002:merge"


class YAMLFileError(Exception):
    """A file is not acceptable YAML; the message starts with its location when there is one."""


def _at(mark: Any) -> str:
    return f"line {mark.line + 1}, column {mark.column + 1}" if mark is not None else "(file)"


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader with a nesting bound and duplicate-key detection while composing."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: Node | None, index: Any) -> Node:  # type: ignore[override]
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                mark = self.peek_event().start_mark
                raise YAMLFileError(f"{_at(mark)}: nesting deeper than {MAX_DEPTH} levels")
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def compose_mapping_node(self, anchor: str | None) -> MappingNode:  # type: ignore[override]
        node = super().compose_mapping_node(anchor)
        seen: dict[tuple[str, str], Any] = {}
        for key, _value in node.value:
            if not isinstance(key, ScalarNode) or key.tag == _MERGE_TAG:
                continue
            first = seen.setdefault((key.tag, key.value), key.start_mark)
            if first is not key.start_mark:
                raise YAMLFileError(f"{_at(key.start_mark)}: duplicate key {key.value!r} "
                                    f"(first defined at line {first.line + 1})")
        return node


def _children(node: Node) -> list[Node]:
    if isinstance(node, SequenceNode):
        return list(node.value)
    if isinstance(node, MappingNode):
        return [n for pair in node.value for n in pair]
    return []


def check_expansion(root: Node, budget: int = MAX_EXPANDED_SIZE) -> int:
    """The expanded size of ``root`` (aliases counted each time they are used); raise at the
    first (innermost) node past ``budget``, at a recursive alias, or past ``MAX_DEPTH`` once
    aliases are expanded. Iterative and memoised: linear in the composed graph, not its expansion."""
    memo: dict[int, tuple[int, int]] = {}  # id(node) -> (expanded size, expanded height)
    active: set[int] = set()
    stack: list[tuple[Node, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        key = id(node)
        if done:
            children = [memo[id(c)] for c in _children(node)]
            size = 1 + (len(node.value) if isinstance(node, ScalarNode) else 0) + sum(s for s, _ in children)
            height = 1 + max((h for _, h in children), default=0)
            active.discard(key)
            memo[key] = (size, height)
            if size > budget:
                raise YAMLFileError(f"{_at(node.start_mark)}: this value expands to more than {budget:,} nodes and "
                                    "characters through YAML aliases (an alias bomb?)")
            if height > MAX_DEPTH:
                raise YAMLFileError(f"{_at(node.start_mark)}: nesting deeper than {MAX_DEPTH} levels once "
                                    "aliases are expanded")
            continue
        if key in memo:
            continue
        if key in active:
            raise YAMLFileError(f"{_at(node.start_mark)}: recursive alias (a value that contains itself)")
        active.add(key)
        stack.append((node, True))
        stack.extend((child, False) for child in _children(node) if id(child) not in memo)
    return memo[id(root)][0]


def _load_documents(text: str) -> list[Any]:
    loader = None
    try:
        loader = _StrictLoader(text)
        nodes = []
        while loader.check_node():
            nodes.append(loader.get_node())
        total = 0
        for node in nodes:
            if node is not None:
                total += check_expansion(node, MAX_EXPANDED_SIZE - total)
        return [loader.construct_document(node) if node is not None else None for node in nodes]
    except yaml.reader.ReaderError as exc:
        line, column = _line_column(text, exc.position)
        raise YAMLFileError(f"line {line}, column {column}: character U+{exc.character:04X} is not allowed in YAML "
                            "(control characters: a binary file?)") from None
    except yaml.MarkedYAMLError as exc:
        raise YAMLFileError(f"{_at(exc.problem_mark)}: invalid YAML: {exc.problem}") from None
    except yaml.YAMLError as exc:
        raise YAMLFileError(f"invalid YAML: {exc}") from None
    except RecursionError:  # a last resort; MAX_DEPTH keeps the loader well below the limit
        raise YAMLFileError(f"nesting deeper than {MAX_DEPTH} levels") from None
    finally:
        if loader is not None:
            loader.dispose()


def _line_column(text: str, position: int) -> tuple[int, int]:
    before = text[:position]
    return before.count("\n") + 1, position - (before.rfind("\n") + 1) + 1


def decode(data: bytes) -> str:
    """UTF-8 text from a file's bytes, or an error saying what the bytes are instead."""
    for bom, name in ((codecs.BOM_UTF32_LE, "UTF-32"), (codecs.BOM_UTF32_BE, "UTF-32"),
                      (codecs.BOM_UTF16_LE, "UTF-16"), (codecs.BOM_UTF16_BE, "UTF-16")):
        if data.startswith(bom):
            raise YAMLFileError(f"the file is {name} encoded; save it as UTF-8")
    if b"\x00" in data:
        line = data[:data.index(b"\x00")].count(b"\n") + 1
        raise YAMLFileError(f"line {line}: NUL byte: a binary file or UTF-16/UTF-32 text, not UTF-8 YAML")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        before = data[:exc.start]
        line, column = before.count(b"\n") + 1, exc.start - (before.rfind(b"\n") + 1) + 1
        raise YAMLFileError(f"line {line}, column {column}: byte 0x{data[exc.start]:02x} is not UTF-8; "
                            "save the file as UTF-8") from None


def read_text(path: str | Path, max_bytes: int = MAX_FILE_BYTES) -> str:
    """A file's text, bounded and strictly UTF-8. OSError passes through (callers word it)."""
    with open(path, "rb") as fh:
        data = fh.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise YAMLFileError(f"the file is larger than {max_bytes // 1024} KiB")
    return decode(data)


def loads(text: str) -> Any:
    """The single document in ``text`` (None when empty); YAMLFileError on anything unacceptable."""
    documents = _load_documents(text)
    if len(documents) > 1:
        raise YAMLFileError(f"expected one YAML document, got {len(documents)}")
    return documents[0] if documents else None


def loads_all(text: str) -> list[Any]:
    """Every document in ``text``, with the size bound applying to all of them together."""
    return _load_documents(text)


def load_file(path: str | Path) -> Any:
    return loads(read_text(path))
