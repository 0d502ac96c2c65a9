"""Command line: `glov run`, `glov report` (and the pipeline commands).

Errors the user can fix (GlovError, store errors) print as `error: ...` with
the fix and exit 2; no traceback.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time

from glov.config import load_config, profile_names
from glov.errors import GlovError

log = logging.getLogger("glov")


def _add_config_args(p: argparse.ArgumentParser) -> None:
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


def split_run_dir(run_dir: str) -> tuple[str, str]:
    """`runs/abc` -> (root `runs`, run id `abc`); works for s3://bucket/prefix/abc too."""
    stripped = run_dir.rstrip("/")
    root, _, run_id = stripped.rpartition("/")
    if not run_id:
        raise GlovError(f"--run-dir {run_dir!r} names no run", "give a path such as runs/my-run")
    if "://" in run_dir and "://" not in root:
        raise GlovError(f"--run-dir {run_dir!r} has no run id after the bucket", "add /RUN_ID")
    return root or ".", run_id


def cmd_run(args: argparse.Namespace) -> int:
    from glov.rundir import RunDir
    from glov.search import run_search

    cfg = load_config(args.config, args.overrides)
    resume_id = args.resume if isinstance(args.resume, str) else None
    if args.run_dir:
        root, run_id = split_run_dir(args.run_dir)
    elif resume_id:
        root, run_id = cfg.store.uri, resume_id
    else:
        root, run_id = cfg.store.uri, f"{cfg.run.name}-{time.strftime('%Y%m%d-%H%M%S')}"
    run, cfg = RunDir.open(root, run_id, cfg, resume=bool(args.resume), force=args.force)
    if cfg.uses_random_weights:
        log.warning(
            "profile %r uses a randomly initialised VLM: accuracies are chance level", cfg.profile
        )
    log.info("run %s in %s", run_id, run.uri)
    try:
        report = run_search(cfg, run)
    except KeyboardInterrupt:
        print(
            f"\ninterrupted; continue with: glov run --config {args.config} "
            f"--run-dir {root}/{run_id} --resume",
            file=sys.stderr,
        )
        return 130
    _print_summary(report, run)
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from glov.report import write_report
    from glov.rundir import RunDir
    from glov.search import Models, load_or_prepare_data

    root, run_id = split_run_dir(args.run_dir)
    run = RunDir.existing(root, run_id)
    cfg = run.config()
    report = write_report(cfg, run, Models(cfg).scorer, load_or_prepare_data(cfg, run))
    _print_summary(report, run)
    return 0


def _print_summary(report: dict, run) -> None:
    print()
    if report.get("note"):
        print(f"NOTE: {report['note']}")
    b = report["baselines"]
    print(
        f"S-TEMP test accuracy: {100 * b['s_temp']['test']:.1f}%  "
        f"DS-TEMP: {100 * b['ds_temp']['test']:.1f}%"
    )
    for name, arm in report["arms"].items():
        print(
            f"{name:>18}: fitness {100 * arm['best_fitness']:.1f}%  test best "
            f"{100 * arm['test_best']:.1f}%  top-n {100 * arm['test_top_n']:.1f}%  "
            f"best: {arm['best_template']!r}"
        )
    path = run.store.local_path("report.md")
    print(f"Report: {path if path is not None else run.uri + '/report.md'}")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="glov", description="GLOV: an LLM as implicit optimizer of VLM prompt templates."
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run (or resume) an optimization in this process")
    _add_config_args(run)
    run.add_argument("--run-dir", help="run directory (default: <store.uri>/<run.name>-<time>)")
    run.add_argument(
        "--resume",
        nargs="?",
        const=True,
        default=False,
        metavar="RUN_ID",
        help="continue an existing run: the --run-dir, or RUN_ID under store.uri",
    )
    run.add_argument("--force", action="store_true", help="replace an existing run directory")
    run.set_defaults(func=cmd_run)

    report = sub.add_parser("report", help="(re)write report.json/.md/.png of a run")
    report.add_argument("run_dir", help="the run directory")
    report.set_defaults(func=cmd_report)

    from pipelines.cli import add_pipeline_commands  # compile, submit, run --local

    add_pipeline_commands(sub, run)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
    )
    for noisy in ("httpx", "urllib3", "huggingface_hub", "transformers", "matplotlib"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        return args.func(args)
    except GlovError as exc:
        print(f"error: {exc.problem}", file=sys.stderr)
        if exc.fix:
            print(f"  fix: {exc.fix}", file=sys.stderr)
        return 2
    except _store_errors() as exc:
        print(f"error: object store: {exc}", file=sys.stderr)
        return 2


def _store_errors() -> tuple[type[BaseException], ...]:
    from glov.store import StoreError

    return (StoreError,)


if __name__ == "__main__":
    raise SystemExit(main())
