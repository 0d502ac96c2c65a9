"""The prepared data of a run (dataset meta + splits), persisted as data.json.

The data-prep stage writes it once; every later stage (and a resumed run)
reads the same splits back instead of re-sampling them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from glov.config import DataConfig, ObjectiveConfig, kinds
from glov.data.dataset import Split
from glov.data.splits import prepare_data


@dataclass(frozen=True)
class DataBundle:
    name: str
    description: str
    classnames: list[str]
    fitness: Split
    test: Split
    # The safety objective (glov.data.vlguard): a pair's label indexes `classnames`,
    # which then hold the requests, and `subsets` its subset. None: classification.
    subsets: list[str] | None = None
    # The DS-TEMP set of a catalogue dataset (glov.data.catalogue); None: picked by name.
    ds_temp_set: str | None = None

    def to_json(self) -> dict:
        extra: dict = {} if self.subsets is None else {"subsets": self.subsets}
        if self.ds_temp_set is not None:
            extra["ds_temp_set"] = self.ds_temp_set
        return {
            "name": self.name,
            "description": self.description,
            "classnames": self.classnames,
            "fitness": {"paths": list(self.fitness.paths), "labels": list(self.fitness.labels)},
            "test": {"paths": list(self.test.paths), "labels": list(self.test.labels)},
            "fitness_key": self.fitness.content_key(),
            "test_key": self.test.content_key(),
            **extra,
        }

    @classmethod
    def from_json(cls, d: dict) -> DataBundle:
        def split(s: dict) -> Split:
            return Split(tuple(s["paths"]), tuple(s["labels"]))

        return cls(
            d["name"],
            d["description"],
            d["classnames"],
            split(d["fitness"]),
            split(d["test"]),
            d.get("subsets"),
            d.get("ds_temp_set"),
        )


def prepare_bundle(
    cfg: DataConfig, cache_dir: str | Path, objective: ObjectiveConfig | None = None
) -> DataBundle:
    """Load and split the dataset of `cfg` (packaged data is written under cache_dir).

    An objective with data of its own (glov.config.kinds: safety's VLGuard-layout
    (image, request) pairs) prepares it itself.
    """
    own = objective is not None and kinds.OBJECTIVES[objective.kind].data
    if own:
        return kinds.load(own)(cfg, objective)
    ds, fitness, test = prepare_data(cfg, cache_dir)
    return DataBundle(
        ds.name, ds.description, list(ds.classnames), fitness, test, ds_temp_set=ds.ds_temp_set
    )
