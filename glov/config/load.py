"""Loading the configuration: a profile name or YAML file, then `key=value` overrides.

`load_config("smoke", ["llm.temperature=0.7"])` reads `glov/config/profiles/smoke.yaml`
(or a YAML file path), applies dotted overrides whose values are parsed as YAML
scalars, and validates everything. Unknown keys and wrong types raise a
ConfigError naming the key and the fix, never a pydantic traceback.
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from glov.config.keys import known_keys, set_key
from glov.config.schema import GlovConfig
from glov.errors import ConfigError
from glov.file_syntax import decode_utf8, parse_yaml

PROFILES_DIR = Path(__file__).parent / "profiles"
YAML_FIX = (
    "correct the YAML at that place: indent with spaces (not tabs), write `key: value` with a "
    "space after the colon, close every quote and bracket, and give each key once"
)
SAVE_AS_UTF8 = "save the file as UTF-8 text"


def profile_names() -> list[str]:
    return sorted(p.stem for p in PROFILES_DIR.glob("*.yaml"))


def _read_yaml(source: str) -> tuple[str, dict[str, Any]]:
    path = Path(source)
    if source in profile_names():
        path, name = PROFILES_DIR / f"{source}.yaml", source
    elif path.suffix in (".yaml", ".yml") and path.is_file():
        name = path.stem
    else:
        raise ConfigError(
            f"no profile or YAML file named {source!r}",
            f"use one of {', '.join(profile_names())} or a path to a .yaml file",
        )
    text = decode_utf8(path.read_bytes(), str(path), SAVE_AS_UTF8, ConfigError)
    data = parse_yaml(text, str(path), YAML_FIX, ConfigError) or {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path} must hold a mapping at the top level", "write key: value pairs")
    data.setdefault("profile", name)
    return name, data


def _unknown_key(key: str) -> ConfigError:
    close = difflib.get_close_matches(key, known_keys(GlovConfig), n=1)
    hint = f"did you mean {close[0]!r}?" if close else "see `glov run --help` and the profiles"
    return ConfigError(f"config key {key!r} does not exist", hint)


def apply_override(data: dict[str, Any], assignment: str) -> None:
    """Apply one `a.b.c=value` assignment to a nested dict (value parsed as YAML)."""
    key, sep, raw = assignment.partition("=")
    key = key.strip()
    if not sep or not key:
        raise ConfigError(
            f"override {assignment!r} is not of the form key=value",
            "e.g. --set llm.temperature=0.7",
        )
    if key not in known_keys(GlovConfig):
        raise _unknown_key(key)
    try:
        value = yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError:
        value = raw
    set_key(data, key, value)


def validate_config(data: dict[str, Any]) -> GlovConfig:
    try:
        return GlovConfig.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        key = ".".join(str(p) for p in err["loc"])
        if err["type"] == "extra_forbidden":
            raise _unknown_key(key) from None
        raise ConfigError(
            f"config value for {key!r} is invalid: {err['msg']} (got {err.get('input')!r})",
            _fix_for(key, err),
        ) from None


# pydantic's bound errors -> the comparison a fix states ("set x to a value <= 4096").
_BOUNDS = {
    "less_than_equal": "<=",
    "less_than": "<",
    "greater_than_equal": ">=",
    "greater_than": ">",
}


def _fix_for(key: str, err: dict[str, Any]) -> str:
    ctx = err.get("ctx") or {}
    if err["type"] in _BOUNDS:
        limit = next(iter(ctx.values()), "the limit")
        return f"set {key} to a value {_BOUNDS[err['type']]} {limit}"
    if err["type"] == "too_short":
        return f"give {key} at least {ctx.get('min_length', 1)} element(s)"
    if err["type"] == "value_error":
        return f"change {key} as the message says"
    return f"give {key} a value of the right type"


def load_config(source: str = "smoke", overrides: list[str] | None = None) -> GlovConfig:
    """Load a profile name or YAML path, then apply `key=value` overrides."""
    _, data = _read_yaml(source)
    for assignment in overrides or []:
        apply_override(data, assignment)
    return validate_config(data)


def config_to_yaml(cfg: GlovConfig) -> str:
    """The config as YAML, in field order (what config.yaml of a run holds)."""
    return yaml.safe_dump(cfg.model_dump(mode="json"), sort_keys=False)
