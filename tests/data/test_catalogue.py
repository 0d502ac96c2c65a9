"""The dataset catalogue: each of the paper's 16 datasets, in a tiny synthetic copy of its
published layout, gets its readable class names into the meta-prompt and the report; a folder
in another layout is refused with the expected layout named, before a run is created."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cli.main import main
from glov.config import DataConfig, load_config
from glov.data import prepare_bundle
from glov.data.catalogue import CATALOGUE
from glov.errors import DataError
from glov.llm.metaprompt import glov_messages
from glov.runs.loaded_models import Models
from glov.runs.loop import run_search
from glov.runs.rundir import RunDir
from glov.search.history import History, Scored
from glov.vlm.baselines import set_names
from glov.vlm.clip import ClipScorer
from tests.data.catalogue_trees import TREES


def test_the_catalogue_holds_the_papers_16_datasets_with_known_ds_temp_sets():
    assert len(CATALOGUE) == 16 and set(TREES) == set(CATALOGUE)
    for entry in CATALOGUE.values():
        assert entry.ds_temp_set in set_names(), entry.key
        assert entry.about.endswith(".") and entry.paper_name


# A tiny random CLIP scores (chance-level accuracy: the names are what is checked).
TINY_VLM = {"vlm.model": "glov-tiny-vit", "vlm.pretrained": "null"}


def _cfg(cache: Path, root: Path, key: str):
    """The smoke profile on catalogue dataset `key` at `root`: 1 shot, the seed only."""
    settings = {
        "run.cache_dir": cache,
        "run.progress": "false",
        "data.uri": root,
        "data.dataset": key,
        "data.shots": 1,
        "data.test_per_class": "null",
        "search.steps": 0,
        "search.compare_with": "[]",
        **TINY_VLM,
    }
    return load_config("smoke", [f"{k}={v}" for k, v in settings.items()])


@pytest.fixture(scope="module")
def scorer(test_cache_dir):
    cfg = load_config("smoke", [f"{k}={v}" for k, v in TINY_VLM.items()])
    return ClipScorer(cfg.vlm, test_cache_dir)


@pytest.mark.parametrize("key", sorted(TREES))
def test_each_layout_gives_readable_names_to_the_meta_prompt_and_the_report(
    key, tmp_path, scorer, smollm2, test_cache_dir
):
    root = tmp_path / key
    names = TREES[key](root)
    entry = CATALOGUE[key]
    bundle = prepare_bundle(DataConfig(uri=str(root), dataset=key), tmp_path / "cache")
    assert bundle.classnames == names
    assert bundle.name == entry.paper_name and bundle.ds_temp_set == entry.ds_temp_set
    assert bundle.description.startswith(entry.about)

    # The meta-prompt the LLM gets (glov.runs.execute passes the bundle's name and description).
    history = History([Scored("A photo of a {}.", 0.5, 0)]).pairs()
    prompt = glov_messages(history, bundle.name, bundle.description, k_max=5)[-1]["content"]
    assert f"Dataset: {entry.paper_name}" in prompt
    assert all(name in prompt for name in names[:5])
    assert "n01440764" not in prompt and "_" not in prompt.split("Description:")[1].split("\n")[0]

    # The report of a run on it: its class names and its DS-TEMP set.
    cfg = _cfg(test_cache_dir, root, key)
    run, cfg = RunDir.open(str(tmp_path / "runs"), key, cfg, "new")
    report = run_search(cfg, run, Models(cfg, scorer=scorer, llm=smollm2))
    assert report["dataset"]["classnames"] == names
    assert report["dataset"]["name"] == entry.paper_name
    assert report["baselines"]["ds_temp"]["set"] == entry.ds_temp_set
    md = run.store.read_text("report.md")
    assert f"- Class names: {', '.join(names)}" in md
    assert f"`{entry.ds_temp_set}` set" in md


def test_a_plain_folder_is_refused_with_the_expected_layout_named(tmp_path):
    root = tmp_path / "pets"
    TREES["oxford-pets"](root)
    with pytest.raises(DataError) as err:
        prepare_bundle(DataConfig(uri=str(root), dataset="imagenet"), tmp_path / "cache")
    message = str(err.value)
    assert "not in ImageNet's layout" in message and "WordNet id" in message
    assert "images" in message  # the folder it found instead

    TREES["imagenet"](tmp_path / "inet")
    cases = {
        "dtd": "<texture>_<n>.jpg",  # WordNet folders, not DTD's images/<texture>/
        "eurosat": "is not one of this dataset's classes",
        "sun397": "one folder per letter",
        "flowers102": "jpg",
        "stanford-cars": "cars_meta.mat",
        "fgvc-aircraft": "variants.txt",
        "oxford-pets": "holds no images",  # class folders, not images/<Breed>_<n>.jpg
    }
    for key, words in cases.items():
        with pytest.raises(DataError) as err:
            prepare_bundle(
                DataConfig(uri=str(tmp_path / "inet" / "val"), dataset=key), tmp_path / "c"
            )
        assert words in str(err.value), (key, str(err.value))
        assert CATALOGUE[key].layout.expected in err.value.fix


def test_an_unknown_dataset_and_a_file_are_refused(tmp_path):
    with pytest.raises(DataError, match="not in the dataset catalogue") as err:
        prepare_bundle(DataConfig(uri=str(tmp_path), dataset="mnist"), tmp_path / "c")
    assert "imagenet" in err.value.fix
    manifest = tmp_path / "m.csv"
    manifest.write_text("path,label\n")
    with pytest.raises(DataError, match="reads a folder"):
        prepare_bundle(DataConfig(uri=str(manifest), dataset="dtd"), tmp_path / "c")


def test_a_wrong_layout_stops_glov_run_before_the_run_exists(tmp_path, capsys):
    root = tmp_path / "pets"
    TREES["oxford-pets"](root)
    run_dir = tmp_path / "runs" / "r1"
    rc = main(
        ["run", "--config", "smoke", "--run-dir", str(run_dir),
         "--set", f"data.uri={root}", "--set", "data.dataset=imagenet",
         "--set", f"run.cache_dir={tmp_path / 'cache'}"]
    )  # fmt: skip
    err = capsys.readouterr().err
    assert rc != 0 and "not in ImageNet's layout" in err and "Traceback" not in err
    assert "WordNet id" in err
    assert not run_dir.exists()


def test_ds_temp_of_a_catalogue_dataset_survives_data_json(tmp_path):
    TREES["resisc45"](tmp_path / "r")
    bundle = prepare_bundle(DataConfig(uri=str(tmp_path / "r"), dataset="resisc45"), tmp_path)
    again = type(bundle).from_json(json.loads(json.dumps(bundle.to_json())))
    # The GLOV authors' code gives RESISC45 EuroSAT's templates.
    assert again.ds_temp_set == "eurosat" == bundle.ds_temp_set
