"""An arm's answer quality in words, as report.md and `glov show` print it.

The counts come from glov.search.state.answer_totals (report.json's arms, or
the step records of a run still going): every answer the LLM wrote is clean,
repaired or rejected by reason (glov.llm.parser), so a weak LLM shows here
without reading its raw answers.
"""

from __future__ import annotations

from collections.abc import Mapping

from glov.runs.percent import percent


def _by_key(counts: Mapping[str, int]) -> str:
    return ", ".join(f"{k} {v}" for k, v in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def clean_rate(totals: Mapping) -> float | None:
    """Clean answers per answer sampled; None before any answer (or in a report
    written before the clean count was kept)."""
    if not totals["generated"] or "clean" not in totals:
        return None
    return totals["clean"] / totals["generated"]


def quality_line(totals: Mapping) -> str:
    """The answers in one line: "24 answers: 5 clean (20.8%), 3 repaired (prefix 2), ..."."""
    repairs = f" ({_by_key(totals['repairs'])})" if totals.get("repairs") else ""
    rejected = totals["rejected"]
    reasons = f" ({_by_key(rejected)})" if rejected else ""
    return (
        f"{totals['generated']} answers: {totals.get('clean', '-')} clean "
        f"({percent(clean_rate(totals), '%')}), {totals['repaired']} repaired{repairs}, "
        f"{sum(rejected.values())} rejected{reasons}"
    )


def markdown_table(arms: Mapping[str, Mapping]) -> list[str]:
    """One row per arm: totals, and clean/sampled per step (steps after the seed)."""
    lines = [
        "| arm | answers | clean | repaired | rejected | rejected by reason | clean per step |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, arm in arms.items():
        per_step = " ".join(f"{s['clean']}/{s['sampled']}" for s in arm.get("answers_per_step", []))
        rejected = arm["rejected"]
        lines.append(
            f"| {name} | {arm['generated']} | {arm.get('clean', '-')} "
            f"({percent(clean_rate(arm), '%')}) | {arm['repaired']} | "
            f"{sum(rejected.values())} | {_by_key(rejected) or '-'} | {per_step or '-'} |"
        )
    return lines
