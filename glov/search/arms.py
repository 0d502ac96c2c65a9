"""Arms: the independent optimisation runs inside one GLOV run.

The main method with guidance sweeps alpha (one full optimisation per alpha,
the best kept by fitness, as in the paper); methods named in
`search.compare_with` run beside it on the same seed for the report.
"""

from __future__ import annotations

from dataclasses import dataclass

from glov.config import GlovConfig


@dataclass(frozen=True)
class Arm:
    name: str
    method: str
    # The guidance strength of a steering arm (GLOV's alpha sweep); None for an
    # arm that never steers (glov-noguide, llm-opt).
    alpha: float | None = None

    @property
    def steers(self) -> bool:
        """Whether this arm's sampling is steered once its guidance is on: the one
        answer to "does this arm steer" (alpha is set for exactly those arms)."""
        return self.alpha is not None


def arms_for(cfg: GlovConfig) -> list[Arm]:
    methods = [cfg.search.method] + [m for m in cfg.search.compare_with if m != cfg.search.method]
    arms: list[Arm] = []
    for method in dict.fromkeys(methods):
        if method == "glov":
            arms.extend(Arm(f"glov-alpha{a:g}", "glov", a) for a in cfg.guidance.alphas)
        else:
            arms.append(Arm(method, method))
    return arms


def step_seed(base_seed: int, step: int) -> int:
    """Seed of one step's sampling, shared by all arms (common random numbers).

    Arms that differ only in guidance then sample identically until guidance
    switches on, so their differences come from the method, not the dice.
    """
    return base_seed * 1_000_003 + step
