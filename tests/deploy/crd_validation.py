"""Validate an object as a Kubernetes API server validates a custom resource on create.

Two parts of a CRD's structural schema apply:
- the OpenAPI schema itself (types, enums, patterns, required), here with
  jsonschema; fields the schema does not declare are refused, as kubectl's
  strict field validation refuses them (a server would silently prune them);
- the `x-kubernetes-validations` CEL rules, evaluated with cel-python at each
  node of the object that is present. Transition rules (those reading
  `oldSelf`) only run on updates, so a create skips them, as the server does.

Returns the problems as readable strings; an empty list means the object passes.
"""

from __future__ import annotations

import copy
from typing import Any

import celpy
import jsonschema

_CEL = celpy.Environment()


def _strict(schema: Any) -> Any:
    """`schema` with undeclared fields refused wherever it lists its fields."""
    if isinstance(schema, list):
        return [_strict(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: _strict(v) for k, v in schema.items()}
    if (
        "properties" in out
        and "additionalProperties" not in out
        and not out.get("x-kubernetes-preserve-unknown-fields")
    ):
        out["additionalProperties"] = False
    return out


def _rules(schema: dict, value: Any, path: str) -> list[str]:
    problems = []
    for rule in schema.get("x-kubernetes-validations", []):
        if "oldSelf" in rule["rule"]:
            continue
        program = _CEL.program(_CEL.compile(rule["rule"]))
        result = program.evaluate({"self": celpy.json_to_cel(value)})
        if result is not True and not (isinstance(result, celpy.celtypes.BoolType) and result):
            problems.append(f"{path}: {rule.get('message') or rule['rule']}")
    if isinstance(value, dict):
        props = schema.get("properties") or {}
        extra = schema.get("additionalProperties")
        for key, item in value.items():
            sub = props.get(key, extra if isinstance(extra, dict) else None)
            if sub is not None:
                problems += _rules(sub, item, f"{path}.{key}")
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for i, item in enumerate(value):
            problems += _rules(schema["items"], item, f"{path}[{i}]")
    return problems


def crd_problems(obj: dict, schema: dict) -> list[str]:
    """What an API server would refuse in `obj` on create, for the openAPIV3Schema `schema`."""
    checked = copy.deepcopy(obj)
    checked.pop("status", None)  # written through the status subresource, not on create
    validator = jsonschema.Draft7Validator(_strict(schema))
    problems = [
        f"{'.'.join(str(p) for p in e.absolute_path) or '<root>'}: {e.message}"
        for e in validator.iter_errors(checked)
    ]
    if problems:
        return problems  # rules assume a value of the declared shape
    body = {k: v for k, v in checked.items() if k != "metadata"}
    return _rules(schema, body, "")
