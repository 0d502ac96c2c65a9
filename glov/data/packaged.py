"""Packaged datasets (`pkg://NAME`), materialised once into ImageFolder layout.

A packaged dataset ships as arrays inside a Python package. We write it out as
`<cache_dir>/datasets/<name>.r<revision>/<class>/<index>.png` plus a
`dataset.yaml`, so the rest of the code sees one layout only and the
image-feature cache can key it by file content like any user dataset.

Half of Animal-MNIST (a fixed rule, `encoder_training_index`) is never written:
it trains the smoke profile's dual encoder (glov.vlm.training), so no image a
run scores was seen in that training.
"""

from __future__ import annotations

import gzip
import importlib.util
import os
import pickle
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import yaml
from PIL import Image

from glov.errors import DataError
from glov.os_errors import explain, refusal

ANIMAL_MNIST_CLASSES = (
    "bear",
    "bird",
    "cat",
    "cow",
    "dog",
    "elephant",
    "giraffe",
    "horse",
    "sheep",
    "zebra",
)

ANIMAL_MNIST_DESCRIPTION = (
    "Animal-MNIST is a small image classification dataset of grayscale "
    "28x28 pixel images, 500 for each of 10 animal categories (bear, bird, cat, "
    "cow, dog, elephant, giraffe, horse, sheep and zebra). Each image is a white "
    "silhouette of a single animal on a plain black background, with no colour, "
    "fur texture or scene context (only zebras keep some stripes), so the "
    "category has to be recognised from the outline alone: body shape, posture, "
    "neck and leg length, head, ears and tail."
)


def _package_dir(package: str) -> Path:
    # find_spec locates the package without importing it: animal_mnist's modules
    # import tensorflow, which is neither installed nor needed to read its files.
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise DataError(
            f"the Python package {package!r} that ships this dataset is not installed",
            f"install it (`uv sync` installs {package.replace('_', '-')}) or use another data.uri",
        )
    return Path(spec.submodule_search_locations[0])


def _read_pickled_array(path: Path) -> np.ndarray:
    try:
        with gzip.open(path, "rb") as fh:
            # The file comes from an installed package, as trusted as its code.
            return np.asarray(pickle.load(fh))
    except (OSError, EOFError, pickle.UnpicklingError) as exc:
        raise DataError(
            f"packaged dataset file {path} cannot be read ({exc})",
            "reinstall the package that ships it",
        ) from None


def encoder_training_index(index: int) -> bool:
    """Whether Animal-MNIST image `index` trains the shipped dual encoder (glov build-vlm).

    A fixed rule, so the split holds on every machine: odd indices train the
    encoder, even ones are all that pkg://animal-mnist shows a run. The package
    sorts images by label, so each half keeps 500 images of every class.
    """
    return index % 2 == 1


def animal_mnist_arrays() -> tuple[np.ndarray, np.ndarray]:
    """All 10,000 Animal-MNIST images [N, 28, 28] uint8 and labels [N], checked."""
    src = _package_dir("animal_mnist") / "data" / "Animal_MNIST"
    images = _read_pickled_array(src / "animal_data_version_3.gz")
    labels = _read_pickled_array(src / "animal_label_version_3.gz")
    if (
        images.dtype != np.uint8
        or images.ndim != 3
        or images.shape[1:] != (28, 28)
        or labels.shape != (images.shape[0],)
        or labels.min() < 0
        or labels.max() >= len(ANIMAL_MNIST_CLASSES)
    ):
        raise DataError(
            f"packaged Animal-MNIST arrays in {src} have an unexpected layout "
            f"(images {images.dtype}{images.shape}, labels {labels.shape})",
            "reinstall animal-mnist==0.4, the version this loader reads",
        )
    return images, labels


def _write_animal_mnist(dest: Path) -> None:
    images, labels = animal_mnist_arrays()
    for name in ANIMAL_MNIST_CLASSES:
        (dest / name).mkdir()
    width = len(str(len(images) - 1))
    for index, (pixels, label) in enumerate(zip(images, labels, strict=True)):
        if encoder_training_index(index):
            continue  # never shown to a run: these images trained its encoder
        # Zero-padded global index: sorted file names keep the package's order.
        path = dest / ANIMAL_MNIST_CLASSES[int(label)] / f"{index:0{width}d}.png"
        Image.fromarray(pixels).save(path)
    meta = {
        "name": "Animal-MNIST",
        "description": ANIMAL_MNIST_DESCRIPTION,
        "license": "MIT (animal-mnist package)",
    }
    (dest / "dataset.yaml").write_text(yaml.safe_dump(meta, sort_keys=False))


PACKAGED: dict[str, Callable[[Path], None]] = {"animal-mnist": _write_animal_mnist}
# The cache folder of a packaged dataset is `<name>.<revision>`: a revision bump
# (animal-mnist 2: the encoder's training half left out) orphans older copies
# instead of reusing them.
REVISIONS = {"animal-mnist": 2}


def materialise(name: str, cache_dir: str | Path) -> Path:
    """Return the ImageFolder directory of packaged dataset `name`, writing it once.

    The folder is built in a temporary sibling and renamed into place, so a
    reader never sees a half-written dataset and concurrent first loads (several
    pipeline pods sharing one cache) settle on whichever finished first.
    """
    writer = PACKAGED.get(name)
    if writer is None:
        raise DataError(
            f"there is no packaged dataset named {name!r}",
            f"use one of {', '.join('pkg://' + n for n in sorted(PACKAGED))}, "
            "a directory or a CSV manifest",
        )
    parent = Path(cache_dir).expanduser() / "datasets"
    final = parent / f"{name}.r{REVISIONS[name]}" if name in REVISIONS else parent / name
    if final.is_dir():
        return final
    try:
        parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{name}.tmp-", dir=parent))
    except OSError as exc:
        raise refusal(exc, "run.cache_dir") from None
    try:
        writer(tmp)
        os.rename(tmp, final)
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        if final.is_dir():
            return final  # another process won the race; its copy is complete
        raise explain(exc, "run.cache_dir") or DataError(
            f"cannot write packaged dataset {name!r} to {final}: {exc}",
            "reinstall the package that ships it, or set run.cache_dir to another folder",
        ) from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return final
