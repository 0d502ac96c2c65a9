"""Tiny image splits and randomly initialised tiny CLIP scorers for the VLM tests."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

from glov.config import VLMConfig
from glov.data import Split
from glov.vlm.clip import ClipScorer

CLASSNAMES = ["red square", "green square", "blue square"]
COLOURS = [(220, 30, 30), (30, 200, 40), (40, 50, 230)]


def draw_square(path: Path, colour: tuple[int, int, int], offset: int, size: int = 32) -> None:
    # A colour-filled image with a small square of the complementary colour, shifted per
    # image: strong colour differences make even a random-init model's predictions vary.
    img = Image.new("RGB", (size, size), colour)
    inverse = (255 - colour[0], 255 - colour[1], 255 - colour[2])
    ImageDraw.Draw(img).rectangle([offset, offset, offset + 8, offset + 8], fill=inverse)
    img.save(path)


@pytest.fixture
def draw() -> Callable[..., None]:
    """Draws a square image (to change a split's file contents in a test)."""
    return draw_square


@pytest.fixture
def split(tmp_path: Path) -> Split:
    """3 classes x 2 PNG images of 32x32 coloured squares."""
    paths, labels = [], []
    root = tmp_path / "images"
    for label, colour in enumerate(COLOURS):
        (root / str(label)).mkdir(parents=True)
        for i in range(2):
            path = root / str(label) / f"{i}.png"
            draw_square(path, colour, offset=3 * i)
            paths.append(str(path))
            labels.append(label)
    return Split(tuple(paths), tuple(labels))


@pytest.fixture
def classnames() -> list[str]:
    return list(CLASSNAMES)


@pytest.fixture
def cache_dir(tmp_path: Path) -> Path:
    return tmp_path / "cache"


@pytest.fixture
def make_scorer(cache_dir: Path) -> Callable[..., ClipScorer]:
    def make(cache: Path | None = None, **overrides: object) -> ClipScorer:
        fields = {"model": "glov-tiny-vit", "pretrained": None, "device": "cpu", "batch_size": 4}
        fields.update(overrides)
        return ClipScorer(VLMConfig(**fields), cache_dir if cache is None else cache)

    return make
