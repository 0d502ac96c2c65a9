"""Command line: `glov run`, `report`, `compile`, `submit`, `list`, `show`, `compare`, `export`.

Errors the user can fix (GlovError, store errors) print as `error: ...` with
the fix and exit 2; no traceback.
"""

from __future__ import annotations

import argparse
import logging

from cli.build import add_build_command
from cli.common import print_error
from cli.path_origins import path_origins
from cli.pipeline import add_pipeline_commands
from cli.run_command import add_run_command
from cli.run_queries import add_run_management_commands
from glov.errors import GlovError
from glov.os_errors import explain, origin_of
from glov.store import StoreError

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
        return print_error(exc)
    except StoreError as exc:
        return print_error(
            GlovError(f"object store: {exc}", "check store.uri, its endpoint and credentials")
        )
    except OSError as exc:
        # The file system refusing something (one mapping for every command); the
        # fix names the option or setting the path came from.
        error = explain(exc, origin_of(exc.filename, path_origins(args)))
        if error is None:
            raise  # any other OSError is a bug to fix, not a message to print
        return print_error(error)


if __name__ == "__main__":
    raise SystemExit(main())
