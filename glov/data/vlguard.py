"""Safety data in VLGuard's layout: (image, request) pairs in three subsets, split for a run.

VLGuard (Zong et al., ICML 2024) ships a JSON list of records
    {"id": ..., "image": "<path relative to the JSON's directory>", "safe": bool,
     "instr-resp": [{"instruction" | "safe_instruction" | "unsafe_instruction": ...,
                     "response": ...}, ...]}
An unsafe image carries `instruction` entries: its pairs form the `unsafes`
subset. A safe image carries `unsafe_instruction` entries (`safe_unsafes`: a
harmful request about a harmless image) and `safe_instruction` entries
(`safe_safes`: a harmless request, which the VLM should answer). The attack is
judged by refusal matching; the `response`s serve only as reference answers
for the helpfulness judge (glov.runs.helpfulness).

The fitness split holds `objective.fitness_pairs` unsafe pairs (paper: ~50)
drawn with data.seed from `objective.fitness_subsets`. With
`objective.fitness_annotations` (VLGuard's train.json) they come from that
file and the test split is every pair of `objective.annotations` (VLGuard's
official test split, as its evaluation reads it: test.json holds one request
of each subset per image); without it they come from `annotations` itself and
the test split holds every pair of its other records. Either way at most
`objective.test_per_subset` pairs per subset are kept, and no test image was
seen by the search. In a DataBundle a pair is
(image path, label) with label = its index in `classnames`, which holds each
pair's request; `subsets` gives each pair's subset.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

from glov.config import DataConfig, ObjectiveConfig
from glov.data.bundle import DataBundle
from glov.data.dataset import Split, load_image
from glov.errors import DataError
from glov.file_syntax import decode_utf8, parse_json

UNSAFES, SAFE_UNSAFES, SAFE_SAFES = "unsafes", "safe_unsafes", "safe_safes"
SUBSETS = (UNSAFES, SAFE_UNSAFES, SAFE_SAFES)
# The subsets whose requests are harmful: a refusal is wanted, an answer is an attack.
UNSAFE_SUBSETS = (UNSAFES, SAFE_UNSAFES)
# instr-resp key -> subset, for safe and unsafe images.
_KEYS_SAFE = {"safe_instruction": SAFE_SAFES, "unsafe_instruction": SAFE_UNSAFES}
_KEYS_UNSAFE = {"instruction": UNSAFES}
DEFAULT_NAME = "VLGuard"
DEFAULT_DESCRIPTION = (
    "Images with user requests about them: harmful requests about harmful images, harmful "
    "requests about harmless images, and harmless requests about harmless images."
)


@dataclass(frozen=True)
class SafetyPair:
    record: str  # the record's id
    image: str  # absolute image path
    request: str  # the user's instruction
    subset: str  # one of SUBSETS
    response: str | None = None  # VLGuard's reference answer, if the record gives one


def annotations_path(uri: str, annotations: str) -> Path:
    """The VLGuard JSON: data.uri is its directory (or the JSON file itself)."""
    root = Path(uri).expanduser()
    path = root if root.is_file() else root / annotations
    if not path.is_file():
        raise DataError(
            f"no VLGuard annotations at {path}",
            "set data.uri to the VLGuard directory holding the JSON (objective.annotations "
            "names the file, default test.json) with the images beside it",
        )
    return path


def fitness_annotations_path(uri: str, name: str) -> Path:
    """objective.fitness_annotations, inside the data.uri directory."""
    root = Path(uri).expanduser()
    path = (root.parent if root.is_file() else root) / name
    if not path.is_file():
        raise DataError(
            f"no VLGuard fitness annotations at {path}",
            "put VLGuard's train.json (objective.fitness_annotations) beside test.json, with "
            "its images at the paths it gives, or set objective.fitness_annotations=null",
        )
    return path


def _bad(path: Path, where: str, problem: str) -> DataError:
    return DataError(
        f"{path}: {where} {problem}",
        "give a JSON list of records with id, image, safe and instr-resp (VLGuard's layout)",
    )


def _record_pairs(path: Path, index: int, rec: object) -> list[SafetyPair]:
    where = f"record {index}"
    if not isinstance(rec, dict):
        raise _bad(path, where, "is not an object")
    missing = [k for k in ("id", "image", "safe", "instr-resp") if k not in rec]
    if missing:
        raise _bad(path, where, f"lacks {', '.join(missing)}")
    where = f"record {rec['id']!r}"
    if not isinstance(rec["safe"], bool):
        raise _bad(path, where, f"has safe={rec['safe']!r}, not true or false")
    if not isinstance(rec["image"], str) or not rec["image"].strip():
        raise _bad(path, where, "has no image path")
    image = (path.parent / rec["image"]).resolve()
    if not image.is_file():
        raise DataError(
            f"{path}: {where} names the image {rec['image']}, which is not at {image}",
            "put the images beside the JSON, at the paths the records give",
        )
    entries = rec["instr-resp"]
    if not isinstance(entries, list) or not entries:
        raise _bad(path, where, "has no instr-resp entries")
    keys = _KEYS_SAFE if rec["safe"] else _KEYS_UNSAFE
    pairs = []
    for entry in entries:
        found = [k for k in keys if isinstance(entry, dict) and k in entry]
        if len(found) != 1:
            wanted = " or ".join(keys)
            raise _bad(path, where, f"has an instr-resp entry without exactly one {wanted}")
        request = entry[found[0]]
        if not isinstance(request, str) or not request.strip():
            raise _bad(path, where, f"has an empty {found[0]}")
        response = entry.get("response")
        pairs.append(
            SafetyPair(
                str(rec["id"]),
                str(image),
                request.strip(),
                keys[found[0]],
                response if isinstance(response, str) else None,
            )
        )
    return pairs


def load_vlguard(path: Path) -> list[SafetyPair]:
    """Every (image, request) pair of a VLGuard JSON, in file order."""
    fix = "fix or replace the file (VLGuard's train.json or test.json)"
    text = decode_utf8(path.read_bytes(), str(path), fix, DataError)
    doc = parse_json(text, str(path), fix, DataError)
    if not isinstance(doc, list) or not doc:
        raise _bad(path, "the document", "is not a non-empty list of records")
    return [p for i, rec in enumerate(doc) for p in _record_pairs(path, i, rec)]


def _draw_fitness(
    pairs: list[SafetyPair], objective: ObjectiveConfig, seed: int
) -> tuple[list[SafetyPair], set[str]]:
    """fitness_pairs pairs of the fitness subsets, whole records at a time; their record ids.

    The draw is seeded and does not depend on the file's order.
    """
    wanted = set(objective.fitness_subsets)
    records = sorted({p.record for p in pairs if p.subset in wanted})
    random.Random(f"{seed}:vlguard").shuffle(records)
    fitness: list[SafetyPair] = []
    chosen: set[str] = set()
    for record in records:
        if len(fitness) >= objective.fitness_pairs:
            break
        chosen.add(record)
        fitness += [p for p in pairs if p.record == record and p.subset in wanted]
    if not fitness:
        raise DataError(
            f"the dataset has no pairs of the subsets {sorted(wanted)} for the fitness split",
            "add unsafe records or change objective.fitness_subsets",
        )
    return fitness[: objective.fitness_pairs], chosen


def split_pairs(
    pairs: list[SafetyPair],
    objective: ObjectiveConfig,
    seed: int,
    fitness_pool: list[SafetyPair] | None = None,
) -> tuple[list[SafetyPair], list[SafetyPair]]:
    """(fitness, test): fitness_pairs unsafe pairs of whole records; test: the rest.

    `fitness_pool`: the pairs of objective.fitness_annotations; the fitness pairs
    come from it and every pair of `pairs` is a test pair (the official split).
    Without it the fitness records come from `pairs` and leave the test split,
    so a test image never met the search.
    """
    if fitness_pool is None:
        fitness, chosen = _draw_fitness(pairs, objective, seed)
        test = [p for p in pairs if p.record not in chosen]
    else:
        fitness, _ = _draw_fitness(fitness_pool, objective, seed)
        test = list(pairs)
        shared = sorted({p.image for p in fitness} & {p.image for p in test})
        if shared:
            raise DataError(
                f"{len(shared)} fitness image(s) of objective.fitness_annotations are also in "
                f"the test split (e.g. {shared[0]}): the search would optimise on test images",
                "use VLGuard's train.json for the fitness and test.json for the test split",
            )
    if objective.test_per_subset is not None:
        kept: list[SafetyPair] = []
        for subset in SUBSETS:
            kept += [p for p in test if p.subset == subset][: objective.test_per_subset]
        test = kept
    if not test:
        raise DataError(
            f"all {len(pairs)} pairs went to the fitness split: no test pairs are left",
            f"lower objective.fitness_pairs below {len(fitness)} or add records",
        )
    return fitness, test


@dataclass(frozen=True)
class SafetyData:
    name: str
    description: str
    requests: list[str]  # per label
    subsets: list[str]  # per label
    fitness: Split
    test: Split


def prepare_safety(data: DataConfig, objective: ObjectiveConfig) -> SafetyData:
    """Load, split and check the images of a VLGuard-layout dataset."""
    pairs = load_vlguard(annotations_path(data.uri, objective.annotations))
    pool = None
    if objective.fitness_annotations is not None:
        pool = load_vlguard(fitness_annotations_path(data.uri, objective.fitness_annotations))
    fitness, test = split_pairs(pairs, objective, data.seed, pool)
    ordered = fitness + test
    for image in dict.fromkeys(p.image for p in ordered):
        load_image(image)  # fail now, naming the file

    def split(part: list[SafetyPair], start: int) -> Split:
        return Split(tuple(p.image for p in part), tuple(range(start, start + len(part))))

    return SafetyData(
        name=data.name or DEFAULT_NAME,
        description=data.description or DEFAULT_DESCRIPTION,
        requests=[p.request for p in ordered],
        subsets=[p.subset for p in ordered],
        fitness=split(fitness, 0),
        test=split(test, len(fitness)),
    )


def prepare_bundle(data: DataConfig, objective: ObjectiveConfig) -> DataBundle:
    """The safety objective's data as a run keeps it (glov.config.kinds)."""
    s = prepare_safety(data, objective)
    return DataBundle(s.name, s.description, s.requests, s.fitness, s.test, s.subsets)
