"""The candidates table of a step as Markdown, for the Kubeflow UI's Visualizations tab.

The run directory's step records hold everything; this is the view a user
wants while a run goes on: what the LLM proposed at each step, how each
candidate scored, how many answers were clean, repaired (and what the repair
cut) or thrown away, and why.
"""

from __future__ import annotations

import html
import re

from glov.runs.percent import percent
from glov.search.state import step_answers

# Markdown punctuation that would turn a template into formatting or break the
# table (templates are free text written by an LLM).
_MARKDOWN = re.compile(r"([\\`*_\[\]|#])")


def _cell(text: str) -> str:
    flat = " ".join(str(text).split())
    return _MARKDOWN.sub(r"\\\1", html.escape(flat, quote=False)) or " "


def _step_section(record: dict, reused: bool) -> list[str]:
    step, best = record["step"], record["best"]
    guidance = record.get("guidance") or {}
    alpha = record.get("alpha")
    title = f"### {record.get('arm', '')}: step {step}" + (" (seed template)" if step == 0 else "")
    rejected = record.get("rejected") or {}
    if not guidance.get("applied"):
        steered = "off"
    else:
        steered = "applied" + ("" if alpha is None else f", alpha {alpha:g}")
    answers = step_answers(record)
    summary = f"{answers['sampled']} generated, {len(record['scored'])} scored "
    summary += f"({answers['clean']} clean, {answers['repaired']} repaired), "
    summary += f"{answers['rejected']} rejected"
    if rejected:
        summary += " (" + ", ".join(f"{_cell(k)}: {v}" for k, v in sorted(rejected.items())) + ")"
    lines = [
        title,
        "",
        f"- best so far: {percent(best['fitness'])} % {_cell(best['template'])}",
        f"- answers: {summary}",
        f"- guidance: {steered}",
    ]
    if reused:
        lines.append("- reused from the run directory (recorded by an earlier attempt)")
    lines += ["", "| rank | fitness (%) | template | repaired |", "|---:|---:|---|---|"]
    ranked = sorted(record["scored"], key=lambda c: -c["fitness"])
    for i, c in enumerate(ranked, 1):
        repairs = ", ".join(c.get("repairs", [])) or "-"
        lines.append(f"| {i} | {percent(c['fitness'])} | {_cell(c['template'])} | {repairs} |")
    if not ranked:
        lines.append("| - | - | no candidate could be scored | - |")
    return lines + [""]


def candidates_markdown(records: list[dict], reused: list[bool]) -> str:
    """One section per step record: its summary and its scored candidates, best first."""
    lines: list[str] = []
    for record, was_reused in zip(records, reused, strict=True):
        lines += _step_section(record, was_reused)
    return "\n".join(lines)
