"""Every metric glov exports, its labels, and the closed label-value sets.

One table so the recorder, the dashboard, the alert rules and the README agree
on names. Conventions (prometheus.io/docs/practices/naming): prefix `glov_`,
base units (`_seconds`, `_bytes`, `_ratio` for 0..1), counters end in `_total`.

Label values are bounded by construction: identity labels (run, pipeline,
method, arm, dataset, model, llm) must look like identifiers and are checked once
when a recorder is built; per-series labels (stage, reason, variant) come from
the fixed tuples below. A template or any other free text is never a label.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from glov.errors import ConfigError
from glov.llm.parser import REASONS

# Why a parsed LLM answer was not scored: the parser's fixed set, one source.
REJECT_REASONS: tuple[str, ...] = REASONS
STAGES: tuple[str, ...] = ("data", "generate", "evaluate", "rank", "final")
# Final test accuracies: best template, top-3 ensemble, seed template, hand-written ensemble.
FINAL_VARIANTS: tuple[str, ...] = ("best", "top3", "s_temp", "ds_temp")

# On every series. `job` is added by the Pushgateway grouping key {job, run, arm}.
# `model` is the VLM, `llm` the optimizer LLM.
IDENTITY_LABELS: tuple[str, ...] = ("run", "pipeline", "method", "arm", "dataset", "model", "llm")

Kind = Literal["gauge", "counter"]
# A sample identity: exposition name and sorted label pairs.
SampleKey = tuple[str, tuple[tuple[str, str], ...]]


@dataclass(frozen=True)
class Spec:
    name: str  # full exposition name (counters include `_total`)
    kind: Kind
    help: str
    labels: tuple[str, ...] = ()  # besides IDENTITY_LABELS


SPECS: dict[str, Spec] = {
    s.name: s
    for s in (
        Spec("glov_best_fitness_ratio", "gauge", "Best fitness in the history so far (0..1)."),
        Spec("glov_step_fitness_ratio", "gauge", "Best fitness among this step's candidates."),
        Spec("glov_current_step", "gauge", "Last finished optimisation step."),
        Spec("glov_steps_completed_total", "counter", "Optimisation steps finished."),
        Spec("glov_candidates_generated_total", "counter", "LLM answers sampled."),
        Spec(
            "glov_candidates_rejected_total",
            "counter",
            "LLM answers the parser rejected, by reason.",
            ("reason",),
        ),
        Spec(
            "glov_candidates_clean_total",
            "counter",
            "LLM answers that were a template as the meta-prompt asked, scored as written.",
        ),
        Spec(
            "glov_candidates_repaired_total",
            "counter",
            "LLM answers scored after a repair: a list marker, label, wrapper or extra text "
            "cut, or a lone class name mapped to the slot (search.repair_classnames).",
        ),
        Spec("glov_candidates_evaluated_total", "counter", "Templates scored by the VLM."),
        Spec("glov_llm_generated_tokens_total", "counter", "New tokens the LLM generated."),
        Spec("glov_llm_generation_seconds_total", "counter", "Wall time spent in LLM sampling."),
        Spec("glov_llm_tokens_per_second", "gauge", "LLM throughput of the last step."),
        Spec(
            "glov_stage_duration_seconds",
            "gauge",
            "Wall time of the last completed run of each stage.",
            ("stage",),
        ),
        Spec(
            "glov_stage_seconds_total",
            "counter",
            "Cumulative wall time of completed stages.",
            ("stage",),
        ),
        Spec(
            "glov_stage_failures_total",
            "counter",
            "Stages that raised an exception.",
            ("stage",),
        ),
        Spec("glov_feature_cache_hits_total", "counter", "Image-feature cache hits."),
        Spec("glov_feature_cache_misses_total", "counter", "Image-feature cache misses."),
        Spec("glov_steering_vector_norm", "gauge", "L2 norm of the guidance steering vector."),
        Spec(
            "glov_final_accuracy_ratio",
            "gauge",
            "Test accuracy of the final templates (0..1).",
            ("variant",),
        ),
        Spec(
            "glov_last_success_timestamp_seconds",
            "gauge",
            "Unix time of the last completed stage, step or final result.",
        ),
        Spec("glov_gpu_memory_peak_bytes", "gauge", "Peak CUDA memory allocated by this process."),
        Spec(
            "glov_run_finished_timestamp_seconds",
            "gauge",
            "Unix time the arm's final results were recorded; absent while it runs.",
        ),
    )
}

# Identifiers only: no whitespace, no braces, bounded length. Covers run ids,
# HF ids (org/model), pkg:// URIs and model names such as ViT-B-32.
_LABEL_VALUE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/@+-]{0,99}")
_NOT_LABEL_CHARS = re.compile(r"[^A-Za-z0-9._:/@+-]+")
_EDGES = re.compile(r"^[^A-Za-z0-9]+|[^A-Za-z0-9]+$")


def check_label_value(label: str, value: str) -> str:
    """Return `value` if it is an identifier-like label value, else raise ConfigError."""
    if not isinstance(value, str) or not _LABEL_VALUE.fullmatch(value):
        raise ConfigError(
            f"metrics label {label}={value!r} is not an identifier "
            "(letters, digits and ._:/@+- only, at most 100 characters)",
            f"pass a short name as {label} (glov.metrics.slug() makes one from any text)",
        )
    return value


def slug(text: str, max_chars: int = 63) -> str:
    """Turn a path or other text into a valid label value (lossy, deterministic)."""
    out = _EDGES.sub("", _NOT_LABEL_CHARS.sub("_", text)[:max_chars])
    return out or "unknown"


def check_member(label: str, value: str, allowed: tuple[str, ...]) -> str:
    """Closed-set labels: an unknown value is a programming error, caught in tests."""
    if value not in allowed:
        raise ValueError(f"{label}={value!r} is not one of {', '.join(allowed)}")
    return value
