"""When GLOV steers, and towards what (paper Alg. 1 and GLOV.md "Guidance").

Guidance stays off until a template beats the seed template's fitness. From
then on p+ is the best template and p- the second best (or the worst, as a
setting), and both change only when a new global best appears, not whenever
the ranking below the top moves.
"""

from __future__ import annotations

from dataclasses import dataclass

from glov.search.history import History


@dataclass(frozen=True)
class GuidanceState:
    active: bool = False
    positive: str | None = None
    negative: str | None = None
    best_fitness: float | None = None  # global best when p+/p- were last set
    updated_step: int | None = None


def update_guidance(
    state: GuidanceState,
    history: History,
    seed_fitness: float,
    step: int,
    negative: str = "second-best",
) -> GuidanceState:
    """The guidance state after `history` absorbed step `step`'s candidates."""
    best = history.best()
    improved_over_seed = best.fitness > seed_fitness
    new_best = state.best_fitness is None or best.fitness > state.best_fitness
    if not improved_over_seed or not new_best or len(history) < 2:
        if state.best_fitness is None:
            return GuidanceState(best_fitness=best.fitness)
        return state
    ranked = history.ranked
    neg = ranked[1] if negative == "second-best" else ranked[-1]
    return GuidanceState(
        active=True,
        positive=best.template,
        negative=neg.template,
        best_fitness=best.fitness,
        updated_step=step,
    )
