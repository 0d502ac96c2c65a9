"""The kinds of VLM that score templates, and the objectives their fitness measures.

One table each, by name (`vlm.kind`, `objective.kind`), as open_clip keeps its
model configs and kopf its handlers: every place that depends on the kind reads
a field of its row instead of comparing names. A new VLM kind or objective is
one module (its scorer, data, report section) plus one row here.

Rows name their code as "module:attribute", imported on first use (`load`),
so this table sits in the config layer, below the code it names, and loading
a config imports no model library. tests/config/test_kinds.py checks that
every name resolves.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class VLMKind:
    name: str
    # "module:callable(vlm: VLMConfig, objective: ObjectiveConfig, cache_dir,
    # shared_features, model_share) -> Scorer";
    # shared_features is the store's image-feature cache and model_share its
    # share of built models (both None when local).
    scorer: str
    # Candidates are templates with one class slot, filled with every class name
    # (True), or free prompts the VLM reads as they are (False).
    slot_templates: bool
    # vlm.pretrained names the weights (None: random init); otherwise the
    # weights are vlm.model's own files.
    pretrained_weights: bool
    # DS-TEMP (CLIP's template ensembles) is evaluated as a baseline.
    ds_temp: bool
    # "module:Wording" of the free-prompt meta-prompts; None: slot templates'.
    wording: str | None = None


@dataclass(frozen=True)
class ObjectiveKind:
    name: str
    # The VLM kinds it can score with, and why (for the error that refuses others).
    vlm_kinds: tuple[str, ...]
    needs: str = ""
    # "module:callable" overriding the VLM kind's scorer (same signature).
    scorer: str | None = None
    # "module:callable(data: DataConfig, objective: ObjectiveConfig) -> DataBundle";
    # None: a classification dataset (glov.data.bundle).
    data: str | None = None
    # The module of its own report section, stored under the objective's name in
    # report.json, with final_section(cfg, run, scorer, data) -> (test counts,
    # section), dataset_line(report) and markdown(report); None: none.
    report: str | None = None
    # "module:Wording" overriding the VLM kind's meta-prompt wording.
    wording: str | None = None
    # Its evaluation can be spread over pods (pipeline.eval_shards > 1).
    shards: bool = True


VLM_KINDS: dict[str, VLMKind] = {
    k.name: k
    for k in (
        # A dual encoder (open_clip): zero-shot accuracy of slot templates.
        VLMKind(
            "clip",
            scorer="glov.vlm.clip:build_scorer",
            slot_templates=True,
            pretrained_weights=True,
            ds_temp=True,
        ),
        # An image-text-to-text VLM (LLaVA-style): its answer is read out as a class.
        VLMKind(
            "generative",
            scorer="glov.vlm.generative.scorer:build_scorer",
            slot_templates=False,
            pretrained_weights=False,
            ds_temp=False,
            wording="glov.llm.free_prompts:GENERATIVE_PROMPTS",
        ),
    )
}

OBJECTIVES: dict[str, ObjectiveKind] = {
    o.name: o
    for o in (
        # Fitness = top-1 accuracy of the class the VLM picks.
        ObjectiveKind("classification", vlm_kinds=tuple(VLM_KINDS)),
        # An instruction before every request; fitness = 1 - attack success rate.
        ObjectiveKind(
            "safety",
            vlm_kinds=("generative",),
            needs="it reads refusals in answers",
            scorer="glov.vlm.generative.safety:build_scorer",
            data="glov.data.vlguard:prepare_bundle",
            report="glov.runs.safety_report",
            wording="glov.llm.free_prompts:SAFETY_INSTRUCTIONS",
            shards=False,
        ),
    )
}


def free_prompt_kinds() -> str:
    """The VLM kinds whose candidates are free prompts, for messages: "generative"."""
    return " or ".join(k.name for k in VLM_KINDS.values() if not k.slot_templates)


def load(ref: str) -> Any:
    """The object a row names as "module:attribute", or the module a row names."""
    module, _, attribute = ref.partition(":")
    loaded = importlib.import_module(module)
    return getattr(loaded, attribute) if attribute else loaded
