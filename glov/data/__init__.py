"""Labelled images: loading, k-shot splits and the prepared bundle a run keeps.

- dataset.py: Dataset and Split (content-keyed), load_image
- labelled.py: what a reader finds (LabelledImages) and the file rules readers share
- loaders.py: ImageFolder directories, CSV manifests, pkg:// datasets -> Dataset
- catalogue.py: the paper's 16 datasets, read in their published layouts (layouts/)
  with the paper's readable class names (classnames.py, names/)
- packaged.py: datasets shipped inside Python packages, written out once
- splits.py: the fitness and test splits
- bundle.py: DataBundle, the splits as a run stores them (data.json)
"""

from glov.data.bundle import DataBundle, prepare_bundle
from glov.data.dataset import IMAGE_EXTENSIONS, Dataset, Split, load_image
from glov.data.labelled import readable_name
from glov.data.loaders import default_description, load_dataset
from glov.data.splits import make_splits, prepare_data

__all__ = [
    "IMAGE_EXTENSIONS",
    "DataBundle",
    "Dataset",
    "Split",
    "default_description",
    "load_dataset",
    "load_image",
    "make_splits",
    "prepare_bundle",
    "prepare_data",
    "readable_name",
]
