"""`glov build-vlm`: train the dual encoder a profile's `vlm.pretrained: build://NAME` names.

Runs also build it on first use; this command does it up front (e.g. before a
timed run, or in a container image) and prints what the weights scored.
"""

from __future__ import annotations

import argparse

from cli.common import add_config_args, config_from
from glov.errors import ConfigError
from glov.os_errors import check_creatable


def add_build_command(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "build-vlm",
        help="train the profile's built VLM weights (build://NAME) into run.cache_dir",
    )
    add_config_args(p)
    p.add_argument("--force", action="store_true", help="train again even if already built")
    p.set_defaults(func=cmd_build_vlm)


def cmd_build_vlm(args: argparse.Namespace) -> int:
    from glov.runs.inputs import cache_dir
    from glov.vlm.training import describe_weights, ensure_built, is_build_uri, recipe_for

    cfg = config_from(args)
    pretrained = cfg.vlm.pretrained
    if not is_build_uri(pretrained):
        raise ConfigError(
            f"vlm.pretrained is {pretrained!r}, not weights built here",
            "use a profile whose vlm.pretrained is build://NAME (e.g. --config smoke)",
        )
    recipe = recipe_for(pretrained)
    if recipe.model != cfg.vlm.model:
        raise ConfigError(
            f"{pretrained} trains model {recipe.model!r} but vlm.model is {cfg.vlm.model!r}",
            f"set vlm.model={recipe.model}",
        )
    check_creatable(cache_dir(cfg), "dir")  # where the weights go, before any work
    checkpoint = ensure_built(pretrained, cache_dir(cfg), force=args.force)
    print(f"weights: {checkpoint}")
    print(describe_weights(pretrained, cache_dir(cfg)))
    return 0
