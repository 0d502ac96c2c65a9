"""Parsing the YAML and JSON files the project reads, with a syntax error as one line.

Every syntax error names its place as `<file>:<line>:<column>: <what>` (1-based,
as editors count), whatever the parser's own text looked like: PyYAML's is
several lines with a `<unicode string>` source and a caret under a snippet.
The caller gives the fix and the error class, since what to do depends on whose
file it is (a config the user wrote, a run record, a dataset manifest).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from glov.errors import GlovError


def position(source: str, line: int, column: int | None = None) -> str:
    """`file:line:column` (or `file:line` when the column is unknown), 1-based."""
    return f"{source}:{line}:{column}" if column else f"{source}:{line}"


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def decode_utf8(data: bytes, source: str, fix: str, error: type[GlovError] = GlovError) -> str:
    """`data` as text; bytes that are not UTF-8 are named by line and column."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        what = f"byte 0x{data[exc.start]:02x} is not UTF-8 text"
        raise error(f"{position(source, line, column)}: {what}", fix) from None


def text_position(text: str, index: int) -> tuple[int, int]:
    """(line, column), 1-based, of the character at `index`."""
    line = text.count("\n", 0, index) + 1
    return line, index - (text.rfind("\n", 0, index) + 1) + 1


def yaml_syntax(exc: yaml.YAMLError, text: str, source: str) -> str:
    """A PyYAML error as `file:line:column: what (context)`, on one line."""
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        what = exc.problem or exc.context or "invalid YAML"
        context = exc.context if exc.problem else None
        if context and exc.context_mark is not None and exc.context_mark is not mark:
            cm = exc.context_mark
            context += f" that starts at line {cm.line + 1}, column {cm.column + 1}"
        where = position(source, mark.line + 1, mark.column + 1) if mark else source
        tail = f" ({_one_line(context)})" if context else ""
        return f"{where}: invalid YAML: {_one_line(what)}{tail}"
    if isinstance(exc, yaml.reader.ReaderError):  # a character YAML does not allow
        line, column = text_position(text, exc.position)
        what = f"character {chr(exc.character)!r} is not allowed in YAML"
        return f"{position(source, line, column)}: invalid YAML: {what}"
    return f"{source}: invalid YAML: {_one_line(str(exc))}"


class _UniqueKeyLoader(yaml.SafeLoader):
    """safe_load that refuses a key given twice in one mapping (PyYAML keeps the last
    silently, so a setting written twice would quietly lose one of its values)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if isinstance(key, str | int | float | bool) and key in seen:
                raise yaml.constructor.ConstructorError(
                    problem=f"the key {key!r} is given twice in one mapping",
                    problem_mark=key_node.start_mark,
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def parse_yaml(text: str, source: str, fix: str, error: type[GlovError] = GlovError) -> Any:
    """yaml.safe_load(text), a syntax error raised as `error` naming `source:line:column`."""
    try:
        return yaml.load(text, Loader=_UniqueKeyLoader)
    except yaml.YAMLError as exc:
        raise error(yaml_syntax(exc, text, source), fix) from None


def json_syntax(exc: json.JSONDecodeError, source: str) -> str:
    what = "the file is empty" if not exc.doc.strip() else exc.msg
    return f"{position(source, exc.lineno, exc.colno)}: invalid JSON: {what}"


def parse_json(text: str, source: str, fix: str, error: type[GlovError] = GlovError) -> Any:
    """json.loads(text), a syntax error raised as `error` naming `source:line:column`."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise error(json_syntax(exc, source), fix) from None


def read_json_file(path: Path, fix: str, error: type[GlovError] = GlovError) -> Any:
    """The JSON file at `path`; bytes that are not UTF-8 or bad syntax raised as `error`
    naming `path:line:column`."""
    text = decode_utf8(path.read_bytes(), str(path), fix, error)
    return parse_json(text, str(path), fix, error)
