"""Tiny synthetic copies of each catalogue dataset's published layout (glov.data.catalogue).

`TREES[key](root)` writes a few classes of two or three 8x8 images in the
dataset's own folder and file naming (and its label files: .mat, .txt) under
`root` and returns the readable class names a reader must find, in class order.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image
from scipy.io import savemat


def _image(path: Path, shade: int = 0) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (8, 8), (shade * 37 % 256, 90, 160)).save(path)


def _class_folders(base: Path, files: dict[str, list[str]]) -> None:
    for n, (folder, names) in enumerate(files.items()):
        for name in names:
            _image(base / folder / name, n)


def imagenet(root: Path) -> list[str]:
    _class_folders(
        root / "val",
        {
            "n01440764": ["ILSVRC2012_val_00000293.JPEG", "ILSVRC2012_val_00002138.JPEG"],
            "n01443537": ["ILSVRC2012_val_00000236.JPEG", "ILSVRC2012_val_00000262.JPEG"],
            "n01484850": ["ILSVRC2012_val_00002752.JPEG", "ILSVRC2012_val_00004311.JPEG"],
        },
    )
    return ["tench", "goldfish", "great white shark"]


def imagenetv2(root: Path) -> list[str]:
    # Class indices in numeric order (0, 2, 10), not as text (0, 10, 2).
    base = root / "imagenetv2-matched-frequency-format-val"
    _class_folders(base, {k: ["a.jpeg", "b.jpeg"] for k in ("0", "10", "2")})
    return ["tench", "great white shark", "brambling"]


def _wnid_tree(base: Path) -> list[str]:
    _class_folders(base, {"n01443537": ["1.jpg", "2.jpg"], "n01833805": ["3.jpg", "4.jpg"]})
    (base / "README.txt").write_text("not a class")
    return ["goldfish", "hummingbird"]


def imagenet_sketch(root: Path) -> list[str]:
    return _wnid_tree(root / "sketch")


def imagenet_r(root: Path) -> list[str]:
    return _wnid_tree(root / "imagenet-r")


def imagenet_a(root: Path) -> list[str]:
    return _wnid_tree(root / "imagenet-a")


def dtd(root: Path) -> list[str]:
    keys = ("banded", "polka-dotted", "zigzagged")
    _class_folders(root / "images", {k: [f"{k}_0001.jpg", f"{k}_0002.jpg"] for k in keys})
    return ["banded", "polka-dotted", "zigzagged"]


def eurosat(root: Path) -> list[str]:
    keys = ("AnnualCrop", "HerbaceousVegetation", "SeaLake")
    _class_folders(root / "2750", {k: [f"{k}_1.jpg", f"{k}_2.jpg"] for k in keys})
    return ["Annual Crop Land", "Herbaceous Vegetation Land", "Sea or Lake"]


def resisc45(root: Path) -> list[str]:
    keys = ("baseball_diamond", "sea_ice")
    _class_folders(root / "NWPU-RESISC45", {k: [f"{k}_001.jpg", f"{k}_002.jpg"] for k in keys})
    return ["baseball diamond", "sea ice"]


def food101(root: Path) -> list[str]:
    _class_folders(
        root / "images",
        {"apple_pie": ["1005649.jpg", "101251.jpg"], "eggs_benedict": ["3.jpg", "4.jpg"]},
    )
    (root / "meta").mkdir()
    (root / "meta" / "classes.txt").write_text("apple_pie\neggs_benedict\n")
    return ["apple pie", "eggs benedict"]


def fgvc_aircraft(root: Path) -> list[str]:
    data = root / "fgvc-aircraft-2013b" / "data"
    for n, image_id in enumerate(
        ("0034309", "0034958", "0037511", "0041975", "0043234", "0056978")
    ):
        _image(data / "images" / f"{image_id}.jpg", n)
    (data / "variants.txt").write_text("707-320\n727-200\nA320\nTu-154\n")
    (data / "images_variant_train.txt").write_text("0034309 707-320\n0034958 A320\n")
    (data / "images_variant_val.txt").write_text("0037511 A320\n")
    (data / "images_variant_test.txt").write_text(
        "0041975 707-320\n0043234 Tu-154\n0056978 Tu-154\n"
    )
    # trainval repeats train and val: read only when the separate lists are absent.
    (data / "images_variant_trainval.txt").write_text("0034309 707-320\n0034958 A320\n")
    return ["707-320", "A320", "Tu-154"]


def caltech101(root: Path) -> list[str]:
    keys = ("BACKGROUND_Google", "Faces", "Faces_easy", "airplanes", "water_lilly")
    _class_folders(
        root / "caltech-101" / "101_ObjectCategories",
        {k: ["image_0001.jpg", "image_0002.jpg"] for k in keys},
    )
    return ["face", "airplane", "water lilly"]


def oxford_pets(root: Path) -> list[str]:
    for n, name in enumerate(
        (
            "Abyssinian_1",
            "Abyssinian_12",
            "american_bulldog_3",
            "american_bulldog_4",
            "Bengal_7",
            "Bengal_9",
        )
    ):
        _image(root / "images" / f"{name}.jpg", n)
    (root / "images" / "Abyssinian_100.mat").write_bytes(b"not an image")  # shipped in images/
    return ["abyssinian", "american bulldog", "bengal"]


def flowers102(root: Path) -> list[str]:
    labels = [1, 3, 1, 3, 77, 77]  # image 5 and 6 are listed but not extracted here
    for i in range(4):
        _image(root / "jpg" / f"image_{i + 1:05d}.jpg", labels[i])
    savemat(root / "imagelabels.mat", {"labels": np.array([labels], dtype=np.uint8)})
    return ["pink primrose", "canterbury bells"]


def _car_annotations(records: list[tuple[str, int]]) -> np.ndarray:
    annos = np.zeros((1, len(records)), dtype=[("fname", "O"), ("class", "O")])
    for i, (fname, label) in enumerate(records):
        annos[0, i]["fname"] = fname
        annos[0, i]["class"] = np.array([[label]], dtype=np.uint8)
    return annos


def stanford_cars(root: Path) -> list[str]:
    names = ["AM General Hummer SUV 2000", "Acura RL Sedan 2012", "Tesla Model S Sedan 2012"]
    (root / "devkit").mkdir(parents=True)
    savemat(root / "devkit" / "cars_meta.mat", {"class_names": np.array([names], dtype=object)})
    train = [("00001.jpg", 3), ("00002.jpg", 1)]
    test = [("00001.jpg", 1), ("00002.jpg", 3)]
    for n, (fname, _) in enumerate(train):
        _image(root / "cars_train" / fname, n)
    for n, (fname, _) in enumerate(test):
        _image(root / "cars_test" / fname, n + 2)
    savemat(root / "devkit" / "cars_train_annos.mat", {"annotations": _car_annotations(train)})
    savemat(root / "cars_test_annos_withlabels.mat", {"annotations": _car_annotations(test)})
    return ["2000 AM General Hummer SUV", "2012 Tesla Model S Sedan"]


def sun397(root: Path) -> list[str]:
    base = root / "SUN397"
    for n, rel in enumerate(
        (
            "a/abbey/sun_aaaa.jpg",
            "a/abbey/sun_aaab.jpg",
            "a/apartment_building/outdoor/sun_abcd.jpg",
            "a/apartment_building/outdoor/sun_abce.jpg",
            "b/bakery/shop/sun_bbbb.jpg",
            "b/bakery/shop/sun_bbbc.jpg",
        )
    ):
        _image(base / rel, n)
    return ["abbey", "outdoor apartment building", "shop bakery"]


def ucf101(root: Path) -> list[str]:
    _class_folders(
        root / "UCF-101-midframes",
        {
            "Apply_Eye_Makeup": ["v_ApplyEyeMakeup_g01_c01.jpg", "v_ApplyEyeMakeup_g02_c01.jpg"],
            "YoYo": ["v_YoYo_g01_c01.jpg", "v_YoYo_g03_c02.jpg"],
        },
    )
    return ["Apply Eye Makeup", "Yo Yo"]


TREES: dict[str, Callable[[Path], list[str]]] = {
    "imagenet": imagenet,
    "imagenetv2": imagenetv2,
    "imagenet-sketch": imagenet_sketch,
    "imagenet-r": imagenet_r,
    "imagenet-a": imagenet_a,
    "dtd": dtd,
    "eurosat": eurosat,
    "resisc45": resisc45,
    "food101": food101,
    "fgvc-aircraft": fgvc_aircraft,
    "caltech101": caltech101,
    "oxford-pets": oxford_pets,
    "flowers102": flowers102,
    "stanford-cars": stanford_cars,
    "sun397": sun397,
    "ucf101": ucf101,
}
