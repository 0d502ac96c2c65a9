"""The paper's 16 datasets (its Table 1): how each is laid out on disk and what it is called.

`data.dataset: <key>` with `data.uri` at the extracted dataset reads it in its
published layout (glov.data.layouts) with the readable class names the paper's
evaluation uses (glov.data.classnames), names it as the paper does, describes
it in one sentence for the meta-prompt, and picks its DS-TEMP set (the
template list CLIP's authors published, as the GLOV authors' code assigns
them: RESISC45 takes EuroSAT's). A folder that is not in the expected layout
is refused with that layout named, before anything is created. docs/datasets.md
lists the layouts.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from glov.data.classnames import camel_words, words
from glov.data.labelled import LabelledImages
from glov.data.layouts import Layout, LayoutMismatch
from glov.data.layouts.folders import (
    ClassFolders,
    index_check,
    index_name,
    one_of,
    wnid_check,
    wnid_name,
)
from glov.data.layouts.lists import (
    AircraftLists,
    CarAnnotations,
    FlowerLabels,
    PetFileNames,
    Sun397Tree,
)
from glov.errors import DataError


@dataclass(frozen=True)
class CatalogueEntry:
    key: str  # the value of data.dataset
    paper_name: str  # the dataset's name in the paper's tables
    about: str  # one sentence for the meta-prompt's description
    ds_temp_set: str  # the DS-TEMP set (glov/vlm/ds_templates.json)
    classes: int  # classes in the full dataset
    layout: Layout


def _wnid_folders(where: str, subdirs: tuple[str, ...]) -> ClassFolders:
    return ClassFolders(
        expected=f"{where}: one folder per class named by its WordNet id "
        "(<folder>/n01440764/<image>.JPEG, ...)",
        subdirs=subdirs,
        name=wnid_name,
        check_key=wnid_check,
    )


# EuroSAT's folder names and the names CoOp (and so the GLOV authors) prompt with.
EUROSAT_NAMES = {
    "AnnualCrop": "Annual Crop Land",
    "Forest": "Forest",
    "HerbaceousVegetation": "Herbaceous Vegetation Land",
    "Highway": "Highway or Road",
    "Industrial": "Industrial Buildings",
    "Pasture": "Pasture Land",
    "PermanentCrop": "Permanent Crop Land",
    "Residential": "Residential Buildings",
    "River": "River",
    "SeaLake": "Sea or Lake",
}
# Caltech101: the background folder and the duplicate face set are not classes (as in CoOp).
CALTECH_IGNORED = frozenset({"BACKGROUND_Google", "Faces_easy"})
CALTECH_RENAMED = {
    "airplanes": "airplane",
    "Faces": "face",
    "Leopards": "leopard",
    "Motorbikes": "motorbike",
}

_ENTRIES = (
    CatalogueEntry(
        "imagenet",
        "ImageNet",
        "ImageNet (ILSVRC-2012) holds photos of 1,000 everyday object, animal and scene "
        "categories, from dog breeds to tools and foods.",
        "imagenet",
        1000,
        _wnid_folders(
            "data.uri at ImageNet's validation (or training) set sorted into class folders, or "
            "its parent with a val/ folder",
            ("val", ""),
        ),
    ),
    CatalogueEntry(
        "imagenetv2",
        "ImageNetV2",
        "ImageNetV2 is a new test set of photos collected the way ImageNet's were, for the "
        "same 1,000 categories.",
        "imagenet",
        1000,
        ClassFolders(
            expected="data.uri at imagenetv2-matched-frequency-format-val (or its parent): one "
            "folder per class named by the ImageNet class index (0 ... 999)",
            subdirs=("imagenetv2-matched-frequency-format-val", ""),
            name=index_name,
            check_key=index_check,
        ),
    ),
    CatalogueEntry(
        "imagenet-sketch",
        "ImageNet-Sketch",
        "ImageNet-Sketch holds black-and-white hand-drawn sketches of ImageNet's 1,000 categories.",
        "imagenet",
        1000,
        _wnid_folders(
            "data.uri at ImageNet-Sketch's sketch/ folder (or its parent)", ("sketch", "")
        ),
    ),
    CatalogueEntry(
        "imagenet-r",
        "ImageNet-R",
        "ImageNet-R holds renditions (paintings, cartoons, sculptures, toys, tattoos...) of "
        "200 ImageNet categories.",
        "imagenet",
        200,
        _wnid_folders("data.uri at imagenet-r/ (or its parent)", ("imagenet-r", "")),
    ),
    CatalogueEntry(
        "imagenet-a",
        "ImageNet-A",
        "ImageNet-A holds natural photos of 200 ImageNet categories that classifiers "
        "trained on ImageNet get wrong.",
        "imagenet",
        200,
        _wnid_folders("data.uri at imagenet-a/ (or its parent)", ("imagenet-a", "")),
    ),
    CatalogueEntry(
        "dtd",
        "DTD",
        "The Describable Textures Dataset holds close-up photos of surfaces named by 47 "
        "texture attributes such as banded, bubbly or zigzagged.",
        "dtd",
        47,
        ClassFolders(
            expected="data.uri at dtd/ with images/<texture>/<texture>_<n>.jpg (dtd-r1.0.1 "
            "extracted)",
            subdirs=("images",),
            file_pattern=r"{key}_\d+\.jpg",
        ),
    ),
    CatalogueEntry(
        "eurosat",
        "EuroSAT",
        "EuroSAT holds Sentinel-2 satellite images of European land, in 10 land-use and "
        "land-cover classes.",
        "eurosat",
        10,
        ClassFolders(
            expected="data.uri at the EuroSAT RGB folder (2750/ or EuroSAT_RGB/, or its parent) "
            f"with one folder per class ({', '.join(EUROSAT_NAMES)}) of <Class>_<n>.jpg",
            subdirs=("2750", "EuroSAT_RGB", "EuroSAT", ""),
            name=EUROSAT_NAMES.__getitem__,
            check_key=one_of(EUROSAT_NAMES),
            file_pattern=r"{key}_\d+\.(jpg|tif)",
        ),
    ),
    CatalogueEntry(
        "resisc45",
        "RESISC45",
        "RESISC45 holds aerial images of 45 scene classes, from airports and bridges to wetlands.",
        "eurosat",
        45,
        ClassFolders(
            expected="data.uri at NWPU-RESISC45/ (or its parent) with one folder per class of "
            "<class>_<n>.jpg",
            subdirs=("NWPU-RESISC45", ""),
            file_pattern=r"{key}_\d+\.jpg",
        ),
    ),
    CatalogueEntry(
        "food101",
        "Food101",
        "Food-101 holds photos of 101 kinds of dishes, from apple pie to waffles.",
        "food101",
        101,
        ClassFolders(
            expected="data.uri at food-101/ with images/<dish>/<id>.jpg (food-101.tar.gz "
            "extracted)",
            subdirs=("images",),
            file_pattern=r"\d+\.jpg",
        ),
    ),
    CatalogueEntry(
        "fgvc-aircraft",
        "FGVCAircraft",
        "FGVC-Aircraft holds photos of aircraft in 100 model variants, such as 737-400 or A320.",
        "fgvc-aircraft",
        100,
        AircraftLists(),
    ),
    CatalogueEntry(
        "caltech101",
        "Caltech101",
        "Caltech101 holds photos of objects in 101 categories, mostly centred in the frame.",
        "caltech101",
        100,
        ClassFolders(
            expected="data.uri at caltech-101/ (or its parent) with 101_ObjectCategories/"
            "<category>/image_<n>.jpg",
            subdirs=("101_ObjectCategories", "caltech-101/101_ObjectCategories"),
            name=lambda k: words(CALTECH_RENAMED.get(k, k)),
            file_pattern=r"image_\d+\.jpg",
            ignored=CALTECH_IGNORED,
        ),
    ),
    CatalogueEntry(
        "oxford-pets",
        "OxfordPets",
        "The Oxford-IIIT Pet dataset holds photos of 37 breeds of cats and dogs.",
        "oxford-pets",
        37,
        PetFileNames(),
    ),
    CatalogueEntry(
        "flowers102",
        "Flowers102",
        "Oxford Flowers102 holds photos of 102 kinds of flowers common in the United Kingdom.",
        "flowers102",
        102,
        FlowerLabels(),
    ),
    CatalogueEntry(
        "stanford-cars",
        "StanfordCars",
        "Stanford Cars holds photos of cars in 196 classes of make, model and year.",
        "stanford-cars",
        196,
        CarAnnotations(),
    ),
    CatalogueEntry(
        "sun397",
        "SUN397",
        "SUN397 holds photos of 397 scene categories, indoor and outdoor, from abbeys to "
        "zen gardens.",
        "sun397",
        397,
        Sun397Tree(),
    ),
    CatalogueEntry(
        "ucf101",
        "UCF101",
        "UCF101 holds the middle frames of videos of people doing 101 actions, from "
        "applying eye makeup to yo-yo.",
        "ucf101",
        101,
        ClassFolders(
            expected="data.uri at UCF-101-midframes/ (or its parent): one folder per action "
            "(Apply_Eye_Makeup or ApplyEyeMakeup) of v_<Action>_g<nn>_c<nn>.jpg middle frames",
            subdirs=("UCF-101-midframes", ""),
            name=camel_words,
            file_pattern=r"v_\w+_g\d+_c\d+\.(jpg|png)",
        ),
    ),
)

CATALOGUE: dict[str, CatalogueEntry] = {e.key: e for e in _ENTRIES}


def catalogue_entry(key: str) -> CatalogueEntry:
    entry = CATALOGUE.get(key)
    if entry is None:
        raise DataError(
            f"data.dataset {key!r} is not in the dataset catalogue",
            f"use one of {', '.join(CATALOGUE)}, or leave data.dataset unset to read data.uri "
            "as a plain ImageFolder or CSV manifest",
        )
    return entry


def read_catalogued(key: str, path: Path) -> LabelledImages:
    """The images of catalogue dataset `key` at `path`, in its published layout."""
    entry = catalogue_entry(key)
    if not path.is_dir():
        raise DataError(
            f"data.dataset={key} reads a folder, but data.uri is the file {path}",
            f"point data.uri at the extracted {entry.paper_name}: {entry.layout.expected}",
        )
    try:
        found = entry.layout.read(path)
    except LayoutMismatch as exc:
        raise DataError(
            f"{path} is not in {entry.paper_name}'s layout (data.dataset={key}): {exc}",
            f"expected {entry.layout.expected}; or leave data.dataset unset to read a plain "
            "ImageFolder",
        ) from None
    return replace(found, name=entry.paper_name, about=entry.about, ds_temp_set=entry.ds_temp_set)
