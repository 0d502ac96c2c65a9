"""The k-shot fitness split and the held-out test split of a dataset."""

from __future__ import annotations

import os
import random
from pathlib import Path

from glov.config import DataConfig
from glov.data.dataset import Dataset, Split, load_image
from glov.data.loaders import load_dataset
from glov.errors import DataError


def _check_no_repeats(ds: Dataset) -> None:
    """One image, one place: a file listed twice (the same path, or a link to it)
    could land in both the fitness and the test split, and test accuracy would
    then be measured on an image the search optimised for."""
    seen: dict[str, str] = {}
    for path in ds.paths:
        real = os.path.realpath(path)
        if real in seen:
            raise DataError(
                f"dataset {ds.name!r} lists the image {real} twice ({seen[real]} and {path})",
                "list every image once: remove the repeated entry or the link",
            )
        seen[real] = path


def make_splits(
    ds: Dataset, shots: int, test_per_class: int | None, seed: int
) -> tuple[Split, Split]:
    """Return (fitness, test): per class, `shots` images and then the next ones.

    Each class is shuffled by its own RNG (seed and class index), so a class's
    split does not depend on how many images other classes have.
    """
    if shots < 1:
        raise DataError(f"data.shots is {shots}", "set data.shots to 1 or more")
    _check_no_repeats(ds)
    by_class: list[list[str]] = [[] for _ in ds.classnames]
    for path, label in zip(ds.paths, ds.labels, strict=True):
        by_class[label].append(path)
    fit: list[tuple[str, int]] = []
    test: list[tuple[str, int]] = []
    for label, paths in enumerate(by_class):
        if len(paths) < shots + 1:
            raise DataError(
                f"class {ds.classnames[label]!r} has {len(paths)} image(s), but "
                f"{shots} shot(s) plus at least 1 test image need {shots + 1}",
                f"lower data.shots to {max(len(paths) - 1, 1)} or add images to that class",
            )
        order = list(paths)
        random.Random(f"{seed}:{label}").shuffle(order)
        rest = order[shots:] if test_per_class is None else order[shots : shots + test_per_class]
        fit.extend((p, label) for p in order[:shots])
        test.extend((p, label) for p in rest)

    def split(items: list[tuple[str, int]]) -> Split:
        return Split(tuple(p for p, _ in items), tuple(y for _, y in items))

    return split(fit), split(test)


def prepare_data(cfg: DataConfig, cache_dir: str | Path) -> tuple[Dataset, Split, Split]:
    """Load the dataset, split it, and check every split image opens."""
    ds = load_dataset(cfg, cache_dir)
    fit, test = make_splits(ds, cfg.shots, cfg.test_per_class, cfg.seed)
    # Fail now, naming the file, rather than deep inside feature extraction.
    for path in fit.paths + test.paths:
        load_image(path)
    return ds, fit, test
