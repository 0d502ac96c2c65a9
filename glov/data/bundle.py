"""The prepared data of a run (dataset meta + splits), persisted as data.json.

The data-prep stage writes it once; every later stage (and a resumed run)
reads the same splits back instead of re-sampling them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from glov.config import DataConfig
from glov.data.dataset import Split
from glov.data.splits import prepare_data


@dataclass(frozen=True)
class DataBundle:
    name: str
    description: str
    classnames: list[str]
    fitness: Split
    test: Split

    def to_json(self) -> dict:
        return {
            "name": self.name,
            "description": self.description,
            "classnames": self.classnames,
            "fitness": {"paths": list(self.fitness.paths), "labels": list(self.fitness.labels)},
            "test": {"paths": list(self.test.paths), "labels": list(self.test.labels)},
            "fitness_key": self.fitness.content_key(),
            "test_key": self.test.content_key(),
        }

    @classmethod
    def from_json(cls, d: dict) -> DataBundle:
        def split(s: dict) -> Split:
            return Split(tuple(s["paths"]), tuple(s["labels"]))

        return cls(
            d["name"], d["description"], d["classnames"], split(d["fitness"]), split(d["test"])
        )


def prepare_bundle(cfg: DataConfig, cache_dir: str | Path) -> DataBundle:
    """Load and split the dataset of `cfg` (packaged data is written under cache_dir)."""
    ds, fitness, test = prepare_data(cfg, cache_dir)
    return DataBundle(ds.name, ds.description, list(ds.classnames), fitness, test)
