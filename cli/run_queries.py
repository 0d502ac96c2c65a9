"""Run queries: `glov list`, `glov show`, `glov compare`, `glov export`.

They read run directories only (no models, except `export`'s classifier head),
so they work on a running run and on an s3:// store alike. A damaged or
inconsistent record (glov.runs.integrity) is printed as an error paragraph
after what could be read, and the exit status is then 2.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator

from cli.common import pct, print_errors, split_run_dir
from cli.path_origins import default_export_dir
from glov.config import StoreConfig
from glov.errors import GlovError, RunDirError
from glov.os_errors import check_creatable
from glov.runs.answer_quality import quality_line
from glov.runs.catalog import RunSummary, run_ids, summarize
from glov.runs.rundir import RunDir


def add_run_management_commands(sub: argparse._SubParsersAction) -> None:
    ls = sub.add_parser("list", help="the runs in a store: state, steps done, best fitness")
    ls.add_argument(
        "root", nargs="?", default=StoreConfig().uri, help="store root (default: %(default)s)"
    )
    ls.set_defaults(func=cmd_list)

    show = sub.add_parser("show", help="a run's progress per arm and its best templates")
    show.add_argument("run_dir", help="the run directory, e.g. runs/smoke-20261130-201408")
    show.set_defaults(func=cmd_show)

    cmp = sub.add_parser("compare", help="test accuracies of finished runs side by side")
    cmp.add_argument("run_dirs", nargs="+", metavar="run_dir")
    cmp.set_defaults(func=cmd_compare)

    exp = sub.add_parser(
        "export",
        help="write a finished run's best templates (JSON) and zero-shot classifier head",
    )
    exp.add_argument("run_dir")
    exp.add_argument("-o", "--output", help="output folder (default: <run_dir>-export)")
    exp.add_argument("--method", help="which method's selected arm (default: search.method)")
    exp.add_argument(
        "--no-head", action="store_true", help="only templates.json: do not load the VLM"
    )
    exp.set_defaults(func=cmd_export)


def _open(run_dir: str) -> RunDir:
    return RunDir.existing(*split_run_dir(run_dir))


def _steps(s: RunSummary) -> str:
    done = sorted({max(a.steps_done, 0) for a in s.arms})
    span = str(done[0]) if len(done) == 1 else f"{done[0]}-{done[-1]}"
    return f"{span}/{s.steps_target}"


def _summaries(
    runs: list[RunDir], errors: list[GlovError]
) -> Iterator[tuple[RunDir, RunSummary | None]]:
    """Each run with its summary, None when its config.yaml cannot be read (nothing else
    can be then); every damaged record goes to `errors`, to be printed after the table."""
    for run in runs:
        try:
            summary = summarize(run)
        except RunDirError as exc:
            errors.append(exc)
            yield run, None
            continue
        errors += [p.error() for p in summary.problems]
        yield run, summary


def cmd_list(args: argparse.Namespace) -> int:
    ids = run_ids(args.root)
    if not ids:
        print(f"no runs in {args.root}")
        return 0
    print(f"{'run':<36} {'profile':<12} {'state':<11} {'steps':>9} {'best fitness':>12}")
    errors: list[GlovError] = []
    for run, s in _summaries([RunDir.existing(args.root, i) for i in ids], errors):
        if s is None:
            print(f"{run.run_id:<36} {'?':<12} {'damaged':<11} {'?':>9} {'-':>12}")
            continue
        best = s.best.best_fitness if s.best else None
        print(f"{s.run_id:<36} {s.profile:<12} {s.state:<11} {_steps(s):>9} {pct(best):>12}")
    return print_errors(errors)


def cmd_show(args: argparse.Namespace) -> int:
    s = summarize(_open(args.run_dir))
    print(f"run {s.run_id} ({s.profile}) in {s.uri}: {s.state}, created {s.created or '?'}")
    for a in s.arms:
        done = max(a.steps_done, 0)
        print(
            f"  {a.name:>18}: step {done}/{s.steps_target}  best fitness {pct(a.best_fitness)}"
            f"  guided steps {a.guided_steps}  best: {a.best_template!r}"
        )
        print(f"  {'':>18}  {quality_line(a.answers)}")
    if len({a.steps_done for a in s.arms}) > 1:
        print("  note: the arms finished different numbers of steps")
    if s.report is not None:
        b = s.report["baselines"]
        print(f"  test: S-TEMP {pct(b['s_temp']['test'])}  DS-TEMP {pct(b['ds_temp']['test'])}")
        for name, arm in s.report["arms"].items():
            print(
                f"  {name:>18}: test best {pct(arm['test_best'])}  top-n {pct(arm['test_top_n'])}"
            )
    return print_errors([p.error() for p in s.problems])


def cmd_compare(args: argparse.Namespace) -> int:
    print(f"{'run':<36} {'method':<13} {'arm':<18} {'test best':>9} {'top-n':>7} {'S-TEMP':>7}")
    errors: list[GlovError] = []
    for run, s in _summaries([_open(d) for d in args.run_dirs], errors):
        if s is None:
            print(f"{run.run_id:<36} not finished (damaged)")
            continue
        if s.report is None:
            print(f"{s.run_id:<36} not finished ({s.state}, {_steps(s)} steps)")
            continue
        r = s.report
        for method, name in sorted(r["selected"].items()):
            arm = r["arms"][name]
            print(
                f"{s.run_id:<36} {method:<13} {name:<18} {pct(arm['test_best']):>9} "
                f"{pct(arm['test_top_n']):>7} {pct(r['baselines']['s_temp']['test']):>7}"
            )
    return print_errors(errors)


def cmd_export(args: argparse.Namespace) -> int:
    from glov.runs.export import export_run, require_report
    from glov.runs.inputs import load_or_prepare_data

    run = _open(args.run_dir)
    cfg = run.config()
    report = require_report(cfg, run)
    out = args.output or default_export_dir(args.run_dir)
    check_creatable(out, "dir")  # before the models load
    data = load_or_prepare_data(cfg, run)
    scorer = None
    if not args.no_head:
        from glov.runs.loaded_models import Models

        scorer = Models(cfg, run=run).scorer
    for path in export_run(cfg, report, data, out, scorer, args.method):
        print(f"wrote {path}")
    return 0
