"""An arm's state between steps, rebuilt from its step records.

The step records in the run directory are the single source of truth: the
loop, a resumed run and every pipeline task replay them into the same state.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from glov.search.arms import Arm
from glov.search.guidance import GuidanceState, update_guidance
from glov.search.history import History, Scored


@dataclass
class ArmState:
    """Everything a step needs to know about its arm's past."""

    arm: Arm
    history: History = field(default_factory=History)
    guidance: GuidanceState = field(default_factory=GuidanceState)
    seed_fitness: float | None = None
    next_step: int = 0


def replay(arm: Arm, records: list[dict], negative: str = "second-best") -> ArmState:
    """Rebuild an arm's state from its finished step records (used on resume)."""
    state = ArmState(arm)
    for record in records:
        absorb(state, record, negative)
    return state


def absorb(state: ArmState, record: dict, negative: str) -> None:
    """Merge one step record into the state: history, seed fitness, guidance."""
    step = record["step"]
    state.history.extend([Scored(c["template"], c["fitness"], step) for c in record["scored"]])
    if step == 0:
        state.seed_fitness = record["scored"][0]["fitness"]
    state.guidance = update_guidance(
        state.guidance, state.history, state.seed_fitness, step, negative
    )
    state.next_step = step + 1


def step_answers(record: dict) -> dict:
    """One step's answer quality: answers sampled, clean, repaired, rejected (their sum).

    Records written before the clean count was kept get it as scored minus repaired.
    """
    repaired = record.get("repaired", 0)
    clean = record.get("clean")
    if clean is None:
        clean = len(record["scored"]) - repaired if record.get("generated") else 0
    return {
        "step": record["step"],
        "sampled": record.get("generated", 0),
        "clean": clean,
        "repaired": repaired,
        "rejected": sum(record.get("rejected", {}).values()),
    }


def answer_totals(records: list[dict]) -> dict:
    """An arm's answer quality over its step records: answers sampled, clean, repaired
    (and by what the repairs cut), rejected by reason."""
    steps = [step_answers(r) for r in records]
    rejected: Counter[str] = Counter()
    repairs: Counter[str] = Counter()
    for r in records:
        rejected.update(r.get("rejected", {}))
        repairs.update(r.get("repairs", {}))
    return {
        "generated": sum(s["sampled"] for s in steps),
        "clean": sum(s["clean"] for s in steps),
        "repaired": sum(s["repaired"] for s in steps),
        "repairs": dict(repairs),
        "rejected": dict(rejected),
    }
