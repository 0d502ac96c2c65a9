"""`glov run` (in this process, or the Kubeflow DAG on this machine with --local) and
`glov report`."""

from __future__ import annotations

import argparse
import logging
import sys

from cli.common import add_config_args, config_from, print_summary, run_target, split_run_dir
from glov.runs.rundir import RunDir, open_mode

log = logging.getLogger("glov")


def add_run_command(sub: argparse._SubParsersAction) -> None:
    run = sub.add_parser("run", help="run (or resume) an optimization")
    add_config_args(run)
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
    run.add_argument(
        "--local",
        action="store_true",
        help="run the Kubeflow pipeline DAG on this machine (kfp local SubprocessRunner, "
        "one process per task) instead of the in-process loop",
    )
    run.add_argument(
        "--containers",
        action="store_true",
        help="with --local (implied): each task in its image (glov-cpu, glov-gpu; "
        "`make images`) through kfp's DockerRunner, as on a cluster",
    )
    run.add_argument(
        "--pipeline-root", help="--local: where task artifacts go (default: <cache>/kfp-local)"
    )
    run.set_defaults(func=cmd_run)

    report = sub.add_parser("report", help="(re)write report.json/.md/.png of a run")
    report.add_argument("run_dir", help="the run directory")
    report.set_defaults(func=cmd_report)


def cmd_run(args: argparse.Namespace) -> int:
    return run_local(args) if args.local or args.containers else run_in_process(args)


def run_in_process(args: argparse.Namespace) -> int:
    from glov.runs.loop import run_search
    from glov.runs.start import start_run

    cfg = config_from(args)
    root, run_id = run_target(args, cfg)
    mode = open_mode(resume=bool(args.resume), force=args.force)
    # Every input is checked before the run directory is created (or replaced).
    run, cfg = start_run(cfg, root, run_id, mode)
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
    print_summary(report, run)
    return 0


def run_local(args: argparse.Namespace) -> int:
    from pipelines.local import run_local

    cfg = config_from(args)
    root, run_id = run_target(args, cfg)
    result = run_local(
        cfg,
        root=root,
        run_id=run_id,
        resume=bool(args.resume),
        force=args.force,
        pipeline_root=args.pipeline_root,
        verbose=args.verbose,
        containers=args.containers,
    )
    print_summary(result.report, RunDir.existing(root, result.run_id))
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from glov.runs.inputs import load_or_prepare_data
    from glov.runs.integrity import REPORT_KEY, check_run, damage_error
    from glov.runs.loaded_models import Models
    from glov.runs.report import write_report

    root, run_id = split_run_dir(args.run_dir)
    run = RunDir.existing(root, run_id)
    cfg = run.config()
    # A report is written from the step records: damaged ones would make it cover
    # less than they did. Only a damaged report.json is this command's to mend.
    damaged = [p for p in check_run(cfg, run).problems if p.key != REPORT_KEY]
    if damaged:
        raise damage_error(damaged, run)
    report = write_report(cfg, run, Models(cfg, run=run).scorer, load_or_prepare_data(cfg, run))
    print_summary(report, run)
    return 0
