"""`make bench-quality`: the paper's table in miniature, on the trained dual encoder.

S-TEMP, DS-TEMP, LLM-OPT, GLOV without guidance and GLOV (alpha sweep, the arm
with the best fitness per seed, as the report selects it) over several seeds.
All methods of one seed are arms of ONE run, so they share the data split, the
sampling seeds (common random numbers) and the loaded models; each seed moves
both data.seed and search.seed. Writes <out>.json, <out>.md and <out>.png.
Whatever the numbers are, they are reported; the verdict text only states
comparisons the numbers support.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from collections import Counter
from pathlib import Path

from bench.run import machine
from glov.config import load_config
from glov.runs.percent import percent

# Arms of one run in the order the table lists them; GLOV's alpha arms are
# folded into the one selected by fitness (never by test accuracy).
METHODS = ["llm-opt", "glov-noguide", "glov"]
LABELS = {
    "s_temp": "S-TEMP",
    "ds_temp": "DS-TEMP",
    "llm-opt": "LLM-OPT",
    "glov-noguide": "GLOV (no guidance)",
    "glov": "GLOV",
}


def overrides(args: argparse.Namespace, seed: int) -> list[str]:
    alphas = ",".join(f"{a:g}" for a in args.alphas)
    return [
        "run.progress=false",
        f"data.seed={seed}",
        f"search.seed={seed}",
        f"data.shots={args.shots}",
        f"data.test_per_class={args.test_per_class}",
        f"search.steps={args.steps}",
        f"search.candidates={args.candidates}",
        "search.method=glov",
        *([f"llm.model={args.llm}"] if args.llm else []),
        "search.compare_with=[glov-noguide,llm-opt]",
        f"guidance.alphas=[{alphas}]",
    ]


def _stats(values: list[float]) -> dict:
    return {
        "mean": statistics.fmean(values),
        # One seed has no spread; 0 keeps the table and plot code uniform.
        "std": statistics.stdev(values) if len(values) > 1 else 0.0,
        "min": min(values),
        "max": max(values),
        "n": len(values),
    }


def _step_seconds(records: list[dict]) -> list[float]:
    """Wall seconds of each step after step 0, from the records' finish times."""
    times = [r["time"] for r in records]
    return [b - a for a, b in zip(times, times[1:], strict=False)]


def seed_result(cfg, run, report: dict) -> dict:
    """One seed: baselines and, per method, the numbers the table and plot need."""
    methods = {}
    for method in METHODS:
        name = report["selected"].get(method)
        if name is None:
            continue
        arm = report["arms"][name]
        records = run.steps(name)
        norms = [r["guidance"]["norm"] for r in records if r["guidance"].get("applied")]
        # Fitness of every template scored after step 0: how much the VLM's
        # accuracy depends on the template at all bounds what any search can gain.
        scored = [c["fitness"] for r in records[1:] for c in r["scored"]]
        methods[method] = {
            "arm": name,
            "alpha": arm["alpha"],
            "best_template": arm["best_template"],
            "best_fitness": arm["best_fitness"],
            "test_best": arm["test_best"],
            "test_top_n": arm["test_top_n"],
            "curve": arm["curve"],
            "guided_steps": arm["guided_steps"],
            "first_guided_step": next(
                (r["step"] for r in records if r["guidance"].get("applied")), None
            ),
            "norm_mean": statistics.fmean(norms) if norms else None,
            "candidates_scored": arm["candidates_scored"],
            # Answer quality over the arm's steps (glov.llm.parser).
            "generated": arm["generated"],
            "clean": arm["clean"],
            "repaired": arm["repaired"],
            "repairs": arm["repairs"],
            "rejected": arm["rejected"],
            "candidate_fitness": _stats(scored) if scored else None,
            "step_seconds": _step_seconds(records),
        }
    # The unselected alpha arms too, so the sweep itself can be read back.
    alphas = {
        n: {"best_fitness": a["best_fitness"], "test_best": a["test_best"]}
        for n, a in report["arms"].items()
        if a["method"] == "glov"
    }
    base = report["baselines"]
    return {
        "data_seed": cfg.data.seed,
        "search_seed": cfg.search.seed,
        "s_temp": base["s_temp"]["test"],
        "ds_temp": base["ds_temp"]["test"],
        "ds_set": f"{base['ds_temp']['set']} ({base['ds_temp']['templates']} templates)",
        "methods": methods,
        "glov_alpha_arms": alphas,
    }


def _answers(per: list[dict]) -> dict:
    """An arm's answers summed over seeds: sampled, clean, repaired, rejected by reason."""
    rejected: Counter[str] = Counter()
    for p in per:
        rejected.update(p["rejected"])
    generated = sum(p["generated"] for p in per)
    clean = sum(p["clean"] for p in per)
    return {
        "generated": generated,
        "clean": clean,
        "repaired": sum(p["repaired"] for p in per),
        "rejected": dict(rejected),
        "clean_rate": clean / generated if generated else None,
    }


def aggregate(seeds: list[dict]) -> dict:
    out: dict = {
        key: {"test_best": _stats([s[key] for s in seeds])} for key in ("s_temp", "ds_temp")
    }
    for method in METHODS:
        per = [s["methods"][method] for s in seeds if method in s["methods"]]
        if not per:
            continue
        norms = [p["norm_mean"] for p in per if p["norm_mean"] is not None]
        steps = [x for p in per for x in p["step_seconds"]]
        out[method] = {
            "test_best": _stats([p["test_best"] for p in per]),
            "test_top_n": _stats([p["test_top_n"] for p in per]),
            "best_fitness": _stats([p["best_fitness"] for p in per]),
            "guided_steps": [p["guided_steps"] for p in per],
            "norm_mean": statistics.fmean(norms) if norms else None,
            "candidate_fitness_std": statistics.fmean(
                [p["candidate_fitness"]["std"] for p in per if p["candidate_fitness"]] or [0.0]
            ),
            "selected_alphas": [p["alpha"] for p in per],
            "answers": _answers(per),
            "step_seconds_mean": statistics.fmean(steps) if steps else None,
        }
    return out


def _cell(stats: dict | None) -> str:
    if stats is None:
        return "-"
    mean, std, low, high = (percent(stats[k]) for k in ("mean", "std", "min", "max"))
    return f"{mean} ± {std} ({low}-{high})"


def verdict(seeds: list[dict], agg: dict) -> list[str]:
    """Whether guidance helped, in words, from the numbers only."""
    if "glov" not in agg or "glov-noguide" not in agg:
        return ["GLOV or its unguided arm did not finish: no comparison."]
    g, u = agg["glov"], agg["glov-noguide"]
    diff = g["test_best"]["mean"] - u["test_best"]["mean"]
    diff_ens = g["test_top_n"]["mean"] - u["test_top_n"]["mean"]
    pairs = [(s["methods"]["glov"], s["methods"]["glov-noguide"]) for s in seeds]
    wins = sum(a["test_best"] > b["test_best"] for a, b in pairs)
    ties = sum(a["test_best"] == b["test_best"] for a, b in pairs)
    spread = max(g["test_best"]["std"], u["test_best"]["std"])
    lines = [
        f"GLOV minus GLOV without guidance, mean test top-1: {100 * diff:+.1f} points "
        f"(best template), {100 * diff_ens:+.1f} points (top-3 ensemble); GLOV is "
        f"better on {wins}, equal on {ties} and worse on {len(pairs) - wins - ties} "
        f"of {len(pairs)} seeds."
    ]
    if sum(g["guided_steps"]) == 0:
        lines.append(
            "Guidance never switched on (0 guided steps on every seed): GLOV's arms sample "
            "exactly like the unguided arm (same step seeds), so any difference is not "
            "guidance's doing. It switches on only once a generated template beats the seed."
        )
    elif len(pairs) < 2:
        lines.append("One seed has no spread to judge the difference against: no claim.")
    elif abs(diff) <= spread:
        lines.append(
            f"The difference is within the seed-to-seed spread (std up to {100 * spread:.1f} "
            f"points, {len(pairs)} seeds): these numbers do not show that guidance helped "
            "on this model."
        )
    else:
        lines.append(
            f"The difference exceeds the seed-to-seed std ({100 * spread:.1f} points) over "
            f"{len(pairs)} seeds: guidance {'helped' if diff > 0 else 'hurt'} on this model."
        )
    steps = len(seeds[0]["methods"]["glov"]["curve"]) - 1
    norm = "n/a (never steered)" if g["norm_mean"] is None else f"{g['norm_mean']:.3f}"
    lines.append(
        f"What guidance had to work with: guided steps per seed {g['guided_steps']} (of "
        f"{steps}), mean steering-vector norm {norm}, and the fitness of the templates "
        f"an arm scored varies with std "
        f"{percent(u['candidate_fitness_std'])} points (unguided) / "
        f"{percent(g['candidate_fitness_std'])} (GLOV): the room the VLM leaves for a "
        "template to matter."
    )
    return lines


def render_markdown(result: dict) -> str:
    agg, cfg = result["aggregate"], result["settings"]
    lines = [
        "# GLOV in miniature: methods on the trained dual encoder",
        "",
        f"{cfg['vlm']} on {cfg['dataset']}, optimizer {cfg['llm']}; "
        f"{len(result['seeds'])} seed(s) {cfg['seeds']} (each moves the data split and "
        f"the sampling), {cfg['steps']} steps of {cfg['candidates']} candidates, "
        f"fitness split {cfg['shots']} shots/class, test {cfg['test_per_class']}/class, "
        f"GLOV alphas {cfg['alphas']} (selected by fitness per seed). "
        f"Wall time {result['wall_seconds'] / 60:.1f} min on {result['machine']['cpu_count']} "
        f"CPU(s) ({result['machine']['platform']}, {result['machine']['date']}).",
        "",
        "Test top-1 (%), mean ± std (min-max) over seeds:",
        "",
        "| Method | best template | top-3 ensemble | best fitness | guided steps "
        "| steering norm (mean) |",
        "|---|---|---|---|---|---|",
        f"| S-TEMP | {_cell(agg['s_temp']['test_best'])} | - | - | - | - |",
        f"| DS-TEMP ({result['seeds'][0]['ds_set']}) | - | "
        f"{_cell(agg['ds_temp']['test_best'])} | - | - | - |",
    ]
    for m in METHODS:
        if m in agg:
            a = agg[m]
            norm = "-" if a["norm_mean"] is None else f"{a['norm_mean']:.3f}"
            lines.append(
                f"| {LABELS[m]} | {_cell(a['test_best'])} | {_cell(a['test_top_n'])} | "
                f"{_cell(a['best_fitness'])} | {a['guided_steps']} | {norm} |"
            )
    lines += [
        "",
        "LLM answers over all seeds (every answer is clean, repaired or rejected, "
        "never scored when rejected):",
        "",
        "| Method | answers | clean | repaired | rejected by reason |",
        "|---|---|---|---|---|",
    ]
    for m in METHODS:
        if m in agg:
            a = agg[m]["answers"]
            reasons = ", ".join(f"{k} {v}" for k, v in sorted(a["rejected"].items())) or "-"
            lines.append(
                f"| {LABELS[m]} | {a['generated']} | {a['clean']} ({percent(a['clean_rate'])} %) "
                f"| {a['repaired']} | {reasons} |"
            )
    lines += ["", "## Did guidance help?", "", *verdict(result["seeds"], agg), ""]
    if "glov" in agg:
        lines.append(f"Selected alpha per seed: {agg['glov']['selected_alphas']}.")
        lines.append("")
    secs = ", ".join(
        f"{LABELS[m]} {agg[m]['step_seconds_mean']:.0f} s"
        for m in METHODS
        if agg.get(m, {}).get("step_seconds_mean") is not None
    )
    lines += [
        "LLM-OPT's step 0 also scores its initial pool (search.llm_opt_pool), so its "
        "curve starts above the seed template's fitness, where GLOV's arms start.",
        "",
    ]
    lines += [f"Mean wall time of one step of one arm: {secs}.", ""]
    lines += [f"![mean best fitness per step]({result['plot']})", ""]
    if result["settings"]["quick"]:
        lines += ["**--quick run: a code check, not a measurement.**", ""]
    return "\n".join(lines)


def plot(result: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4), dpi=100)
    for method in METHODS:
        curves = [s["methods"][method]["curve"] for s in result["seeds"] if method in s["methods"]]
        if not curves:
            continue
        n = min(len(c) for c in curves)
        cols = [[100 * c[i] for c in curves] for i in range(n)]
        mean = [statistics.fmean(c) for c in cols]
        # Dashed: the unguided arm's curve is often GLOV's own until guidance starts.
        style, z = ("--", 3) if method == "glov-noguide" else ("-", 2)
        (line,) = ax.plot(range(n), mean, style, label=LABELS[method], marker=".", zorder=z)
        # Shaded: min to max over seeds, the whole spread rather than a std band.
        ax.fill_between(
            range(n),
            [min(c) for c in cols],
            [max(c) for c in cols],
            alpha=0.15,
            color=line.get_color(),
        )
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.set_xlabel("step")
    ax.set_ylabel("best fitness so far (%)")
    ax.set_title(f"mean over {len(result['seeds'])} seed(s), shaded: min-max")
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    from glov.runs.loaded_models import Models
    from glov.runs.loop import run_search
    from glov.runs.rundir import RunDir

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seeds", type=int, default=3, help="seeds 0..N-1")
    parser.add_argument("--steps", type=int, default=12)
    parser.add_argument("--candidates", type=int, default=6)
    # 50 shots x 10 classes = 500 fitness images: fitness moves in 0.2% steps.
    parser.add_argument("--shots", type=int, default=50)
    parser.add_argument("--test-per-class", type=int, default=100)
    parser.add_argument("--alphas", type=float, nargs="+", default=[1.0, 0.5])
    parser.add_argument("--profile", default="smoke")
    parser.add_argument("--llm", help="optimizer LLM (default: the profile's llm.model)")
    parser.add_argument("--out", default="bench/quality.json", help=".md and .png go beside it")
    parser.add_argument("--runs", help="keep the run directories here (default: a temp dir)")
    parser.add_argument("--quick", action="store_true", help="1 seed, 2 steps: a code check")
    args = parser.parse_args(argv)
    if args.quick:
        args.seeds, args.steps = 1, 2
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    seeds, scorer, llm = [], None, None
    with tempfile.TemporaryDirectory() as tmp:
        root = args.runs or tmp
        for seed in range(args.seeds):
            cfg = load_config(args.profile, overrides(args, seed))
            run, cfg = RunDir.open(root, f"quality-seed{seed}-{time.strftime('%H%M%S')}", cfg)
            # The scorer and LLM load once; every seed's run reuses them.
            models = Models(cfg, scorer=scorer, llm=llm, run=run)
            t0 = time.perf_counter()
            report = run_search(cfg, run, models)
            scorer, llm = models.scorer, models.llm
            seeds.append(seed_result(cfg, run, report) | {"wall_seconds": time.perf_counter() - t0})
            print(f"[quality] seed {seed}: {time.perf_counter() - t0:.0f} s", flush=True)
    result = {
        "machine": machine(),
        "settings": {
            "profile": args.profile,
            "vlm": f"{cfg.vlm.model} ({cfg.vlm.pretrained})",
            "llm": cfg.llm.model,
            "dataset": cfg.data.uri,
            "seeds": list(range(args.seeds)),
            "steps": args.steps,
            "candidates": args.candidates,
            "shots": args.shots,
            "test_per_class": args.test_per_class,
            "alphas": args.alphas,
            "quick": args.quick,
        },
        "seeds": seeds,
        "aggregate": aggregate(seeds),
        "wall_seconds": time.perf_counter() - started,
        "plot": out.with_suffix(".png").name,
    }
    out.write_text(json.dumps(result, indent=2))
    out.with_suffix(".md").write_text(render_markdown(result))
    plot(result, out.with_suffix(".png"))
    print(out.with_suffix(".md").read_text())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
