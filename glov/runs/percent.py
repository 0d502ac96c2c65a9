"""A fraction as the report and the CLI print it: 0.854 -> "85.4", None -> "-"."""

from __future__ import annotations


def percent(x: float | None, unit: str = "") -> str:
    # None: a figure not evaluated for this VLM or objective (the report says why).
    return "-" if x is None else f"{100 * x:.1f}{unit}"
