"""Dataset loading (ImageFolder, CSV, pkg://animal-mnist), k-shot splits, errors."""

from __future__ import annotations

import os
import random
import shutil
from pathlib import Path

import pytest
from PIL import Image

from glov.config import DataConfig
from glov.data import Dataset, load_dataset, load_image, make_splits, prepare_data
from glov.data.packaged import ANIMAL_MNIST_CLASSES
from glov.errors import DataError


def write_png(path: Path, seed: int, size: int = 8) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    Image.new("RGB", (size, size), tuple(rng.randrange(256) for _ in range(3))).save(path)


def image_folder(root: Path, counts: dict[str, int]) -> Path:
    seed = 0
    for cls, n in counts.items():
        for i in range(n):
            seed += 1
            write_png(root / cls / f"img{i:03d}.png", seed)
    return root


def load(uri: Path | str, cache: Path, **kw: object) -> Dataset:
    return load_dataset(DataConfig(uri=str(uri), **kw), cache)


@pytest.fixture(scope="module")
def animal_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # Materialising writes 10,000 PNGs; do it once for the whole module.
    cache = tmp_path_factory.mktemp("cache")
    load("pkg://animal-mnist", cache)
    return cache


# --- ImageFolder -------------------------------------------------------------


def test_image_folder_classes_sorted_with_readable_names(tmp_path: Path) -> None:
    root = image_folder(tmp_path / "pets", {"golden_retriever": 3, "ant-eater": 2, "cat": 4})
    write_png(root / "cat" / "nested" / "deep.PNG", 99)  # subfolders and upper-case suffix
    (root / "cat" / "notes.txt").write_text("not an image")
    (root / "cat" / "._img000.png").write_bytes(b"macOS resource fork")  # hidden: skipped
    ds = load(root, tmp_path / "cache")
    assert ds.classnames == ["ant eater", "cat", "golden retriever"]
    assert ds.name == "pets"
    assert [ds.labels.count(i) for i in range(3)] == [2, 5, 3]
    assert all(os.path.isabs(p) and os.path.isfile(p) for p in ds.paths)
    assert any(p.endswith("deep.PNG") for p in ds.paths)
    assert not any("notes.txt" in p or "._img" in p for p in ds.paths)
    # Labels follow the folder each image sits in.
    for path, label in zip(ds.paths, ds.labels, strict=True):
        folder = Path(path).relative_to(root).parts[0]
        assert folder == ["ant-eater", "cat", "golden_retriever"][label]
    assert ds.description.startswith("An image classification dataset of 3 categories")
    assert "golden retriever" in ds.description


def test_dataset_yaml_metadata_and_config_overrides(tmp_path: Path) -> None:
    root = image_folder(tmp_path / "d", {"n01": 2, "n02": 2, "n03": 2})
    (root / "dataset.yaml").write_text(
        "name: Tiny Birds\n"
        "description: Three bird species photographed in the wild.\n"
        "classnames: {n01: blue jay, n03: house sparrow}\n"
    )
    ds = load(root, tmp_path / "c")
    assert ds.name == "Tiny Birds"
    assert ds.description == "Three bird species photographed in the wild."
    assert ds.classnames == ["blue jay", "n02", "house sparrow"]

    over = load(root, tmp_path / "c", name="B", description="D", classnames=["x", "y", "z"])
    assert (over.name, over.description, over.classnames) == ("B", "D", ["x", "y", "z"])


def test_dataset_yaml_classnames_for_unknown_folder(tmp_path: Path) -> None:
    root = image_folder(tmp_path / "d", {"a": 2, "b": 2})
    (root / "dataset.yaml").write_text("classnames: {a: apple, c: cherry}\n")
    with pytest.raises(DataError, match=r"folders that do not exist: c") as exc:
        load(root, tmp_path / "c")
    assert "a, b" in str(exc.value)


def test_max_classes_keeps_first_classes(tmp_path: Path) -> None:
    root = image_folder(tmp_path / "d", {"a": 2, "b": 3, "c": 4, "d": 5})
    ds = load(root, tmp_path / "c", max_classes=2)
    assert ds.classnames == ["a", "b"]
    assert sorted(set(ds.labels)) == [0, 1] and len(ds.paths) == 5
    # classnames may name all classes or only the kept ones.
    assert load(root, tmp_path / "c", max_classes=2, classnames=["A", "B"]).classnames == [
        "A",
        "B",
    ]
    full = load(root, tmp_path / "c", max_classes=2, classnames=["A", "B", "C", "D"])
    assert full.classnames == ["A", "B"]


# --- CSV manifest ------------------------------------------------------------


def test_csv_manifest_relative_and_absolute_paths(tmp_path: Path) -> None:
    write_png(tmp_path / "data" / "imgs" / "z1.png", 1)
    write_png(tmp_path / "data" / "imgs" / "z2.png", 2)
    write_png(tmp_path / "elsewhere" / "a1.png", 3)
    write_png(tmp_path / "data" / "a2.png", 4)
    manifest = tmp_path / "data" / "manifest.csv"
    manifest.write_text(
        "path,label,comment\n"
        "imgs/z1.png,zebra_finch,first\n"
        f"{tmp_path / 'elsewhere' / 'a1.png'},albatross,absolute\n"
        "\n"
        "imgs/z2.png,zebra_finch,\n"
        "a2.png,albatross,x\n"
    )
    # A working directory other than the CSV's must not matter.
    ds = load(manifest, tmp_path / "cache")
    assert ds.name == "manifest"
    assert ds.classnames == ["albatross", "zebra finch"]  # sorted by label
    assert ds.paths == [
        str(tmp_path / "data" / "imgs" / "z1.png"),
        str(tmp_path / "elsewhere" / "a1.png"),
        str(tmp_path / "data" / "imgs" / "z2.png"),
        str(tmp_path / "data" / "a2.png"),
    ]
    assert ds.labels == [1, 0, 1, 0]


def test_csv_missing_column(tmp_path: Path) -> None:
    manifest = tmp_path / "m.csv"
    manifest.write_text("path,class\nx.png,cat\n")
    with pytest.raises(DataError, match=r"lacks column\(s\) label \(header: path, class\)") as e:
        load(manifest, tmp_path / "c")
    assert "path,label" in str(e.value)


def test_csv_row_with_missing_file_names_the_row(tmp_path: Path) -> None:
    write_png(tmp_path / "a.png", 1)
    manifest = tmp_path / "m.csv"
    manifest.write_text("path,label\na.png,cat\nmissing/b.png,dog\n")
    with pytest.raises(DataError, match=r"m.csv:3:1: image 'missing/b.png' does not exist") as e:
        load(manifest, tmp_path / "c")
    assert str(tmp_path / "missing" / "b.png") in str(e.value)
    assert "relative to the CSV's folder" in str(e.value)


# --- pkg://animal-mnist ------------------------------------------------------


def test_animal_mnist_materialised_once(animal_cache: Path) -> None:
    root = animal_cache / "datasets" / "animal-mnist.r2"
    ds = load("pkg://animal-mnist", animal_cache)
    assert ds.name == "Animal-MNIST"
    assert ds.classnames == list(ANIMAL_MNIST_CLASSES)
    # Half of each class: the other half trains the smoke VLM (tests/vlm/test_trained.py).
    assert [ds.labels.count(i) for i in range(10)] == [500] * 10
    assert all(p.startswith(str(root)) for p in ds.paths)
    assert "silhouette" in ds.description and "28x28" in ds.description
    img = load_image(ds.paths[0])
    assert img.size == (28, 28) and img.mode == "RGB"
    # No temporary build folder is left behind.
    assert sorted(p.name for p in (animal_cache / "datasets").iterdir()) == ["animal-mnist.r2"]

    files = sorted(root.rglob("*"))
    before = {p: p.stat().st_mtime_ns for p in files}
    again = load("pkg://animal-mnist", animal_cache)
    assert again.paths == ds.paths
    assert {p: p.stat().st_mtime_ns for p in sorted(root.rglob("*"))} == before


def test_animal_mnist_prepare_data_end_to_end(animal_cache: Path) -> None:
    cfg = DataConfig(uri="pkg://animal-mnist", shots=2, test_per_class=5, max_classes=3)
    ds, fit, test = prepare_data(cfg, animal_cache)
    assert ds.classnames == ["bear", "bird", "cat"]
    assert fit.labels == (0, 0, 1, 1, 2, 2)
    assert test.labels == (0,) * 5 + (1,) * 5 + (2,) * 5


def test_unknown_package_and_schemes(tmp_path: Path) -> None:
    with pytest.raises(
        DataError, match=r"(?s)no packaged dataset named 'cifar'.*pkg://animal-mnist"
    ):
        load("pkg://cifar", tmp_path)
    with pytest.raises(DataError, match=r"store layer"):
        load("s3://bucket/data", tmp_path)
    with pytest.raises(DataError, match=r"unsupported scheme 'http'://"):
        load("http://example.com/data.csv", tmp_path)


# --- splits ------------------------------------------------------------------


def test_splits_disjoint_balanced_reproducible(tmp_path: Path) -> None:
    ds = load(image_folder(tmp_path / "d", {"a": 10, "b": 12, "c": 9}), tmp_path / "c")
    fit, test = make_splits(ds, shots=3, test_per_class=4, seed=7)
    assert fit.labels == (0,) * 3 + (1,) * 3 + (2,) * 3
    assert test.labels == (0,) * 4 + (1,) * 4 + (2,) * 4
    assert not set(fit.paths) & set(test.paths)
    for path, label in zip(fit.paths + test.paths, fit.labels + test.labels, strict=True):
        assert ds.labels[ds.paths.index(path)] == label

    assert make_splits(ds, 3, 4, seed=7) == (fit, test)
    other_fit, other_test = make_splits(ds, 3, 4, seed=8)
    assert (other_fit.paths, other_test.paths) != (fit.paths, test.paths)

    # None takes every image not used for fitness.
    fit_all, test_all = make_splits(ds, 3, None, seed=7)
    assert fit_all == fit
    assert len(test_all) == 31 - 9
    assert set(fit_all.paths) | set(test_all.paths) == set(ds.paths)


def test_class_split_independent_of_other_classes(tmp_path: Path) -> None:
    root = image_folder(tmp_path / "d", {"a": 8, "b": 8})
    fit, _ = make_splits(load(root, tmp_path / "c"), 2, 3, seed=1)
    for i in range(20):
        write_png(root / "b" / f"extra{i}.png", 1000 + i)
    fit2, _ = make_splits(load(root, tmp_path / "c"), 2, 3, seed=1)
    assert fit2.paths[:2] == fit.paths[:2]  # class "a" unchanged


def test_content_key_tracks_bytes_not_location(tmp_path: Path) -> None:
    root = image_folder(tmp_path / "d", {"a": 4, "b": 4})
    fit, test = make_splits(load(root, tmp_path / "c"), 1, 2, seed=0)
    key = test.content_key()

    copy = tmp_path / "moved" / "d"
    shutil.copytree(root, copy)
    _, moved_test = make_splits(load(copy, tmp_path / "c"), 1, 2, seed=0)
    assert moved_test.paths != test.paths
    assert moved_test.content_key() == key

    write_png(Path(test.paths[0]), seed=12345, size=9)  # new bytes, same path
    assert test.content_key() != key
    assert fit.content_key() != key


# --- errors ------------------------------------------------------------------


def test_missing_directory(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"dataset .*nope does not exist") as e:
        load(tmp_path / "nope", tmp_path)
    assert "data.uri" in str(e.value)


def test_empty_directory_and_empty_class(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match=r"has no class folders") as e:
        load(tmp_path / "empty", tmp_path)
    assert "ImageFolder" in str(e.value)

    root = image_folder(tmp_path / "d", {"a": 2, "b": 2})
    (root / "c").mkdir()
    (root / "c" / "readme.txt").write_text("x")
    with pytest.raises(DataError, match=r"class folder\(s\) c in .* hold no images"):
        load(root, tmp_path)


def test_single_class(tmp_path: Path) -> None:
    root = image_folder(tmp_path / "d", {"only": 3})
    with pytest.raises(DataError, match=r"only 1 class \(only\).*at least 2"):
        load(root, tmp_path)


def test_unreadable_image_names_the_file(tmp_path: Path) -> None:
    root = image_folder(tmp_path / "d", {"a": 2, "b": 2})
    bad = root / "b" / "img000.png"
    bad.write_bytes(b"\x89PNG garbage, not an image")
    # shots=1 + all the rest: every image is in a split, so the bad one is checked.
    with pytest.raises(DataError, match=r"unreadable") as e:
        prepare_data(DataConfig(uri=str(root), shots=1), tmp_path / "c")
    assert str(bad) in str(e.value)


def test_fewer_images_than_shots(tmp_path: Path) -> None:
    root = image_folder(tmp_path / "d", {"a": 6, "small_cls": 3})
    with pytest.raises(DataError, match=r"class 'small cls' has 3 image\(s\)") as e:
        prepare_data(DataConfig(uri=str(root), shots=3), tmp_path / "c")
    assert "lower data.shots to 2" in str(e.value)


def test_duplicate_class_names(tmp_path: Path) -> None:
    root = image_folder(tmp_path / "d", {"a": 2, "b": 2, "c": 2})
    with pytest.raises(DataError, match=r"'Red  Fox' and 'red fox'.*same") as e:
        load(root, tmp_path, classnames=["Red  Fox", "red fox", "cat"])
    assert "distinct" in str(e.value)
    # Folder names that only differ by separators collide too.
    root2 = image_folder(tmp_path / "d2", {"sea_lion": 2, "sea-lion": 2})
    with pytest.raises(DataError, match=r"'sea lion' and 'sea lion'"):
        load(root2, tmp_path)


def test_empty_class_name(tmp_path: Path) -> None:
    root = image_folder(tmp_path / "d", {"a": 2, "b": 2})
    with pytest.raises(DataError, match=r"position\(s\) 1 \(data.classnames\) is empty"):
        load(root, tmp_path, classnames=["apple", "  "])


def test_classnames_of_wrong_length(tmp_path: Path) -> None:
    root = image_folder(tmp_path / "d", {"a": 2, "b": 2, "c": 2})
    with pytest.raises(DataError, match=r"has 2 names but the dataset has 3 classes: a, b, c"):
        load(root, tmp_path, classnames=["x", "y"])
