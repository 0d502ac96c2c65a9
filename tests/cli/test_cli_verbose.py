"""`-v` works before and after the subcommand."""

from __future__ import annotations

import pytest

from cli.main import build_parser


@pytest.mark.parametrize(
    ("argv", "verbose"),
    [
        (["run", "--config", "smoke"], False),
        (["-v", "run", "--config", "smoke"], True),
        (["run", "-v", "--config", "smoke"], True),
        (["run", "--config", "smoke", "--verbose"], True),
        (["report", "runs/r", "-v"], True),
    ],
)
def test_verbose_flag_anywhere(argv: list[str], verbose: bool) -> None:
    assert build_parser().parse_args(argv).verbose is verbose
