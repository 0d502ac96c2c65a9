"""Evaluation sharded over pods gives exactly the unsharded fitnesses and test accuracies.

A random-init tiny CLIP scores coloured squares (the VLM tests' images): its
predictions vary between images and templates, so wrong merges would show.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from glov.config import VLMConfig, load_config
from glov.data import DataBundle, Split
from glov.runs.evaluation import final_counts, final_evaluation, final_items
from glov.search import step as stages
from glov.search.arms import arms_for
from glov.search.shards import (
    ShardCounts,
    accuracies_from_counts,
    merge_counts,
    shard_split,
    template_counts,
    to_count,
)
from glov.search.state import ArmState

CLASSNAMES = ["red square", "green square", "blue square", "yellow square"]
COLOURS = [(220, 30, 30), (30, 200, 40), (40, 50, 230), (230, 220, 40)]
TEMPLATES = ["a photo of a {}.", "{}", "a blurry picture of the {}, drawn badly.", "the {} shape"]
SHARDS = [1, 2, 3, 4, 7, 30]  # 30: more shards than images, some slices are empty


@pytest.fixture(scope="module")
def split(tmp_path_factory) -> Split:
    """4 classes x 5 images with a shifted inverse-colour square: 20 images."""
    root = tmp_path_factory.mktemp("images")
    paths, labels = [], []
    for label, colour in enumerate(COLOURS):
        for i in range(5):
            img = Image.new("RGB", (32, 32), colour)
            inverse = tuple(255 - c for c in colour)
            ImageDraw.Draw(img).rectangle([2 + 4 * i, 3 * i, 10 + 4 * i, 8 + 3 * i], fill=inverse)
            path = Path(root) / f"{label}-{i}.png"
            img.save(path)
            paths.append(str(path))
            labels.append(label)
    return Split(tuple(paths), tuple(labels))


@pytest.fixture(scope="module")
def scorer(tmp_path_factory):
    from glov.vlm.clip import ClipScorer

    cfg = VLMConfig(model="glov-tiny-vit", pretrained=None, device="cpu", batch_size=8)
    return ClipScorer(cfg, tmp_path_factory.mktemp("cache"))


def _sharded(score, split: Split, shards: int) -> tuple[list[int | None], int]:
    """Score each shard's slice as its pod would, then merge as rank does."""
    parts = []
    for shard in range(shards):
        part = shard_split(split, shard, shards)
        parts.append(ShardCounts(shard, shards, len(part), score(part)))
    return merge_counts(parts)


@pytest.mark.parametrize("shards", SHARDS)
def test_shards_partition_the_split(split, shards):
    parts = [shard_split(split, s, shards) for s in range(shards)]
    assert sorted(p for part in parts for p in part.paths) == sorted(split.paths)
    assert sum(len(p) for p in parts) == len(split)
    assert parts == [shard_split(split, s, shards) for s in range(shards)]  # deterministic


@pytest.mark.parametrize("shards", SHARDS)
def test_sharded_fitness_is_identical(scorer, split, shards):
    too_long = "word " * scorer.tokenizer.context_length + "{}"
    templates = [*TEMPLATES, too_long]
    unsharded = stages.evaluate(scorer, templates, split, CLASSNAMES)
    correct, images = _sharded(
        lambda part: template_counts(scorer, templates, part, CLASSNAMES), split, shards
    )
    assert images == len(split)
    assert accuracies_from_counts(correct, images) == unsharded  # the same floats
    assert unsharded[-1] is None  # beyond the context in every shard alike
    # ... and they are the VLM's accuracies (float32 there).
    direct = scorer.accuracies(TEMPLATES, split, CLASSNAMES)
    assert unsharded[:-1] == pytest.approx(direct, abs=1e-6)
    assert len(set(unsharded[:-1])) > 1  # the templates score differently: a real check


class _Run:
    """The run directory as final_evaluation reads it: step records per arm."""

    def __init__(self, records: dict[str, list[dict]]):
        self.records = records

    def steps(self, arm: str) -> list[dict]:
        return self.records.get(arm, [])


@pytest.fixture(scope="module")
def finished(scorer, split):
    """A config with several arms, each with a seed step and one step of scored templates."""
    cfg = load_config("smoke", ["search.compare_with=[llm-opt]", "eval.top_n=3"])
    records = {}
    for arm in arms_for(cfg):
        state = ArmState(arm)
        seed = stages.seed_generation(cfg, arm.method)
        fit = stages.evaluate(scorer, seed.templates, split, CLASSNAMES)
        arm_records = [stages.rank(cfg, state, 0, seed, fit)]
        gen = stages.Generation(TEMPLATES, {}, answers=TEMPLATES)
        fit = stages.evaluate(scorer, TEMPLATES, split, CLASSNAMES)
        arm_records.append(stages.rank(cfg, state, 1, gen, fit))
        records[arm.name] = arm_records
    data = DataBundle("squares", "coloured squares", CLASSNAMES, split, split)
    return cfg, _Run(records), data


@pytest.mark.parametrize("shards", [2, 3])
def test_sharded_final_evaluation_is_identical(scorer, finished, shards):
    cfg, run, data = finished
    items = final_items(cfg, run, data)
    assert {i.key for i in items} >= {"s_temp", "ds_temp"}
    assert any(i.ensemble and len(i.templates) == 3 for i in items)  # the top-3 ensembles
    correct, images = _sharded(
        lambda part: final_counts(scorer, items, part, CLASSNAMES), data.test, shards
    )
    counts = {i.key: c for i, c in zip(items, correct, strict=True)}
    sharded = final_evaluation(cfg, run, None, data, counts)
    assert sharded == final_evaluation(cfg, run, scorer, data)
    assert len(sharded["arms"]) == len(arms_for(cfg)) >= 2


def test_final_counts_are_the_vlm_accuracies(scorer, finished):
    cfg, run, data = finished
    items = final_items(cfg, run, data)
    report = final_evaluation(cfg, run, scorer, data)
    seed = cfg.search.seed_template
    assert report["baselines"]["s_temp"]["test"] == pytest.approx(
        scorer.accuracy(seed, data.test, CLASSNAMES), abs=1e-6
    )
    top_n = next(i for i in items if i.key.endswith("/top_n"))
    arm = top_n.key.split("/")[0]
    assert report["arms"][arm]["test_top_n"] == pytest.approx(
        scorer.ensemble_accuracy(list(top_n.templates), data.test, CLASSNAMES), abs=1e-6
    )


def test_an_empty_slice_counts_zero_without_the_vlm(finished):
    cfg, run, data = finished

    class NoVLM:
        def fits_context(self, templates, classnames):
            return [True] * len(templates)

        def __getattr__(self, name):
            raise AssertionError(f"an empty slice called the scorer's {name}")

    empty = shard_split(data.test, 29, 30)  # 20 images, 30 shards
    items = final_items(cfg, run, data)
    assert final_counts(NoVLM(), items, empty, CLASSNAMES) == [0] * len(items)
    assert template_counts(NoVLM(), TEMPLATES, empty, CLASSNAMES) == [0] * len(TEMPLATES)


def test_merge_refuses_missing_or_inconsistent_shards():
    a = ShardCounts(0, 2, 3, [1, None])
    b = ShardCounts(1, 2, 2, [2, None])
    assert merge_counts([b, a]) == ([3, None], 5)  # any order
    with pytest.raises(ValueError, match="not exactly shards 0..1"):
        merge_counts([a])
    with pytest.raises(ValueError, match="not exactly shards"):
        merge_counts([a, a])
    with pytest.raises(ValueError, match="scored by some shards"):
        merge_counts([a, ShardCounts(1, 2, 2, [2, 1])])


def test_an_accuracy_that_is_no_fraction_of_the_images_is_refused():
    assert to_count(7 / 9, 9) == 7
    assert to_count(float(np.float32(7 / 9)), 9) == 7  # float32 rounding
    with pytest.raises(ValueError, match="not a fraction of 9 images"):
        to_count(0.5, 9)
