"""Inputs are validated before a run directory exists; model settings when the model loads."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from glov.config import load_config
from glov.errors import ConfigError, DataError, RunDirError
from glov.runs.loaded_models import Models
from glov.runs.rundir import RunDir
from glov.runs.start import start_run


def test_bad_data_leaves_no_run_directory(tmp_path):
    cfg = load_config("smoke", [f"data.uri={tmp_path}/no-such-dataset"])
    with pytest.raises(DataError, match="does not exist"):
        start_run(cfg, str(tmp_path / "runs"), "r1", "new")
    # Nothing was created: the same command, fixed, needs no --force.
    assert not (tmp_path / "runs" / "r1").exists()


def test_bad_data_does_not_delete_the_run_force_would_replace(tmp_path):
    cfg = load_config("smoke", [f"data.uri={tmp_path}/no-such-dataset"])
    (tmp_path / "runs" / "r1").mkdir(parents=True)
    (tmp_path / "runs" / "r1" / "config.yaml").write_text("kept: true\n")
    with pytest.raises(DataError):
        start_run(cfg, str(tmp_path / "runs"), "r1", "replace")
    assert (tmp_path / "runs" / "r1" / "config.yaml").read_text() == "kept: true\n"


def test_unknown_ds_template_set_is_found_before_the_run_starts(tmp_path):
    cfg = load_config("smoke", ["eval.ds_templates=nosuch"])
    with pytest.raises(ConfigError, match="nosuch"):
        start_run(cfg, str(tmp_path / "runs"), "r1", "new")
    assert not (tmp_path / "runs").exists()


def test_resume_of_nothing_says_so(tmp_path):
    cfg = load_config("smoke")
    with pytest.raises(RunDirError, match="no run to resume"):
        start_run(cfg, str(tmp_path / "runs"), "r1", "resume")


def test_run_directory_under_a_file_is_refused_before_writing(tmp_path):
    (tmp_path / "f").write_text("x")
    with pytest.raises(NotADirectoryError) as err:
        RunDir.claim(str(tmp_path / "f" / "runs"), "r1", "new")
    assert err.value.filename == str(tmp_path / "f" / "runs" / "r1")
    assert (tmp_path / "f").read_text() == "x"


def test_existing_checks_the_run_id(tmp_path):
    with pytest.raises(RunDirError, match="'..' is not a valid run directory name"):
        RunDir.existing(str(tmp_path / "runs"), "..")


def fake_llm(monkeypatch, num_layers: int) -> None:
    loaded = SimpleNamespace(num_layers=num_layers)
    monkeypatch.setattr("glov.llm.loader.load_llm", lambda cfg, cache, share=None: loaded)


def test_layer_beyond_the_model_is_refused_when_it_loads(monkeypatch):
    fake_llm(monkeypatch, num_layers=30)
    cfg = load_config("smoke", ["guidance.layer=30"])
    with pytest.raises(ConfigError, match=r"guidance.layer=30 does not fit") as err:
        _ = Models(cfg).llm
    assert "0 to 29" in err.value.fix
    # A valid index, or a depth fraction, loads.
    assert Models(load_config("smoke", ["guidance.layer=29"])).llm.num_layers == 30


def test_layer_is_not_checked_when_no_arm_is_steered(monkeypatch):
    fake_llm(monkeypatch, num_layers=4)
    cfg = load_config(
        "smoke", ["guidance.layer=30", "search.method=llm-opt", "search.compare_with=[]"]
    )
    assert Models(cfg).llm.num_layers == 4
