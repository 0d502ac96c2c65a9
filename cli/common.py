"""What the commands share: config arguments, run directory arguments, the summary."""

from __future__ import annotations

import argparse
import sys

from glov.config import GlovConfig, load_config, profile_names
from glov.errors import GlovError
from glov.runs.answer_quality import quality_line
from glov.runs.percent import percent
from glov.runs.rundir import RunDir, default_run_id


def print_error(exc: GlovError) -> int:
    """One paragraph on stderr: `error: <problem>` and `  fix: <fix>`; exit status 2.

    Whitespace is folded so a message that embeds another tool's multi-line text
    stays one paragraph.
    """
    print(f"error: {' '.join(exc.problem.split())}", file=sys.stderr)
    if exc.fix:
        print(f"  fix: {' '.join(exc.fix.split())}", file=sys.stderr)
    return 2


def print_errors(errors: list[GlovError]) -> int:
    """Each error as its paragraph; exit status 2 if there were any, else 0."""
    for exc in errors:
        print_error(exc)
    return 2 if errors else 0


def add_config_args(p: argparse.ArgumentParser) -> None:
    """--config PROFILE_OR_YAML and repeatable --set KEY=VALUE."""
    p.add_argument(
        "--config",
        default="smoke",
        help=f"profile name ({', '.join(profile_names())}) or a YAML file (default: smoke)",
    )
    p.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a config field, e.g. --set llm.temperature=0.7 (repeatable)",
    )


def config_from(args: argparse.Namespace) -> GlovConfig:
    return load_config(args.config, args.overrides)


def split_run_dir(run_dir: str) -> tuple[str, str]:
    """`runs/abc` -> (root `runs`, run id `abc`); works for s3://bucket/prefix/abc too."""
    stripped = run_dir.rstrip("/")
    root, _, run_id = stripped.rpartition("/")
    if not run_id:
        raise GlovError(f"--run-dir {run_dir!r} names no run", "give a path such as runs/my-run")
    if "://" in run_dir and "://" not in root:
        raise GlovError(f"--run-dir {run_dir!r} has no run id after the bucket", "add /RUN_ID")
    return root or ".", run_id


def run_target(args: argparse.Namespace, cfg: GlovConfig) -> tuple[str, str]:
    """(store root, run id) from --run-dir, --resume RUN_ID, or the default <run.name>-<time>."""
    if args.run_dir:
        return split_run_dir(args.run_dir)
    if isinstance(args.resume, str):  # --resume RUN_ID: a run under store.uri
        return cfg.store.uri, args.resume
    return cfg.store.uri, default_run_id(cfg.run.name)


def pct(x: float | None) -> str:
    """A fraction as the CLI prints it: 0.854 -> "85.4%", None -> "-"."""
    return percent(x, "%")


def print_summary(report: dict, run: RunDir) -> None:
    """The baselines, each arm's fitness and test accuracy, and where the report is."""
    print()
    if report.get("note"):
        print(f"NOTE: {report['note']}")
    b = report["baselines"]
    print(
        f"S-TEMP fitness: {pct(b['s_temp'].get('fitness'))}  test: {pct(b['s_temp']['test'])}"
        f"  DS-TEMP test: {pct(b['ds_temp']['test'])}"
    )
    for name, arm in report["arms"].items():
        print(
            f"{name:>18} ({arm['steps']} steps): fitness {pct(arm['best_fitness'])}  "
            f"test best {pct(arm['test_best'])}  top-n {pct(arm['test_top_n'])}  "
            f"best: {arm['best_template']!r}"
        )
        if arm["generated"]:
            print(f"{'':>18} {quality_line(arm)}")
    for key, e in (report.get("safety") or {}).get("evaluated", {}).items():
        asr = ", ".join(f"{s} {pct(v.get('asr'))}" for s, v in e["subsets"].items() if "asr" in v)
        print(
            f"{key:>18} ASR {asr}; all unsafe {pct(e['asr'])}; over-refusal "
            f"{pct(e['over_refusal'])}"
        )
    path = run.store.local_path("report.md")
    print(f"Report: {path if path is not None else run.uri + '/report.md'}")
