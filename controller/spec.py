"""A GlovRun's spec, checked and turned into what a submission needs.

Every problem is a SpecError naming the spec field (`spec.overrides[1]`,
`spec.parameters.shots`), which the controller puts into the Accepted
condition: the resource author sees the field in `kubectl describe`.
"""

from __future__ import annotations

import copy
import os
from dataclasses import dataclass
from typing import Any

from components.run_parameters import PARAMETERS_BY_NAME, STORE_URI_ENV
from glov.config import GlovConfig, apply_override, load_config, profile_names, validate_config
from glov.errors import GlovError
from glov.runs.rundir import RUN_ID_PATTERN
from pipelines.plan import PipelinePlan, plan_pipeline

# The API of the resource (manifests/base/operator/crd.yaml).
GROUP = "glov.dev"
VERSION = "v1alpha1"
PLURAL = "glovruns"
KIND = "GlovRun"
# Set (to any new value) on a failed or canceled GlovRun to start it again.
RESUME_ANNOTATION = f"{GROUP}/resume"
# Parameters the controller sets itself: the run directory must be the one it reads.
CONTROLLER_PARAMETERS = ("run_id", "store_uri")
# The stores the controller reads progress from (glov.store.open_store); the
# CRD's CEL rule on spec.storeUri admits the same.
STORE_SCHEMES = ("file://", "s3://")
# spec.kueue field -> the config key it sets (pipeline.kueue, compiled into pod labels).
KUEUE_FIELDS = {
    "queueName": "queue_name",
    "priorityClass": "priority_class",
    "allPods": "all_pods",
}


class SpecError(GlovError):
    """A GlovRun spec the controller cannot run; `field` is its path in the resource."""

    def __init__(self, field: str, problem: str, fix: str | None = None):
        self.field = field
        super().__init__(f"{field}: {problem}", fix)


@dataclass(frozen=True)
class RunSpec:
    cfg: GlovConfig
    # The pipeline's shape (pipelines/plan.py), planned once when the spec is read.
    plan: PipelinePlan
    endpoint: str
    experiment: str
    kubeflow_namespace: str | None
    # Run directory root and name: what the pipeline writes, what the controller reads.
    store_uri: str
    run_id: str
    parameters: dict[str, Any]

    def arguments(self) -> dict[str, Any]:
        """The run parameters sent to Kubeflow (the controller's two included)."""
        return {**self.parameters, "run_id": self.run_id, "store_uri": self.store_uri}


def default_run_id(name: str, uid: str) -> str:
    """`<name>-<uid[:8]>`: deterministic for one resource, new for a re-created one."""
    return f"{name}-{uid.replace('-', '')[:8]}"[:128]


def _problem(exc: GlovError) -> tuple[str, str | None]:
    return exc.problem, exc.fix


def _kueue(spec: dict[str, Any], data: dict[str, Any]) -> None:
    """spec.kueue over the config's pipeline.kueue (the spec wins, field by field);
    validated with the whole config."""
    kueue = spec.get("kueue")
    if kueue is None:
        return
    if not isinstance(kueue, dict):
        raise SpecError("spec.kueue", "must be an object: queueName, priorityClass, allPods")
    section = data.setdefault("pipeline", {}).setdefault("kueue", {})
    for field, value in kueue.items():
        if field not in KUEUE_FIELDS:
            raise SpecError(
                f"spec.kueue.{field}", "is not a Kueue setting", f"use {', '.join(KUEUE_FIELDS)}"
            )
        section[KUEUE_FIELDS[field]] = value


def _config(spec: dict[str, Any]) -> GlovConfig:
    profile, whole = spec.get("profile"), spec.get("config")
    if profile and whole:
        raise SpecError("spec.config", "give a profile or a whole config, not both")
    if whole is not None:
        if not isinstance(whole, dict):
            raise SpecError("spec.config", "must be an object (a config as in a YAML file)")
        data, field = copy.deepcopy(whole), "spec.config"
        try:
            validate_config(data)
        except GlovError as exc:
            raise SpecError(field, *_problem(exc)) from None
    else:
        profile = profile or "smoke"
        # Only packaged profiles: a path would read the controller's own files.
        if profile not in profile_names():
            raise SpecError(
                "spec.profile",
                f"there is no profile named {profile!r}",
                f"use one of {', '.join(profile_names())}, or give spec.config",
            )
        data = load_config(profile).model_dump(mode="json")
    overrides = spec.get("overrides") or []
    for i, assignment in enumerate(overrides):
        try:
            apply_override(data, str(assignment))
        except GlovError as exc:
            raise SpecError(f"spec.overrides[{i}]", *_problem(exc)) from None
    _kueue(spec, data)
    try:
        return validate_config(data)
    except GlovError as exc:
        raise SpecError(_field_of(exc, spec), *_problem(exc)) from None


def _field_of(exc: GlovError, spec: dict[str, Any]) -> str:
    """The spec field that set what `exc` names: the override that set the key (the
    last one wins), spec.kueue for pipeline.kueue, else the overrides or the config."""
    overrides = spec.get("overrides") or []
    field = "spec.overrides" if overrides else "spec.config"
    for i, assignment in enumerate(overrides):
        key = str(assignment).partition("=")[0].strip()
        if f"'{key}'" in exc.problem or f"{key}=" in exc.problem:
            field = f"spec.overrides[{i}]"
    if spec.get("kueue") and "pipeline.kueue" in exc.problem:
        field = "spec.kueue"
    return field


def _plan(cfg: GlovConfig, spec: dict[str, Any]) -> PipelinePlan:
    """The pipeline's shape; a config the pipeline cannot run is a spec error."""
    try:
        return plan_pipeline(cfg)
    except GlovError as exc:
        raise SpecError(_field_of(exc, spec), *_problem(exc)) from None


_TYPES = {
    int: lambda v: isinstance(v, int) and not isinstance(v, bool),
    float: lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    str: lambda v: isinstance(v, str),
    list: lambda v: isinstance(v, list),
}


def _parameters(raw: Any) -> dict[str, Any]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise SpecError("spec.parameters", "must be an object of run parameters")
    out = {}
    for name, value in raw.items():
        field = f"spec.parameters.{name}"
        if name in CONTROLLER_PARAMETERS:
            raise SpecError(field, "is set by the controller", "use spec.runId / spec.storeUri")
        param = PARAMETERS_BY_NAME.get(name)
        if param is None:
            names = [n for n in PARAMETERS_BY_NAME if n not in CONTROLLER_PARAMETERS]
            raise SpecError(field, "is not a run parameter", f"use one of: {', '.join(names)}")
        if not _TYPES[param.type](value):
            raise SpecError(field, f"must be of type {param.type.__name__} (got {value!r})")
        out[name] = float(value) if param.type is float else value
    return out


def parse_spec(spec: dict[str, Any], *, name: str, uid: str) -> RunSpec:
    """The submission a GlovRun asks for; SpecError names the first bad field."""
    cfg = _config(spec)
    plan = _plan(cfg, spec)
    kubeflow = spec.get("kubeflow") or {}
    endpoint = str(kubeflow.get("endpoint") or "")
    if not endpoint.startswith(("http://", "https://")):
        raise SpecError(
            "spec.kubeflow.endpoint",
            f"{endpoint!r} is not an http(s) URL",
            "e.g. http://ml-pipeline.kubeflow:8888",
        )
    run_id = spec.get("runId") or default_run_id(name, uid)
    if not RUN_ID_PATTERN.match(run_id):
        raise SpecError(
            "spec.runId", f"{run_id!r} is not a valid run directory name", "letters, digits, ._-"
        )
    # The controller's GLOV_STORE_URI comes from the same glov-defaults ConfigMap
    # as the pipeline pods', so both see the same store.
    store_uri = spec.get("storeUri") or os.environ.get(STORE_URI_ENV) or cfg.store.uri
    if not store_uri.startswith(STORE_SCHEMES):
        raise SpecError(
            "spec.storeUri",
            f"{store_uri!r} is not a file:// or s3:// URI",
            "e.g. s3://mlpipeline/glov",
        )
    return RunSpec(
        cfg=cfg,
        plan=plan,
        endpoint=endpoint.rstrip("/"),
        experiment=kubeflow.get("experiment") or cfg.pipeline.experiment,
        kubeflow_namespace=kubeflow.get("namespace") or None,
        store_uri=store_uri,
        run_id=run_id,
        parameters=_parameters(spec.get("parameters")),
    )
