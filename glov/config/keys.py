"""Dotted config keys (`llm.temperature`) over nested dicts: the one place they are walked.

Overrides (`--set`), run parameters and the resume check all address config
values by dotted key; they share these helpers so a key means the same thing
everywhere.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from glov.errors import ConfigError


def get_key(data: dict[str, Any], key: str) -> Any:
    """The value at `key`; KeyError if a part is missing."""
    node: Any = data
    for part in key.split("."):
        node = node[part]
    return node


def set_key(data: dict[str, Any], key: str, value: Any) -> None:
    """Set `key` to `value`, creating missing sections on the way."""
    parts = key.split(".")
    node = data
    for part in parts[:-1]:
        node = node.setdefault(part, {})
        if not isinstance(node, dict):
            raise ConfigError(f"cannot set {key!r}: {part!r} is not a section", "check the key")
    node[parts[-1]] = value


def flatten(data: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """`{"a": {"b": 1}}` -> `{"a.b": 1}` (leaves only)."""
    out: dict[str, Any] = {}
    for k, v in data.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(flatten(v, key + "."))
        else:
            out[key] = v
    return out


def known_keys(model: type[BaseModel], prefix: str = "") -> list[str]:
    """Every dotted key of a config model, sections included."""
    keys = []
    for name, field in model.model_fields.items():
        keys.append(prefix + name)
        ann = field.annotation
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            keys.extend(known_keys(ann, prefix + name + "."))
    return keys
