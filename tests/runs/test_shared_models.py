"""The shared-models task: the run's GGUF conversion and VLM training happen once.

The run's store is a real S3 server (nanio). The conversion and the training
themselves are replaced by quick writers (the real ones take a minute and are
tested in tests/llm and tests/vlm); what is tested is who builds, who fetches,
and what the log says.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from glov.config import load_config
from glov.llm import loader
from glov.runs.loaded_models import Models
from glov.runs.rundir import RunDir
from glov.runs.shared_models import prepare_shared_models
from glov.store.model_share import parse_event
from glov.vlm.training import build as vlm_build


@pytest.fixture
def builds(monkeypatch) -> list[str]:
    """Every conversion and training done, by kind; each writes what loaders look for."""
    done: list[str] = []

    def convert(gguf: Path, dest: Path, trust_remote_code: bool) -> None:
        done.append("llm")
        (dest / "config.json").write_text("{}")

    def train(recipe, dest: Path) -> None:
        done.append("vlm")
        (dest / vlm_build.CHECKPOINT).write_bytes(b"weights")

    monkeypatch.setattr(loader, "_convert_gguf", convert)
    monkeypatch.setattr(vlm_build, "_build", train)
    return done


def _run(cache: Path, store: str = "s3://glov/runs"):
    cfg = load_config("smoke", [f"run.cache_dir={cache}", f"store.uri={store}"])
    run, _ = RunDir.claim(cfg.store.uri, "r1", "reuse", cfg.store)
    return cfg, run


def test_one_task_builds_every_other_pod_fetches(server, builds, tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="glov.store.model_share")
    cfg, run = _run(tmp_path / "task-cache")
    made = prepare_shared_models(cfg, run)
    assert builds == ["llm", "vlm"]
    assert [p.parent.name for p in made] == ["llm", "vlm-builds"]
    bucket = server.root / "glov" / "runs" / "_cache" / "models"
    assert (bucket / "llm" / made[0].name / "config.json").is_file()
    assert (bucket / "vlm-builds" / made[1].name / vlm_build.CHECKPOINT).is_file()

    # Another pod, its cache empty: the step's loaders fetch, nothing is built again.
    cfg_b, run_b = _run(tmp_path / "pod-cache")
    share = Models(cfg_b, run=run_b).model_share
    assert share is not None
    converted = loader.converted_llm(cfg_b.llm, tmp_path / "pod-cache", share)
    checkpoint = vlm_build.ensure_built(cfg_b.vlm.pretrained, tmp_path / "pod-cache", share=share)
    assert builds == ["llm", "vlm"]
    assert converted == tmp_path / "pod-cache" / "llm" / made[0].name
    assert checkpoint.read_bytes() == b"weights"
    events = [e for r in caplog.records if (e := parse_event(r.getMessage()))]
    assert [(e.action, e.what.split()[0]) for e in events] == [
        ("built", "LLM"),
        ("built", "VLM"),
        ("reused", "LLM"),
        ("reused", "VLM"),
    ]
    assert all(e.origin.startswith("s3://glov/runs/_cache/models/") for e in events[2:])

    # The task again (a retried pod, a re-run): it finds both, builds nothing.
    assert prepare_shared_models(cfg, run) == made and builds == ["llm", "vlm"]


def test_a_warm_cache_is_published_to_an_empty_share(server, builds, tmp_path):
    cfg_local, run_local = _run(tmp_path / "cache", store=str(tmp_path / "runs"))
    prepare_shared_models(cfg_local, run_local)  # a file store: the cache is the share
    assert not (server.root / "glov" / "runs" / "_cache").exists()
    cfg, run = _run(tmp_path / "cache")
    prepare_shared_models(cfg, run)
    assert builds == ["llm", "vlm"]
    assert (server.root / "glov" / "runs" / "_cache" / "models" / "llm").is_dir()


def test_a_profile_without_gguf_or_build_shares_nothing(server, builds, tmp_path):
    cfg, run = _run(tmp_path / "cache")
    cfg = cfg.model_copy(
        update={
            "llm": cfg.llm.model_copy(update={"model": "HuggingFaceTB/SmolLM2-135M-Instruct"}),
            "vlm": cfg.vlm.model_copy(update={"pretrained": None}),
        }
    )
    assert prepare_shared_models(cfg, run) == [] and builds == []
