"""Command line: `glov run`, `report`, `compile`, `submit`, `list`, `show`, `compare`, `export`.

Errors the user can fix (GlovError, store errors) print as `error: ...` with
the fix and exit 2; no traceback.
"""

from __future__ import annotations

import argparse
import errno
import logging
import sys

from cli.build import add_build_command
from cli.pipeline import add_pipeline_commands
from cli.run_command import add_run_command
from cli.run_queries import add_run_management_commands
from glov.errors import GlovError
from glov.store import StoreError

# The file system refusing a write (permissions, read-only, full disk, quota):
# the user's to fix, wherever in a run it happens.
ENVIRONMENT_ERRNOS = {errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOSPC, errno.EDQUOT}
NOISY_LOGGERS = ("httpx", "urllib3", "huggingface_hub", "transformers", "matplotlib")


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("glov-kfp")
    except PackageNotFoundError:  # a checkout run without installing the package
        return "unknown"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="glov", description="GLOV: an LLM as implicit optimizer of VLM prompt templates."
    )
    verbose_help = "more output: debug logging; with run --local, every task's output"
    parser.add_argument("-v", "--verbose", action="store_true", help=verbose_help)
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = parser.add_subparsers(dest="command", required=True)
    add_run_command(sub)
    add_pipeline_commands(sub)
    add_run_management_commands(sub)
    add_build_command(sub)
    # -v after the subcommand too (`glov run -v`). SUPPRESS: a subcommand without
    # the flag must not reset what `glov -v run` set before it.
    for command in sub.choices.values():
        command.add_argument(
            "-v", "--verbose", action="store_true", default=argparse.SUPPRESS, help=verbose_help
        )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
    )
    for noisy in NOISY_LOGGERS:
        logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        return args.func(args)
    except GlovError as exc:
        print(f"error: {exc.problem}", file=sys.stderr)
        if exc.fix:
            print(f"  fix: {exc.fix}", file=sys.stderr)
        return 2
    except StoreError as exc:
        print(f"error: object store: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        if exc.errno not in ENVIRONMENT_ERRNOS:
            raise  # any other OSError is a bug to fix, not a message to print
        print(f"error: {exc.strerror}: {exc.filename or ''}".rstrip(": "), file=sys.stderr)
        print(
            "  fix: free space, or choose a writable --run-dir, store.uri or run.cache_dir",
            file=sys.stderr,
        )
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
