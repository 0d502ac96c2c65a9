"""Exporting a finished run's result in forms CLIP users load directly.

- templates.json: the selected arm's top-n templates, a JSON list of strings
  with one `{}` slot each (`template.format(classname)` works on them).
- zeroshot_head.safetensors (dual encoders only): the zero-shot classifier of
  that ensemble, `weight` [classes, dim] (L2-normalised class embeddings), so
  `logits = image_features @ weight.T`; the class names and model ride along
  in the file's metadata.
"""

from __future__ import annotations

import json
from pathlib import Path

from glov.config import GlovConfig
from glov.data import DataBundle
from glov.errors import RunDirError
from glov.runs.integrity import REPORT_KEY, check_run, damage_error
from glov.runs.rundir import RunDir
from glov.vlm.scorer import Scorer

TEMPLATES_FILE = "templates.json"
HEAD_FILE = "zeroshot_head.safetensors"


def selected_arm(report: dict, method: str) -> tuple[str, dict]:
    """The arm the report selected for `method` (the alpha sweep's winner by fitness)."""
    name = report["selected"].get(method)
    if name is None:
        raise RunDirError(
            f"the run's report has no arm of method {method!r}",
            f"choose one of: {', '.join(sorted(report['selected']))}",
        )
    return name, report["arms"][name]


def export_run(
    cfg: GlovConfig,
    report: dict,
    data: DataBundle,
    out_dir: str | Path,
    scorer: Scorer | None = None,
    method: str | None = None,
) -> list[Path]:
    """Write templates.json (and the classifier head when `scorer` can embed); the paths."""
    name, arm = selected_arm(report, method or cfg.search.method)
    templates = [t["template"] for t in arm["top_templates"]]
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = [out / TEMPLATES_FILE]
    written[0].write_text(json.dumps(templates, indent=2) + "\n")
    embed = getattr(scorer, "class_embeddings", None)
    if embed is not None:
        from safetensors.torch import save_file

        weight = embed(templates, data.classnames).float().cpu().contiguous()
        metadata = {
            "run_id": report["run_id"],
            "arm": name,
            "vlm_model": cfg.vlm.model,
            "vlm_pretrained": str(cfg.vlm.pretrained),
            "classnames": json.dumps(data.classnames),
            "templates": json.dumps(templates),
        }
        save_file({"weight": weight}, str(out / HEAD_FILE), metadata=metadata)
        written.append(out / HEAD_FILE)
    return written


def require_report(cfg: GlovConfig, run: RunDir) -> dict:
    """The report of a finished run: one whose records are whole and agree with it."""
    check = check_run(cfg, run)
    if check.problems:
        raise damage_error(check.problems, run)
    if check.report is None:
        if not run.has(REPORT_KEY):
            raise RunDirError(
                f"{run.uri} has no report yet",
                f"finish the run first, or run `glov report {run.location}`",
            )
        raise RunDirError(
            f"{run.where(REPORT_KEY)} does not cover the run's step records (the run is not "
            "finished, or went on after the report was written)",
            f"finish the run (glov run --config PROFILE --run-dir {run.location} --resume), or "
            f"write the report again from the records: glov report {run.location}",
        )
    return check.report
