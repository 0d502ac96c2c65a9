"""When GLOV steers, and towards what (paper Alg. 1 and docs/method.md "Guidance").

Guidance stays off until a template beats the seed template's fitness. From
then on p+ is the best template and p- the best template whose fitness is
STRICTLY below p+'s (or the worst, as a setting), and both change only when a
new global best appears, not whenever the ranking below the top moves.

Why strictly below: 1-shot accuracies are coarse, so ties at the top are
common; a p- tied with p+ is as good as p+ and H+ - H- is then noise, not a
direction towards better templates (the authors' code takes the highest
accuracy below the best). When no template is strictly below p+ the pair is
not (re)set: the previous pair stays, and guidance stays off if there was
none. That cannot happen on the update path itself (a new best that beats the
seed always has the seed strictly below it), so it only guards odd histories.
"""

from __future__ import annotations

from dataclasses import dataclass

from glov.search.history import History, Scored


@dataclass(frozen=True)
class GuidanceState:
    active: bool = False
    positive: str | None = None
    negative: str | None = None
    best_fitness: float | None = None  # global best when p+/p- were last set
    updated_step: int | None = None


def pick_negative(history: History, negative: str = "second-best") -> Scored | None:
    """p-: the best entry strictly below the best (or the worst one); None if all tie."""
    ranked = history.ranked
    top = ranked[0].fitness
    below = [e for e in ranked if e.fitness < top]
    if not below:
        return None
    return below[0] if negative == "second-best" else below[-1]


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
    neg = pick_negative(history, negative) if improved_over_seed and new_best else None
    if neg is None:
        if state.best_fitness is None:
            return GuidanceState(best_fitness=best.fitness)
        return state
    return GuidanceState(
        active=True,
        positive=best.template,
        negative=neg.template,
        best_fitness=best.fitness,
        updated_step=step,
    )
