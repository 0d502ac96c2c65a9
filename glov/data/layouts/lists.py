"""Datasets whose labels are in their own files rather than in class folders.

Each reader follows the files of the dataset's published archive (named in its
`expected`): Oxford-IIIT Pet's file names, Flowers102's imagelabels.mat,
Stanford Cars' devkit .mat files, FGVC Aircraft's variant lists, SUN397's
letter/class tree. A listed image that is missing is an error (an archive
extracted in part); images the lists do not name are not read.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from glov.data.classnames import car_name, flowers102_names, sun397_name, words
from glov.data.labelled import LabelledImages, images_under, is_image, subfolders
from glov.data.layouts import LayoutMismatch, first_dir, first_file, labelled


def _existing(path: Path, listed_in: Path) -> str:
    if not path.is_file():
        raise LayoutMismatch(f"{listed_in} lists the image {path}, which does not exist")
    return str(path.absolute())


def _loadmat(path: Path) -> dict[str, Any]:
    from scipy.io import loadmat  # only the .mat layouts need scipy

    try:
        return loadmat(str(path))
    except (OSError, ValueError, NotImplementedError) as exc:
        raise LayoutMismatch(f"{path} is not a readable MATLAB file ({exc})") from None


@dataclass(frozen=True)
class PetFileNames:
    """Oxford-IIIT Pet: images/<Breed_Name>_<n>.jpg; the breed is the file name's prefix."""

    expected: str = (
        "<data.uri>/images/<Breed>_<n>.jpg (Oxford-IIIT Pet's images.tar.gz extracted: "
        "Abyssinian_1.jpg, american_bulldog_10.jpg, ...)"
    )

    def read(self, root: Path) -> LabelledImages:
        base = first_dir(root, ("images", ""), "images")
        pattern = re.compile(r"(.+)_\d+")
        items = []
        for path in sorted(p for p in base.iterdir() if p.is_file() and is_image(p)):
            match = pattern.fullmatch(path.stem)
            if match is None:
                raise LayoutMismatch(f"image {path} is not named <Breed>_<number>.jpg")
            items.append((str(path.absolute()), match.group(1)))
        if not items:
            raise LayoutMismatch(f"{base} holds no images")
        # The dataset's class ids follow the breeds in alphabetical order, ignoring case.
        breeds = sorted({key for _, key in items}, key=lambda k: (k.casefold(), k))
        return labelled(breeds, {b: words(b.lower()) for b in breeds}, items)


@dataclass(frozen=True)
class FlowerLabels:
    """Oxford Flowers102: jpg/image_<00001>.jpg and imagelabels.mat (label 1..102 per image)."""

    expected: str = (
        "<data.uri>/jpg/image_00001.jpg ... and <data.uri>/imagelabels.mat (Flowers102's "
        "102flowers.tgz and imagelabels.mat side by side)"
    )

    def read(self, root: Path) -> LabelledImages:
        images = first_dir(root, ("jpg",), "jpg")
        mat = root / "imagelabels.mat"
        if not mat.is_file():
            raise LayoutMismatch(f"there is no {mat}")
        labels = _loadmat(mat).get("labels")
        if labels is None:
            raise LayoutMismatch(f"{mat} has no `labels` array")
        names = flowers102_names()
        items = []
        for i, label in enumerate(labels.ravel().tolist()):
            path = images / f"image_{i + 1:05d}.jpg"
            if path.is_file():  # the archive lists all 8,189; a subset may be present
                if not 1 <= int(label) <= len(names):
                    raise LayoutMismatch(f"{mat} gives image {i + 1} the label {label}, not 1-102")
                items.append((str(path.absolute()), str(int(label))))
        if not items:
            raise LayoutMismatch(f"none of the images {mat} labels is in {images}")
        keys = [str(n) for n in range(1, len(names) + 1)]
        return labelled(keys, {k: names[int(k) - 1] for k in keys}, items)


@dataclass(frozen=True)
class CarAnnotations:
    """Stanford Cars: devkit/cars_meta.mat (class names), devkit/cars_train_annos.mat with
    cars_train/, cars_test_annos_withlabels.mat with cars_test/."""

    expected: str = (
        "<data.uri>/devkit/cars_meta.mat, <data.uri>/devkit/cars_train_annos.mat with "
        "<data.uri>/cars_train/*.jpg, and/or cars_test_annos_withlabels.mat (in <data.uri> or "
        "devkit/) with <data.uri>/cars_test/*.jpg (the Stanford Cars archives and devkit)"
    )

    def read(self, root: Path) -> LabelledImages:
        meta = root / "devkit" / "cars_meta.mat"
        if not meta.is_file():
            raise LayoutMismatch(f"there is no {meta}")
        class_names = [str(n[0]) for n in _loadmat(meta)["class_names"].ravel()]
        splits = [
            (first_file(root, ("devkit/cars_train_annos.mat",), "train"), root / "cars_train"),
            (
                first_file(
                    root,
                    ("cars_test_annos_withlabels.mat", "devkit/cars_test_annos_withlabels.mat"),
                    "test",
                ),
                root / "cars_test",
            ),
        ]
        items = []
        for annos, images in splits:
            if annos is None:
                continue
            for record in _loadmat(annos)["annotations"].ravel():
                label = int(record["class"].ravel()[0])
                if not 1 <= label <= len(class_names):
                    raise LayoutMismatch(f"{annos} has the class {label}, not in cars_meta.mat")
                path = _existing(images / str(record["fname"].ravel()[0]), annos)
                items.append((path, str(label)))
        if not items:
            raise LayoutMismatch(
                f"there are no labelled images (devkit/cars_train_annos.mat or "
                f"cars_test_annos_withlabels.mat) under {root}"
            )
        keys = [str(n) for n in range(1, len(class_names) + 1)]
        return labelled(keys, {k: car_name(class_names[int(k) - 1]) for k in keys}, items)


# FGVC Aircraft's lists, "<image id> <variant>" per line; trainval repeats train and val.
_AIRCRAFT_LISTS = ("images_variant_train.txt", "images_variant_val.txt", "images_variant_test.txt")


@dataclass(frozen=True)
class AircraftLists:
    """FGVC Aircraft: data/images/<id>.jpg, data/variants.txt, data/images_variant_*.txt."""

    expected: str = (
        "<data.uri>/data/images/<id>.jpg with data/variants.txt and "
        "data/images_variant_{train,val,test}.txt (or data.uri at that data/ folder; "
        "fgvc-aircraft-2013b extracted)"
    )

    def read(self, root: Path) -> LabelledImages:
        data = first_dir(root, ("data", "fgvc-aircraft-2013b/data", ""), "data")
        variants_file = data / "variants.txt"
        if not variants_file.is_file() or not (data / "images").is_dir():
            raise LayoutMismatch(f"there is no {variants_file} beside an images/ folder")
        variants = [v.strip() for v in variants_file.read_text().splitlines() if v.strip()]
        lists = [data / n for n in _AIRCRAFT_LISTS if (data / n).is_file()]
        if not lists and (data / "images_variant_trainval.txt").is_file():
            lists = [data / "images_variant_trainval.txt"]
        if not lists:
            raise LayoutMismatch(f"there is no images_variant_*.txt list in {data}")
        seen: dict[str, str] = {}
        for listing in lists:
            for line in listing.read_text().splitlines():
                if not line.strip():
                    continue
                image_id, _, variant = line.strip().partition(" ")
                if variant not in variants:
                    raise LayoutMismatch(
                        f"{listing} names the variant {variant!r}, not in variants.txt"
                    )
                seen[_existing(data / "images" / f"{image_id}.jpg", listing)] = variant
        return labelled(variants, {v: v for v in variants}, list(seen.items()))


@dataclass(frozen=True)
class Sun397Tree:
    """SUN397: SUN397/<letter>/<class>[/<qualifier>]/sun_*.jpg."""

    expected: str = (
        "<data.uri>/SUN397/<letter>/<class>[/<indoor|outdoor|...>]/sun_<id>.jpg, or data.uri "
        "at that SUN397 folder (SUN397.tar.gz extracted)"
    )

    def read(self, root: Path) -> LabelledImages:
        base = first_dir(root, ("SUN397", ""), "SUN397")
        letters = subfolders(base)
        if not letters or any(not re.fullmatch(r"[a-z]", name) for name in letters):
            shown = ", ".join(sorted(letters)[:5]) or "none"
            raise LayoutMismatch(f"{base} should hold one folder per letter a-z, has {shown}")
        items = []
        for path in images_under(base):
            rel = Path(path).relative_to(base.absolute())
            if not re.fullmatch(r"sun_\w+", rel.stem) or len(rel.parts) < 3:
                raise LayoutMismatch(f"image {path} is not a SUN397 sun_*.jpg in a class folder")
            items.append((path, "/".join(rel.parts[:-1])))
        if not items:
            raise LayoutMismatch(f"{base} holds no images")
        keys = sorted({key for _, key in items})
        return labelled(keys, {k: sun397_name(k) for k in keys}, items)
