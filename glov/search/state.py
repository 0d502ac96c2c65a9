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


def rejection_totals(records: list[dict]) -> dict[str, int]:
    """Rejected LLM answers per reason, summed over step records."""
    total: Counter[str] = Counter()
    for r in records:
        total.update(r.get("rejected", {}))
    return dict(total)
