"""Where a decoding step's time goes, by kind of work (torch.profiler on CPU)."""

from __future__ import annotations

import time
from typing import Any

import torch

from bench.steering.decoding import steered
from glov.llm.steering import Steer

# Operators whose inclusive time makes up each kind of work in a decoding step.
PROFILE_KINDS = {
    "matrix products (linear layers, LM head)": ("aten::linear",),
    "attention": ("aten::scaled_dot_product_attention",),
    "KV cache growth (torch.cat)": ("aten::cat",),
    "sampling (top-k, top-p, draw)": (
        "aten::topk",
        "aten::sort",
        "aten::softmax",
        "aten::cumsum",
        "aten::multinomial",
    ),
}


def profile(
    llm: Any, steer: Steer | None, ids: torch.Tensor, mask: torch.Tensor, steps: int, seed: int
) -> dict[str, float]:
    """Milliseconds per decoding step by kind of work (torch.profiler, CPU).

    Two profiled runs, of 1 and of steps + 1 tokens, are subtracted, so the
    prefill drops out. "other" is the rest of the step's wall time: Python,
    hooks, masks, norms, rotary embeddings and the many small operators.
    """
    from torch.profiler import ProfilerActivity
    from torch.profiler import profile as torch_profile

    def measured(n: int) -> tuple[float, dict[str, float]]:
        with torch_profile(activities=[ProfilerActivity.CPU]) as prof:
            start = time.perf_counter()
            steered(llm, ids, mask, steer, n, seed, "split")
            wall = time.perf_counter() - start
        totals = {e.key: e.cpu_time_total / 1000 for e in prof.key_averages()}
        return wall * 1000, {
            kind: sum(totals.get(op, 0.0) for op in ops) for kind, ops in PROFILE_KINDS.items()
        }

    wall_1, kinds_1 = measured(1)
    wall_n, kinds_n = measured(steps + 1)
    per_step = {kind: (kinds_n[kind] - kinds_1[kind]) / steps for kind in PROFILE_KINDS}
    total = (wall_n - wall_1) / steps
    per_step["other"] = total - sum(per_step.values())
    per_step["step total"] = total
    return {kind: round(ms, 1) for kind, ms in per_step.items()}
