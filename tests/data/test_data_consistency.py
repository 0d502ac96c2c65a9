"""Readable but inconsistent data is refused, naming the file, line or class.

Damaged images whatever Pillow raises for them, repeated images (which could
sit in both the fitness and the test split), and class names that name a
different label than the one they are applied to.
"""

from __future__ import annotations

import os
import random
from pathlib import Path

import pytest
from PIL import Image

from glov.config import DataConfig
from glov.data.dataset import load_image
from glov.data.loaders import load_dataset
from glov.data.splits import prepare_data
from glov.errors import DataError
from tests.data.bad_images import png_claiming


def png(path: Path, seed: int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (8, 8), tuple(random.Random(seed).randrange(256) for _ in range(3))).save(path)
    return path


def manifest(root: Path, labels: dict[str, int], extra_rows: list[str] = ()) -> Path:
    rows, seed = [], 0
    for label, n in labels.items():
        for i in range(n):
            seed += 1
            png(root / f"{label}{i}.png", seed)
            rows.append(f"{label}{i}.png,{label}")
    path = root / "m.csv"
    path.write_text("path,label\n" + "\n".join([*rows, *extra_rows]) + "\n")
    return path


def test_image_pillow_refuses_with_a_non_oserror_names_the_file(tmp_path):
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(png_claiming(20000, 20000))
    with pytest.raises(DataError, match=r"bomb\.png is unreadable \(DecompressionBombError"):
        load_image(str(bomb))


def test_image_whose_decoder_raises_valueerror_names_the_file(tmp_path, monkeypatch):
    # Pillow's decoders raise ValueError, SyntaxError, struct.error... for damaged
    # files; whatever the type, the error names the file.
    good = png(tmp_path / "odd.png", 1)

    def broken(self, mode=None, *args, **kwargs):
        raise ValueError("unsupported colour mode in file")

    monkeypatch.setattr(Image.Image, "convert", broken)
    with pytest.raises(DataError, match=r"odd\.png is unreadable \(ValueError"):
        load_image(str(good))


def test_repeated_manifest_row_is_refused_with_both_lines(tmp_path):
    path = manifest(tmp_path, {"cat": 3, "dog": 3}, ["./cat0.png,cat"])
    listed = r"m.csv:8:1: image './cat0.png' is already listed on line 2"
    with pytest.raises(DataError, match=listed):
        load_dataset(DataConfig(uri=str(path)), tmp_path / "c")


def test_image_listed_under_two_labels_is_refused(tmp_path):
    path = manifest(tmp_path, {"cat": 3, "dog": 3}, ["cat1.png,dog"])
    with pytest.raises(DataError, match=r"already listed on line 3"):
        load_dataset(DataConfig(uri=str(path)), tmp_path / "c")


def test_linked_image_is_refused_before_it_can_be_in_both_splits(tmp_path):
    root = tmp_path / "d"
    for label in ("a", "b"):
        for i in range(3):
            png(root / label / f"{i}.png", i + (10 if label == "b" else 0))
    os.symlink(root / "a" / "0.png", root / "a" / "3.png")
    with pytest.raises(DataError, match=r"lists the image .*0\.png twice"):
        prepare_data(DataConfig(uri=str(root), shots=1), tmp_path / "c")


def test_classnames_naming_other_labels_are_refused(tmp_path):
    path = manifest(tmp_path, {"cat": 3, "dog": 3})  # class order: cat, dog
    with pytest.raises(DataError, match=r"data.classnames\[0\] is 'Dog'.*class 'dog'") as e:
        load_dataset(DataConfig(uri=str(path), classnames=["Dog", "cat"]), tmp_path / "c")
    assert "cat, dog" in e.value.problem and "order" in e.value.fix
    # In the class order, or with names of their own, they are applied.
    same = load_dataset(DataConfig(uri=str(path), classnames=["cat", "Dog"]), tmp_path / "c")
    assert same.classnames == ["cat", "Dog"]
    own = load_dataset(DataConfig(uri=str(path), classnames=["kitty", "puppy"]), tmp_path / "c")
    assert own.classnames == ["kitty", "puppy"]


def test_integer_labels_take_numeric_class_order(tmp_path):
    # Names for labels 0..10 given in numeric order land on those labels (string
    # order would give label "10" the name meant for "2").
    path = manifest(tmp_path, {str(i): 2 for i in range(11)})
    names = [f"digit {i}" for i in range(11)]
    ds = load_dataset(DataConfig(uri=str(path), classnames=names), tmp_path / "c")
    by_path = dict(zip(ds.paths, ds.labels, strict=True))
    assert ds.classnames[by_path[str(tmp_path / "100.png")]] == "digit 10"
    assert ds.classnames[by_path[str(tmp_path / "20.png")]] == "digit 2"
