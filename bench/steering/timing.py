"""Timed runs and what is made of them: medians, tokens/s, ratios to plain decoding."""

from __future__ import annotations

import statistics
from typing import Any, NamedTuple

from bench.steering.decoding import PLAIN, STEERED


class Timed(NamedTuple):
    """One run: wall seconds, this process's CPU seconds, tokens made."""

    seconds: float
    cpu_seconds: float
    made: int


def summary(timings: dict[str, list[Timed]]) -> dict[str, Any]:
    """Per variant: seconds and tokens of every repeat; ratios to plain decoding per repeat.

    Ratios come in wall time and in CPU time. On a machine shared with other
    jobs, wall time counts the waits for a core, which fall on whichever run
    was going; CPU time counts only this process's work, so at one torch
    thread its ratio is the steady one. (At two threads it also counts the
    threads spinning while they wait for each other.)
    """
    variants: dict[str, Any] = {}
    for name, runs in timings.items():
        rates = [run.made / run.seconds for run in runs]
        variants[name] = {
            "seconds": [round(run.seconds, 3) for run in runs],
            "cpu_seconds": [round(run.cpu_seconds, 3) for run in runs],
            "new_tokens": [run.made for run in runs],
            "seconds_median": round(statistics.median(run.seconds for run in runs), 3),
            "tokens_per_s_median": round(statistics.median(rates), 2),
            "tokens_per_s_min_max": [round(min(rates), 2), round(max(rates), 2)],
            "tokens_per_cpu_s_median": round(
                statistics.median(run.made / run.cpu_seconds for run in runs), 2
            ),
        }
    plain = min(PLAIN, key=lambda name: statistics.median(run.seconds for run in timings[name]))
    return {
        "plain_is": plain,
        "variants": variants,
        "speed_vs_plain": ratios(timings, plain, "seconds"),
        "cpu_speed_vs_plain": ratios(timings, plain, "cpu_seconds"),
    }


def ratios(timings: dict[str, list[Timed]], plain: str, clock: str) -> dict[str, Any]:
    """Tokens per `clock` second of each steered variant over plain's, per repeat and summed up."""
    out: dict[str, Any] = {}
    for name in STEERED:
        # Within each repeat (the runs were measured minutes apart at most),
        # then the median and range over the repeats.
        per_repeat = [
            (run.made / getattr(run, clock)) / (base.made / getattr(base, clock))
            for run, base in zip(timings[name], timings[plain], strict=True)
        ]
        out[f"{name} / plain"] = {
            "median": round(statistics.median(per_repeat), 3),
            "min": round(min(per_repeat), 3),
            "max": round(max(per_repeat), 3),
            "per_repeat": [round(r, 3) for r in per_repeat],
        }
    return out
