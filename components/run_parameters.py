"""The run parameters of the GLOV pipeline: one table, everything else derived from it.

What the Kubeflow UI shows when a run is started. Each parameter but `run_id`
and `overrides` sets one config key; its default is the compiled profile's
value. The pipeline's signature, the arguments `data_prep` passes on, the CLI's
`--param` parsing and help, and the pipeline docstring all come from
RUN_PARAMETERS. `data_prep`'s signature is written out (kfp ships the
function's source to the pod); tests/pipelines/test_params.py fails when it
disagrees with the table.

To add a run parameter: add a RunParameter row below and the same name and type
to `components/data_prep.py`'s signature. Nothing else.

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
from glov.config.keys import get_key, set_key
from glov.errors import ConfigError
from glov.runs.rundir import check_run_id, default_run_id

CACHE_DIR_ENV = "GLOV_CACHE_DIR"
STORE_URI_ENV = "GLOV_STORE_URI"
# vlm.pretrained: null (random init) as a run parameter. A word, not "": an empty
# field in the UI must not silently mean "no pretrained weights".
RANDOM_WEIGHTS = "random"
# data.max_classes / data.test_per_class: null (no limit) as a run parameter.
ALL = "all"
# data.dataset: null (a plain ImageFolder or CSV manifest, no catalogue layout) as a run parameter.
NO_CATALOGUE = "none"


def _not_a(name: str, value: Any, what: str, example: str) -> ConfigError:
    return ConfigError(f"run parameter {name}={value!r} is not {what}", f"e.g. {example}")


def _count_or_all(name: str, value: Any) -> int | None:
    """`all` -> null, "10" or 10 -> 10 (the config checks the range)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    text = str(value).strip()
    if text.lower() == ALL:
        return None
    if re.fullmatch(r"[+-]?\d+", text):
        return int(text)
    raise _not_a(name, value, f"'{ALL}' or a whole number", f"{name}={ALL} or {name}=10")


def _layer(name: str, value: Any) -> int | float:
    """Layer "17" -> index 17, "0.55" -> depth fraction 0.55, as written."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value
    text = str(value).strip()
    if re.fullmatch(r"[+-]?\d+", text):
        return int(text)
    try:
        return float(text)
    except ValueError:
        raise _not_a(name, value, "a layer index or depth", f"{name}=17 or {name}=0.55") from None


@dataclass(frozen=True)
class RunParameter:
    name: str
    # The config key it sets; None for run_id and overrides, which set none.
    key: str | None
    # The KFP type the UI shows. A config value that can be null, or an int or a
    # float, travels as a string with a readable word or number (KFP has no null
    # and no union types); `kind` says how to read it back.
    type: type
    help: str
    kind: str = "plain"  # plain | pretrained | count | layer | catalogue
    # If set, the parameter defaults to "": the pod's value of this environment
    # variable (set by the image or the glov-defaults ConfigMap), else the profile's.
    env: str | None = None

    @property
    def description(self) -> str:
        """What the Kubeflow UI shows beside the parameter."""
        return f"{self.help} ({self.key})." if self.key else f"{self.help}."

    def encode(self, value: Any) -> Any:
        """Config value -> pipeline parameter value."""
        if self.kind == "pretrained":
            return RANDOM_WEIGHTS if value is None else value
        if self.kind == "count":
            return ALL if value is None else str(value)
        if self.kind == "layer":
            return str(value)
        if self.kind == "catalogue":
            return NO_CATALOGUE if value is None else value
        if value is None:
            raise ConfigError(f"{self.key} is null but {self.name} has no null value", "")
        if self.type is float:
            return float(value)
        if self.type is list:
            return list(value)
        return value

    def decode(self, value: Any) -> Any:
        """Pipeline parameter value -> config value (ConfigError if it is not one)."""
        if self.kind == "pretrained":
            if not str(value).strip():
                raise ConfigError(
                    f"run parameter {self.name} is empty",
                    f"give an open_clip weights tag or file, or '{RANDOM_WEIGHTS}' for random init",
                )
            return None if value == RANDOM_WEIGHTS else value
        if self.kind == "count":
            return _count_or_all(self.name, value)
        if self.kind == "layer":
            return _layer(self.name, value)
        if self.kind == "catalogue":
            text = str(value).strip()
            return None if text in ("", NO_CATALOGUE) else text
        return value


RUN_PARAMETERS: tuple[RunParameter, ...] = (
    RunParameter("run_id", None, str, "run directory name; empty: <run.name>-<KFP run id>"),
    RunParameter(
        "store_uri",
        "store.uri",
        str,
        "where runs live, file://PATH or s3://BUCKET/PREFIX; empty: $GLOV_STORE_URI or profile",
        env=STORE_URI_ENV,
    ),
    RunParameter("dataset_uri", "data.uri", str, "ImageFolder dir, .csv manifest, pkg:// or s3://"),
    RunParameter(
        "dataset",
        "data.dataset",
        str,
        f"a catalogue dataset read in its published layout (imagenet, dtd, eurosat...); "
        f"'{NO_CATALOGUE}': a plain ImageFolder or CSV manifest",
        kind="catalogue",
    ),
    RunParameter("shots", "data.shots", int, "labelled images per class in the fitness split"),
    RunParameter(
        "max_classes",
        "data.max_classes",
        str,
        f"use the first N classes: a number, or '{ALL}' for every class",
        kind="count",
    ),
    RunParameter(
        "test_per_class",
        "data.test_per_class",
        str,
        f"test images per class: a number, or '{ALL}' for all the rest",
        kind="count",
    ),
    RunParameter("data_seed", "data.seed", int, "seed of the fitness/test split"),
    RunParameter("vlm_model", "vlm.model", str, "open_clip model name of the scored VLM"),
    RunParameter(
        "vlm_pretrained",
        "vlm.pretrained",
        str,
        f"open_clip weights tag (openai), checkpoint file or build://NAME (trained here); "
        f"'{RANDOM_WEIGHTS}': random init",
        kind="pretrained",
    ),
    RunParameter("llm_model", "llm.model", str, "optimizer LLM: HF id, directory, .gguf, pkg://"),
    RunParameter("temperature", "llm.temperature", float, "LLM sampling temperature"),
    RunParameter("max_new_tokens", "llm.max_new_tokens", int, "LLM tokens per candidate"),
    RunParameter("method", "search.method", str, "glov | glov-noguide | llm-opt"),
    RunParameter("compare_with", "search.compare_with", list, "further methods run beside it"),
    RunParameter("candidates", "search.candidates", int, "LLM samples per step (K)"),
    RunParameter("seed", "search.seed", int, "sampling seed (shared by all arms)"),
    RunParameter("alphas", "guidance.alphas", list, "steering strengths; one arm each (glov)"),
    RunParameter(
        "layer",
        "guidance.layer",
        str,
        "steered LLM layer: an index (17) or a depth fraction in (0, 1) (0.55)",
        kind="layer",
    ),
    RunParameter("negative", "guidance.negative", str, "p- of guidance: second-best | worst"),
    RunParameter(
        "cache_dir",
        "run.cache_dir",
        str,
        "model/feature cache; empty: $GLOV_CACHE_DIR or profile",
        env=CACHE_DIR_ENV,
    ),
    RunParameter("overrides", None, list, "further config overrides, a list of 'key=value'"),
)
PARAMETERS_BY_NAME = {p.name: p for p in RUN_PARAMETERS}
PARAMETER_NAMES = tuple(PARAMETERS_BY_NAME)


def unknown_parameter(name: str) -> ConfigError:
    return ConfigError(
        f"there is no run parameter named {name!r}", f"use one of: {', '.join(PARAMETER_NAMES)}"
    )


def parameter_defaults(cfg: GlovConfig) -> dict[str, Any]:
    """The run parameters' defaults: the config's values, encoded for KFP."""
    dumped = cfg.model_dump(mode="json")
    out: dict[str, Any] = {}
    for p in RUN_PARAMETERS:
        if p.key is None:
            out[p.name] = p.type()  # "" (run_id) or [] (overrides)
        else:
            out[p.name] = "" if p.env else p.encode(get_key(dumped, p.key))
    return out


def parse_parameter(name: str, raw: str) -> Any:
    """A run parameter from the command line (`--param shots=2`), typed by its definition."""
    spec = PARAMETERS_BY_NAME.get(name)
    if spec is None:
        raise unknown_parameter(name)
    if spec.name == "overrides":
        return [s for s in raw.split(",") if s]
    if spec.type is str:
        spec.decode(raw)  # refuses e.g. max_classes=ten here, not in the pod
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
    base_yaml: str, params: dict[str, Any], env: dict[str, str] | None = None
) -> GlovConfig:
    """Base config (the compiled profile) + run parameters, `overrides` applied last."""
    env = dict(os.environ) if env is None else env
    data = yaml.safe_load(base_yaml) or {}
    for name, value in params.items():
        spec = PARAMETERS_BY_NAME.get(name)
        if spec is None:
            raise unknown_parameter(name)
        if spec.key is None:
            continue
        if spec.env and value == "":  # the pod's setting, else the profile's
            if env.get(spec.env):
                set_key(data, spec.key, env[spec.env])
            continue
        set_key(data, spec.key, spec.decode(value))
    for assignment in params.get("overrides") or []:
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
    """The run_id parameter, else <run.name>-<first 8 characters of the KFP run id>."""
    if not run_id:
        token = re.sub(r"[^A-Za-z0-9]", "", job_id)[:8] or "local"
        run_id = default_run_id(cfg.run.name, token)
    return check_run_id(run_id)
