"""The library side of the Kubeflow pipeline: run parameters and the stage tasks.

Plain Python, no kfp import. The components in components/ are thin wrappers:
each calls one `*_task` function below inside its pod, with the local paths
of its input and output artifacts. The functions call the same stages as the
in-process loop (glov.stages, glov.search) and keep the run directory the
single source of truth, which makes every task idempotent: a step whose
record is already in the run directory (a retried task, a re-run pipeline) is
reused, never recomputed, so a failed run resumes where it stopped.

Run parameters (what the Kubeflow UI shows; each sets one config key, the
default is the compiled profile's value):

    run_id          run directory name; ""  -> <run.name>-<first 8 chars of the KFP run id>
    store_uri       store.uri               file://PATH or s3://BUCKET/PREFIX; "" -> $GLOV_STORE_URI
                                            in the pod (glov-defaults ConfigMap), else the profile's
    dataset_uri     data.uri                directory, .csv manifest, pkg://NAME or s3://
    shots           data.shots
    max_classes     data.max_classes        0 -> null (all classes)
    test_per_class  data.test_per_class     0 -> null (every image not used for fitness)
    data_seed       data.seed
    vlm_model       vlm.model
    vlm_pretrained  vlm.pretrained          "" -> null (random init)
    llm_model       llm.model
    temperature     llm.temperature
    max_new_tokens  llm.max_new_tokens
    method          search.method
    compare_with    search.compare_with     list
    candidates      search.candidates
    seed            search.seed
    alphas          guidance.alphas         list; one arm per alpha for method glov
    layer           guidance.layer          a whole number is a layer index, else a depth fraction
    negative        guidance.negative
    cache_dir       run.cache_dir           "" -> $GLOV_CACHE_DIR in the pod, else the profile's
    overrides       any key                 list of "key=value", applied last

search.steps and pipeline.* are structural (the DAG is unrolled from them at
compile time); change them with `glov compile --set`, not at run time.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Any

import yaml

from glov.config import GlovConfig, apply_override, validate_config
from glov.errors import ConfigError

CACHE_DIR_ENV = "GLOV_CACHE_DIR"
STORE_URI_ENV = "GLOV_STORE_URI"
# The `pipeline` label of the Prometheus series pushed by the pipeline's pods.
PIPELINE_LABEL = "kfp"
RUN_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
_NONE = object()


@dataclass(frozen=True)
class RunParameter:
    name: str
    key: str
    type: type
    help: str
    # The parameter value that stands for null in the config (KFP has no null).
    none_as: Any = _NONE
    # If set, the parameter defaults to "": the pod's value of this environment
    # variable (set by the image or the glov-defaults ConfigMap), else the profile's.
    env: str | None = None

    def encode(self, value: Any) -> Any:
        """Config value -> pipeline parameter value."""
        if value is None:
            if self.none_as is _NONE:
                raise ConfigError(f"{self.key} is null but {self.name} has no null value", "")
            return self.none_as
        if self.type is float:
            return float(value)
        if self.type is list:
            return list(value)
        return value

    def decode(self, value: Any) -> Any:
        """Pipeline parameter value -> config value."""
        if self.none_as is not _NONE and value == self.none_as:
            return None
        if self.key == "guidance.layer":
            number = float(value)
            return int(number) if number.is_integer() else number
        return value


RUN_PARAMETERS: tuple[RunParameter, ...] = (
    RunParameter(
        "store_uri",
        "store.uri",
        str,
        "where runs live, file://PATH or s3://BUCKET/PREFIX; '': $GLOV_STORE_URI or profile",
        env=STORE_URI_ENV,
    ),
    RunParameter("dataset_uri", "data.uri", str, "ImageFolder dir, .csv manifest, pkg:// or s3://"),
    RunParameter("shots", "data.shots", int, "labelled images per class in the fitness split"),
    RunParameter("max_classes", "data.max_classes", int, "use the first N classes; 0: all", 0),
    RunParameter(
        "test_per_class", "data.test_per_class", int, "test images per class; 0: all the rest", 0
    ),
    RunParameter("data_seed", "data.seed", int, "seed of the fitness/test split"),
    RunParameter("vlm_model", "vlm.model", str, "open_clip model name of the scored VLM"),
    RunParameter(
        "vlm_pretrained", "vlm.pretrained", str, "open_clip weights tag or file; '': random", ""
    ),
    RunParameter("llm_model", "llm.model", str, "optimizer LLM: HF id, directory, .gguf, pkg://"),
    RunParameter("temperature", "llm.temperature", float, "LLM sampling temperature"),
    RunParameter("max_new_tokens", "llm.max_new_tokens", int, "LLM tokens per candidate"),
    RunParameter("method", "search.method", str, "glov | glov-noguide | llm-opt"),
    RunParameter("compare_with", "search.compare_with", list, "further methods run beside it"),
    RunParameter("candidates", "search.candidates", int, "LLM samples per step (K)"),
    RunParameter("seed", "search.seed", int, "sampling seed (shared by all arms)"),
    RunParameter("alphas", "guidance.alphas", list, "steering strengths; one arm each (glov)"),
    RunParameter("layer", "guidance.layer", float, "steered layer: index (17) or depth (0.55)"),
    RunParameter("negative", "guidance.negative", str, "p- of guidance: second-best | worst"),
    RunParameter(
        "cache_dir",
        "run.cache_dir",
        str,
        "model/feature cache; '': $GLOV_CACHE_DIR or profile",
        env=CACHE_DIR_ENV,
    ),
)
PARAMETERS_BY_NAME = {p.name: p for p in RUN_PARAMETERS}
# Parameters that are not a config key.
EXTRA_PARAMETERS = ("run_id", "overrides")


def _get(data: dict, key: str) -> Any:
    node: Any = data
    for part in key.split("."):
        node = node[part]
    return node


def _set(data: dict, key: str, value: Any) -> None:
    parts = key.split(".")
    node = data
    for part in parts[:-1]:
        node = node.setdefault(part, {})
    node[parts[-1]] = value


def parameter_defaults(cfg: GlovConfig) -> dict[str, Any]:
    """The run parameters' defaults: the config's values, encoded for KFP."""
    dumped = cfg.model_dump(mode="json")
    out = {p.name: "" if p.env else p.encode(_get(dumped, p.key)) for p in RUN_PARAMETERS}
    out["run_id"] = ""
    out["overrides"] = []
    return out


def parse_parameter(name: str, raw: str) -> Any:
    """A run parameter from the command line (`--param shots=2`), typed by its definition."""
    if name in ("run_id",):
        return raw
    if name == "overrides":
        return [s for s in raw.split(",") if s]
    spec = PARAMETERS_BY_NAME.get(name)
    if spec is None:
        known = ", ".join([p.name for p in RUN_PARAMETERS] + list(EXTRA_PARAMETERS))
        raise ConfigError(f"there is no run parameter named {name!r}", f"use one of: {known}")
    if spec.type is str:
        return raw
    try:
        value = yaml.safe_load(raw)
    except yaml.YAMLError:
        value = None
    ok = {
        int: lambda v: isinstance(v, int) and not isinstance(v, bool),
        float: lambda v: isinstance(v, int | float) and not isinstance(v, bool),
        list: lambda v: isinstance(v, list),
    }[spec.type]
    if not ok(value):
        raise ConfigError(
            f"run parameter {name}={raw!r} is not a {spec.type.__name__}",
            "e.g. alphas=[1.0,0.5], shots=2, temperature=0.7",
        )
    return float(value) if spec.type is float else value


def resolve_config(
    base_yaml: str,
    params: dict[str, Any],
    overrides: list[str] | None = None,
    env: dict[str, str] | None = None,
) -> GlovConfig:
    """Base config (the compiled profile) + run parameters + `key=value` overrides."""
    env = dict(os.environ) if env is None else env
    data = yaml.safe_load(base_yaml) or {}
    for name, value in params.items():
        spec = PARAMETERS_BY_NAME.get(name)
        if spec is None:
            raise ConfigError(f"there is no run parameter named {name!r}", "check the name")
        if spec.env and value == "":  # the pod's setting, else the profile's
            if env.get(spec.env):
                _set(data, spec.key, env[spec.env])
            continue
        _set(data, spec.key, spec.decode(value))
    for assignment in overrides or []:
        apply_override(data, assignment)
    return validate_config(data)


def check_structure(cfg: GlovConfig, compiled_steps: int) -> None:
    """The DAG was unrolled for `compiled_steps`; the run must ask for the same."""
    if cfg.search.steps != compiled_steps:
        raise ConfigError(
            f"this pipeline was compiled for search.steps={compiled_steps}, but the run "
            f"parameters give {cfg.search.steps}",
            f"recompile: glov compile --config PROFILE --set search.steps={cfg.search.steps}",
        )


def resolve_run_id(run_id: str, cfg: GlovConfig, job_id: str) -> str:
    if not run_id:
        token = re.sub(r"[^A-Za-z0-9]", "", job_id)[:8] or "local"
        run_id = f"{cfg.run.name}-{token}"
    if not RUN_ID_PATTERN.match(run_id):
        raise ConfigError(
            f"run_id {run_id!r} is not a valid run directory name",
            "use letters, digits, '.', '_' and '-' (at most 128 characters)",
        )
    return run_id


# -- artifacts ------------------------------------------------------------------------
