"""Command line: `glov run`, `glov report`, `glov compile`, `glov submit`.

Errors the user can fix (GlovError, store errors) print as `error: ...` with
the fix and exit 2; no traceback.
"""

from __future__ import annotations

import argparse
import logging
import sys

from cli.pipeline import add_pipeline_commands
from cli.run import add_run_command
from glov.errors import GlovError
from glov.store import StoreError

NOISY_LOGGERS = ("httpx", "urllib3", "huggingface_hub", "transformers", "matplotlib")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="glov", description="GLOV: an LLM as implicit optimizer of VLM prompt templates."
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True)
    add_run_command(sub)
    add_pipeline_commands(sub)
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


if __name__ == "__main__":
    raise SystemExit(main())
