"""The stages of one GLOV step, as plain functions over serialisable state.

generate (meta-prompt + optionally steered sampling + parsing), evaluate
(fitness of the parsed templates) and rank (merge into the history, update
guidance, build the step record). The in-process loop runs them back to back
(glov.runs.execute); the Kubeflow components run each in its own pod.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from glov.config import GlovConfig
from glov.search.arms import step_seed
from glov.search.state import ArmState, absorb

if TYPE_CHECKING:
    from glov.data.dataset import Split
    from glov.llm.loader import LoadedLLM
    from glov.llm.metaprompt import Message
    from glov.llm.steering import Steer
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

    @classmethod
    def from_record(cls, record: dict) -> Generation:
        """The generation a finished step record holds (a step reused, not re-sampled)."""
        llm = record.get("llm", {})
        return cls(
            templates=[c["template"] for c in record["scored"]],
            rejections=dict(record.get("rejected", {})),
            answers=list(record.get("answers", [])),
            new_tokens=llm.get("new_tokens", 0),
            prompt_tokens=llm.get("prompt_tokens", 0),
            seconds=llm.get("seconds", 0.0),
            guidance=dict(record.get("guidance", {})),
        )


def seed_generation(cfg: GlovConfig) -> Generation:
    """Step 0 generates nothing: it scores the seed template (S-TEMP)."""
    return Generation(templates=[cfg.search.seed_template], rejections={}, answers=[])


def build_messages(
    cfg: GlovConfig, state: ArmState, dataset_name: str, description: str, step: int
) -> list[Message]:
    from glov.llm.metaprompt import glov_messages, llm_opt_messages

    pairs = state.history.pairs()
    if state.arm.method == "llm-opt":
        rng = random.Random(step_seed(cfg.search.seed, step))
        return llm_opt_messages(pairs, dataset_name, description, cfg.search.llm_opt_random, rng)
    return glov_messages(pairs, dataset_name, description, cfg.search.k_max)


def generate(
    cfg: GlovConfig,
    llm: LoadedLLM,
    steering: SteeringVectors | None,
    state: ArmState,
    step: int,
    dataset_name: str,
    description: str,
) -> Generation:
    """Meta-prompt, K samples in one batched call (steered for `glov`), parsed.

    `steering` may be None for arms that never steer (glov-noguide, llm-opt).
    """
    from glov.llm.parser import parse_answers
    from glov.llm.sampling import sample

    messages = build_messages(cfg, state, dataset_name, description, step)
    steer, info = None, {"applied": False}
    if state.arm.method == "glov" and state.guidance.active:
        if steering is None:
            raise ValueError("a glov arm with active guidance needs its steering vectors")
        steer, info = _steer(cfg, steering, state)
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
) -> list[float]:
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
    return record
