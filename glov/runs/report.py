"""report.json, report.md and fitness.png of a finished run."""

from __future__ import annotations

import base64
import io
from collections.abc import Mapping
from typing import Any

from glov.config import GlovConfig, kinds
from glov.data import DataBundle
from glov.runs.answer_quality import markdown_table, quality_line
from glov.runs.evaluation import final_evaluation
from glov.runs.inputs import cache_dir
from glov.runs.percent import percent
from glov.runs.rundir import RunDir
from glov.vlm.scorer import Scorer
from glov.vlm.training import describe_weights

PLOT_FILE = "fitness.png"
RANDOM_WEIGHTS_NOTE = (
    "The VLM uses RANDOMLY INITIALISED weights (no pretrained weights in this profile): "
    "every accuracy is chance level by construction. The run exercises the real pipeline, "
    "not the method's gains."
)


def write_report(
    cfg: GlovConfig,
    run: RunDir,
    scorer: Scorer | None,
    data: DataBundle,
    counts: Mapping[str, int] | None = None,
) -> dict:
    """Evaluate the run on the test split; write report.json, report.md and fitness.png.

    `counts`: the test split's correct images per item, merged over the shards of a
    sharded final evaluation (then `scorer` may be None); see glov.runs.evaluation.
    """
    # An objective with a report section of its own (safety: per-subset ASR) also
    # gives the test counts the generic figures are computed from.
    section, objective = None, cfg.objective_kind
    if objective.report is not None:
        counts, section = kinds.load(objective.report).final_section(cfg, run, scorer, data)
    final = final_evaluation(cfg, run, scorer, data, counts)
    report = {
        "run_id": run.run_id,
        "run_uri": run.uri,
        "profile": cfg.profile,
        "random_vlm_weights": cfg.uses_random_weights,
        "note": RANDOM_WEIGHTS_NOTE if cfg.uses_random_weights else None,
        "dataset": {
            "name": data.name,
            "classes": len(data.classnames),
            "fitness_images": len(data.fitness),
            "test_images": len(data.test),
            "shots": cfg.data.shots,
            # The names the VLM was prompted with (safety: the requests, in safety_answers.json).
            **({"classnames": data.classnames} if section is None else {}),
        },
        "vlm": {
            "model": cfg.vlm.model,
            "pretrained": cfg.vlm.pretrained,
            # Where the weights come from and, for weights built here, how they were trained.
            "weights": describe_weights(cfg.vlm.pretrained, cache_dir(cfg))
            if cfg.vlm_kind.pretrained_weights
            else f"the files of {cfg.vlm.model} (vlm.pretrained applies to clip only)",
        },
        "llm": {"model": cfg.llm.model},
        "search": {
            "method": cfg.search.method,
            "steps": cfg.search.steps,
            "candidates": cfg.search.candidates,
            "seed": cfg.search.seed,
        },
        **final,
        **({objective.name: section} if section is not None else {}),
    }
    run.write_json("report.json", report, overwrite=True)
    run.store.write_text("report.md", render_markdown(report), overwrite=True)
    run.store.write_bytes(PLOT_FILE, plot_png(report), overwrite=True)
    return report


def _ds_set(ds: dict) -> str:
    # Reports written before the set was recorded have only the count.
    name = ds.get("set")
    count = f"{ds['templates']} templates"
    return f"`{name}` set, {count}" if name else count


def _weights(vlm: dict) -> str:
    # Reports written before `weights` was recorded have only the pretrained field.
    return vlm.get("weights") or vlm["pretrained"] or "random init"


def _classes_line(dataset: dict, shown: int = 8) -> list[str]:
    """The class names the VLM was prompted with (the first few); reports written before
    they were recorded, and safety runs, have none."""
    names = dataset.get("classnames")
    if not names:
        return []
    more = f", ... ({len(names)} in all)" if len(names) > shown else ""
    return [f"- Class names: {', '.join(names[:shown])}{more}"]


def _steps_note(report: dict) -> list[str]:
    """A line naming each arm's steps when they are not all search.steps (a resumed run
    whose arms had got to different steps keeps what each finished)."""
    steps = {name: arm["steps"] for name, arm in report["arms"].items()}
    if all(n == report["search"]["steps"] for n in steps.values()):
        return []
    listed = ", ".join(f"{name} {n}" for name, n in steps.items())
    return [f"- Steps per arm differ from search.steps: {listed}"]


def _own_section(report: dict) -> Any:
    """The report module of the objective whose section the report holds (safety), or None."""
    for objective in kinds.OBJECTIVES.values():
        if objective.report is not None and report.get(objective.name):
            return kinds.load(objective.report)
    return None


def render_markdown(report: dict) -> str:
    own = _own_section(report)
    lines = [f"# GLOV run `{report['run_id']}`", ""]
    if report.get("note"):
        lines += [f"> **Note:** {report['note']}", ""]
    d = report["dataset"]
    lines += [
        f"- Dataset: {d['name']} ({d['classes']} classes, {d['shots']}-shot fitness split of "
        f"{d['fitness_images']} images, {d['test_images']} test images)"
        if own is None
        else own.dataset_line(report),
        f"- VLM: {report['vlm']['model']} (weights: {_weights(report['vlm'])})",
        f"- Optimizer LLM: {report['llm']['model']}",
        f"- Search: {report['search']['method']}, {report['search']['steps']} steps x "
        f"{report['search']['candidates']} candidates, seed {report['search']['seed']}",
        *_classes_line(d),
        *_steps_note(report),
        "",
        f"![best fitness per step]({PLOT_FILE})",
        "",
        "## Test accuracy (top-1 %)",
        "",
        "| method | arm | fitness | test (best) | test (top-n ensemble) |",
        "|---|---|---|---|---|",
    ]
    b = report["baselines"]
    s_temp = b["s_temp"]  # "fitness" is absent in reports written before it was kept
    lines.append(
        f"| S-TEMP | `{s_temp['template']}` | {percent(s_temp.get('fitness'))} | "
        f"{percent(s_temp['test'])} | - |"
    )
    if b["ds_temp"].get("note"):  # not evaluated (a generative VLM)
        lines.append(f"| DS-TEMP | {b['ds_temp']['note']} | - | - | - |")
    else:
        lines.append(
            f"| DS-TEMP | {_ds_set(b['ds_temp'])} | - | - | {percent(b['ds_temp']['test'])} |"
        )
    selected = set(report["selected"].values())
    for name, arm in report["arms"].items():
        mark = " (selected)" if name in selected else ""
        lines.append(
            f"| {arm['method']} | {name}{mark} | {percent(arm['best_fitness'])} | "
            f"{percent(arm['test_best'])} | {percent(arm['test_top_n'])} |"
        )
    lines += [
        "",
        "## LLM answers",
        "",
        "Every answer is clean (a template as asked), repaired (a prefix, wrapper or extra "
        "text cut, or a class name mapped to the slot) or rejected (never scored).",
        "",
        *markdown_table(report["arms"]),
    ]
    lines += ["", *(own.markdown(report) if own else []), "## Best templates", ""]
    for name, arm in report["arms"].items():
        lines.append(f"### {name}")
        lines += [
            f"{i + 1}. `{t['template']}` (fitness {percent(t['fitness'])})"
            for i, t in enumerate(arm["top_templates"])
        ]
        lines += [
            "",
            f"Scored {arm['candidates_scored']} templates from {quality_line(arm)}. "
            f"Guided steps: {arm['guided_steps']}.",
            "",
        ]
    return "\n".join(lines)


def plot_png(report: dict) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4), dpi=100)
    for name, arm in report["arms"].items():
        ax.plot(range(len(arm["curve"])), [100 * v for v in arm["curve"]], marker="o", label=name)
    ax.set_xlabel("step")
    ax.set_ylabel("best fitness (top-1 %)")
    title = "GLOV: best fitness per step"
    if report.get("random_vlm_weights"):
        title += " (random VLM weights: chance level)"
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    buf = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return buf.getvalue()


def embed_plot(markdown: str, png: bytes) -> str:
    """The report's Markdown with fitness.png inlined as a data URI (one self-contained file)."""
    uri = "data:image/png;base64," + base64.b64encode(png).decode("ascii")
    link = f"]({PLOT_FILE})"
    if link in markdown:
        return markdown.replace(link, f"]({uri})")
    return markdown + f"\n\n![best fitness per step]({uri})\n"
