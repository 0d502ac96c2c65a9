"""The stages of one GLOV step, as plain functions over serialisable state.

The in-process loop (glov.search) and the Kubeflow components call the same
functions: generate (meta-prompt + optionally steered sampling + parsing),
evaluate (fitness of the parsed templates) and rank (merge into the history,
update guidance, write the step record).
"""

from __future__ import annotations

import random
import time
from collections import Counter
from dataclasses import dataclass, field

from glov.arms import Arm, step_seed
from glov.config import GlovConfig
from glov.guidance import GuidanceState, update_guidance
from glov.history import History, Scored

ANSWER_CHARS_KEPT = 300  # raw answers are logged for debugging, truncated


@dataclass
class ArmState:
    """Everything a step needs to know about its arm's past."""

    arm: Arm
    history: History = field(default_factory=History)
    guidance: GuidanceState = field(default_factory=GuidanceState)
    seed_fitness: float | None = None
    next_step: int = 0

    def best_curve(self, records: list[dict]) -> list[float]:
        return [r["best"]["fitness"] for r in records]


@dataclass
class Generation:
    templates: list[str]
    rejections: dict[str, int]
    answers: list[str]
    new_tokens: int = 0
    prompt_tokens: int = 0
    seconds: float = 0.0
    guidance: dict = field(default_factory=dict)


def replay(arm: Arm, records: list[dict], negative: str = "second-best") -> ArmState:
    """Rebuild an arm's state from its finished step records (used on resume)."""
    state = ArmState(arm)
    for record in records:
        absorb(state, record, negative)
    return state


def absorb(state: ArmState, record: dict, negative: str) -> None:
    step = record["step"]
    state.history.extend([Scored(c["template"], c["fitness"], step) for c in record["scored"]])
    if step == 0:
        state.seed_fitness = record["scored"][0]["fitness"]
    state.guidance = update_guidance(
        state.guidance, state.history, state.seed_fitness, step, negative
    )
    state.next_step = step + 1


def seed_generation(cfg: GlovConfig) -> Generation:
    """Step 0 generates nothing: it scores the seed template (S-TEMP)."""
    return Generation(templates=[cfg.search.seed_template], rejections={}, answers=[])


def build_messages(
    cfg: GlovConfig, state: ArmState, dataset_name: str, description: str, step: int
):
    from glov.llm.metaprompt import glov_messages, llm_opt_messages

    pairs = state.history.pairs()
    if state.arm.method == "llm-opt":
        rng = random.Random(step_seed(cfg.search.seed, step))
        return llm_opt_messages(pairs, dataset_name, description, cfg.search.llm_opt_random, rng)
    return glov_messages(pairs, dataset_name, description, cfg.search.k_max)


def generate(
    cfg: GlovConfig,
    llm,
    state: ArmState,
    step: int,
    dataset_name: str,
    description: str,
    vectors: dict | None = None,
) -> Generation:
    """Meta-prompt, K samples in one batched call (steered for `glov`), parsed."""
    from glov.llm.parser import parse_answers
    from glov.llm.sampling import sample

    messages = build_messages(cfg, state, dataset_name, description, step)
    steer, info = None, {"applied": False}
    if state.arm.method == "glov" and state.guidance.active:
        steer, info = _steer(cfg, llm, state, vectors if vectors is not None else {})
    result = sample(
        llm, messages, cfg.search.candidates, cfg.llm, step_seed(cfg.search.seed, step), steer
    )
    parsed = parse_answers(result.texts, state.history.known(), cfg.search.max_template_chars)
    return Generation(
        templates=list(parsed.templates),
        rejections=dict(parsed.rejections),
        answers=[t[:ANSWER_CHARS_KEPT] for t in result.texts],
        new_tokens=result.new_tokens,
        prompt_tokens=result.prompt_tokens,
        seconds=result.seconds,
        guidance=info,
    )


def _steer(cfg: GlovConfig, llm, state: ArmState, vectors: dict):
    from glov.llm.steering import Steer, compute_steering_vector, resolve_layer

    layer = resolve_layer(cfg.guidance.layer, llm.num_layers)
    key = (state.guidance.positive, state.guidance.negative, layer)
    if key not in vectors:  # p+/p- change only on a new best: reuse the vector
        vectors[key] = compute_steering_vector(
            llm.model, llm.tokenizer, state.guidance.positive, state.guidance.negative, layer
        )
    sv = vectors[key]
    steer = Steer(vector=sv.vector, layer=layer, alpha=state.arm.alpha, mode=cfg.guidance.mode)
    info = {
        "applied": True,
        "alpha": state.arm.alpha,
        "layer": layer,
        "mode": cfg.guidance.mode,
        "norm": float(sv.norm),
        "residual_norm": float(sv.residual_norm),
        "ratio": float(sv.ratio),
        "positive": state.guidance.positive,
        "negative": state.guidance.negative,
    }
    return steer, info


def evaluate(scorer, templates: list[str], split, classnames: list[str]) -> list[float]:
    """Fitness: zero-shot top-1 accuracy of each template on the fitness split."""
    if not templates:
        return []
    return [float(f) for f in scorer.accuracies(templates, split, classnames)]


def rank(
    cfg: GlovConfig,
    state: ArmState,
    step: int,
    generation: Generation,
    fitnesses: list[float],
    eval_seconds: float = 0.0,
) -> dict:
    """Merge the scored candidates into the arm's history; return the step record."""
    scored = [
        {"template": t, "fitness": f} for t, f in zip(generation.templates, fitnesses, strict=True)
    ]
    record = {
        "step": step,
        "arm": state.arm.name,
        "method": state.arm.method,
        "alpha": state.arm.alpha,
        "seed": step_seed(cfg.search.seed, step),
        "scored": scored,
        "generated": len(generation.answers),
        "rejected": generation.rejections,
        "answers": generation.answers,
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
    record["guidance_state"] = state.guidance.to_json()
    return record


def rejection_totals(records: list[dict]) -> dict[str, int]:
    total: Counter[str] = Counter()
    for r in records:
        total.update(r.get("rejected", {}))
    return dict(total)
