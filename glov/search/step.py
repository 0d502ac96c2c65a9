"""The stages of one GLOV step, as plain functions over serialisable state.

generate (meta-prompt + optionally steered sampling + parsing), evaluate
(fitness of the parsed templates) and rank (merge into the history, update
guidance, build the step record). The in-process loop runs them back to back
(glov.runs.execute); the Kubeflow components run each in its own pod.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from glov.config import GlovConfig
from glov.errors import ConfigError
from glov.llm.parser import TOO_LONG
from glov.search.arms import step_seed
from glov.search.shards import accuracies_from_counts, template_counts
from glov.search.state import ArmState, absorb

if TYPE_CHECKING:
    from glov.data.dataset import Split
    from glov.llm.loader import LoadedLLM
    from glov.llm.metaprompt import Message
    from glov.llm.steering import Steer
    from glov.search.candidates import ParseBatch
    from glov.search.steering import SteeringVectors
    from glov.vlm.scorer import Scorer

ANSWER_CHARS_KEPT = 300  # raw answers are logged for debugging, truncated


@dataclass
class Generation:
    """What the generate stage hands to evaluate and rank."""

    templates: list[str]
    rejections: dict[str, int]
    answers: list[str]
    new_tokens: int = 0
    prompt_tokens: int = 0
    seconds: float = 0.0
    guidance: dict = field(default_factory=dict)
    # The repaired templates among `templates`, each with what its repair cut or
    # mapped (glov.llm.parser); the others were clean answers.
    repairs: dict[str, list[str]] = field(default_factory=dict)
    # Per answer: it ran into llm.max_new_tokens (kept so answers can be re-parsed).
    truncated: list[bool] = field(default_factory=list)

    @classmethod
    def from_record(cls, record: dict) -> Generation:
        """The generation a finished step record holds (a step reused, not re-sampled)."""
        llm = record.get("llm", {})
        scored = record["scored"]
        return cls(
            templates=[c["template"] for c in scored],
            rejections=dict(record.get("rejected", {})),
            answers=list(record.get("answers", [])),
            new_tokens=llm.get("new_tokens", 0),
            prompt_tokens=llm.get("prompt_tokens", 0),
            seconds=llm.get("seconds", 0.0),
            guidance=dict(record.get("guidance", {})),
            repairs={c["template"]: c["repairs"] for c in scored if c.get("repairs")},
            truncated=list(record.get("truncated", [])),
        )


def seed_generation(cfg: GlovConfig, method: str = "glov") -> Generation:
    """Step 0 generates nothing: it scores the seed template (S-TEMP).

    The LLM-OPT arm scores its initial pool after the seed (glov.search.llm_opt).
    """
    if method == "llm-opt":
        from glov.search.llm_opt import initial_pool

        return Generation(templates=initial_pool(cfg), rejections={}, answers=[])
    return Generation(templates=[cfg.search.seed_template], rejections={}, answers=[])


def build_messages(
    cfg: GlovConfig, state: ArmState, dataset_name: str, description: str, step: int
) -> list[Message]:
    from glov.config import kinds
    from glov.llm.free_prompts import free_glov_messages, free_llm_opt_messages
    from glov.llm.metaprompt import glov_messages, llm_opt_messages

    pairs = state.history.pairs()
    if cfg.prompt_wording is not None:  # free-form prompts (glov.llm.free_prompts)
        wording = kinds.load(cfg.prompt_wording)
        if state.arm.method == "llm-opt":
            return free_llm_opt_messages(wording, pairs)
        return free_glov_messages(wording, pairs, dataset_name, description, cfg.search.k_max)
    if state.arm.method == "llm-opt":
        # LLM-OPT's prompt shows no accuracies and no dataset (docs/method.md).
        return llm_opt_messages(pairs)
    return glov_messages(pairs, dataset_name, description, cfg.search.k_max)


def generate(
    cfg: GlovConfig,
    llm: LoadedLLM,
    steering: SteeringVectors | None,
    state: ArmState,
    step: int,
    dataset_name: str,
    description: str,
    classnames: Sequence[str] = (),
) -> Generation:
    """Meta-prompt, K samples in one batched call (steered for `glov`), parsed.

    `steering` may be None for arms that never steer (glov-noguide, llm-opt).
    `classnames` feed the parser's class-name repair (answer_parser).
    """
    from glov.search.candidates import sample_parsed

    messages = build_messages(cfg, state, dataset_name, description, step)
    steer, info = None, {"applied": False}
    if state.arm.steers and state.guidance.active:
        if steering is None:
            raise ValueError("a glov arm with active guidance needs its steering vectors")
        steer, info = _steer(cfg, steering, state)
    # LLM-OPT re-asks for unusable answers; GLOV's arms sample once.
    asks = cfg.search.llm_opt_asks if state.arm.method == "llm-opt" else 1
    result, parsed = sample_parsed(
        llm,
        messages,
        cfg.search.candidates,
        cfg.llm,
        step_seed(cfg.search.seed, step),
        state.history.known(),
        answer_parser(cfg, state.arm.method, classnames),
        asks,
        steer,
    )
    return Generation(
        templates=list(parsed.templates),
        rejections=dict(parsed.rejections),
        answers=[t[:ANSWER_CHARS_KEPT] for t in result.texts],
        new_tokens=result.new_tokens,
        prompt_tokens=result.prompt_tokens,
        seconds=result.seconds,
        guidance=info,
        repairs=parsed.repairs,
        truncated=result.truncated,
    )


def answer_parser(cfg: GlovConfig, method: str, classnames: Sequence[str]) -> ParseBatch:
    """The arm's parser: free prompts or slot templates; LLM-OPT's "- " is its format.

    `classnames` feed the class-name repair when search.repair_classnames (never
    for free-form prompts: they need no slot).
    """
    from glov.llm.free_form import parse_free_answers
    from glov.llm.metaprompt import ANSWER_BULLET
    from glov.llm.parser import parse_answers

    bullet = ANSWER_BULLET if method == "llm-opt" else ""
    max_chars = cfg.search.max_template_chars
    if cfg.free_form_prompts:
        return lambda texts, known, cut: parse_free_answers(texts, known, max_chars, cut, bullet)
    names = classnames if cfg.search.repair_classnames else ()
    return lambda texts, known, cut: parse_answers(texts, known, max_chars, names, cut, bullet)


def _steer(cfg: GlovConfig, steering: SteeringVectors, state: ArmState) -> tuple[Steer, dict]:
    from glov.llm.steering import Steer

    positive, negative = state.guidance.positive, state.guidance.negative
    assert positive is not None and negative is not None  # active guidance has both
    sv = steering.get(positive, negative)
    steer = Steer(
        vector=sv.vector, layer=steering.layer, alpha=state.arm.alpha, mode=cfg.guidance.mode
    )
    info = {
        "applied": True,
        "alpha": state.arm.alpha,
        "layer": steering.layer,
        "mode": cfg.guidance.mode,
        "norm": float(sv.norm),
        "residual_norm": float(sv.residual_norm),
        "ratio": float(sv.ratio),
        "positive": positive,
        "negative": negative,
    }
    return steer, info


def evaluate(
    scorer: Scorer, templates: list[str], split: Split, classnames: list[str]
) -> list[float | None]:
    """Fitness: zero-shot top-1 accuracy of each template on the fitness split.

    None for a template that, filled with some class name, does not fit the
    VLM's text context: its tokenizer would truncate it and score another
    text, so it is not scored and rank counts it as `too-long`. Computed as
    correct images / images, so that evaluation sharded over pods (shards.py)
    merges to the very same floats.
    """
    if not templates:
        return []
    return accuracies_from_counts(template_counts(scorer, templates, split, classnames), len(split))


def _candidate(template: str, fitness: float, repairs: dict[str, list[str]]) -> dict:
    """A scored candidate of the step record; a repaired one says what its repair cut."""
    out: dict = {"template": template, "fitness": fitness}
    if template in repairs:
        out["repairs"] = repairs[template]
    return out


def rank(
    cfg: GlovConfig,
    state: ArmState,
    step: int,
    generation: Generation,
    fitnesses: list[float | None],
    eval_seconds: float = 0.0,
) -> dict:
    """Merge the scored candidates into the arm's history; return the step record.

    A None fitness (a template beyond the VLM's context) is a `too-long` rejection.
    """
    pairs = list(zip(generation.templates, fitnesses, strict=True))
    if step == 0 and pairs[0][1] is None:
        raise ConfigError(
            "the seed template does not fit the VLM's text context when filled with the "
            "longest class name",
            "shorten search.seed_template or the class names (data.classnames)",
        )
    scored = [_candidate(t, f, generation.repairs) for t, f in pairs if f is not None]
    rejections = dict(generation.rejections)
    if len(scored) < len(pairs):
        rejections[TOO_LONG] = rejections.get(TOO_LONG, 0) + len(pairs) - len(scored)
    fitnesses = [c["fitness"] for c in scored]
    repaired = sum(1 for c in scored if "repairs" in c)
    record = {
        "step": step,
        "arm": state.arm.name,
        "method": state.arm.method,
        "alpha": state.arm.alpha,
        "seed": step_seed(cfg.search.seed, step),
        "scored": scored,
        # Answer quality: every answer sampled is clean, repaired or rejected (by
        # reason); step 0 samples none (it scores the seed, or LLM-OPT's pool).
        "generated": len(generation.answers),
        "clean": len(scored) - repaired if generation.answers else 0,
        "repaired": repaired,
        "repairs": dict(Counter(k for c in scored for k in c.get("repairs", []))),
        "rejected": rejections,
        "answers": generation.answers,
        "truncated": generation.truncated,
        "llm": {
            "new_tokens": generation.new_tokens,
            "prompt_tokens": generation.prompt_tokens,
            "seconds": round(generation.seconds, 4),
        },
        "eval_seconds": round(eval_seconds, 4),
        "step_best": max(fitnesses) if fitnesses else None,
        "guidance": generation.guidance,
        "time": time.time(),
    }
    absorb(state, record, cfg.guidance.negative)
    best = state.history.best()
    record["best"] = {"template": best.template, "fitness": best.fitness}
    return record
