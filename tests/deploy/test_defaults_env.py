"""manifests/base/defaults.env records the cluster values that the pipeline's compile-time
defaults (the config's `pipeline` section) hold: no code reads the GPU keys, so
nothing but this test keeps the two from drifting apart."""

from __future__ import annotations

from pathlib import Path

from glov.config.store_metrics_pipeline import PipelineConfig
from tests.deploy.test_manifests_wiring import _parse_selector, _parse_tolerations

DEFAULTS_ENV = Path(__file__).resolve().parents[2] / "manifests" / "base" / "defaults.env"


def _env() -> dict[str, str]:
    lines = DEFAULTS_ENV.read_text().splitlines()
    return dict(ln.split("=", 1) for ln in lines if ln.strip() and not ln.startswith("#"))


def test_gpu_placement_and_names_agree_with_the_compile_time_defaults() -> None:
    d, p = _env(), PipelineConfig()
    assert _parse_selector(d["GLOV_GPU_NODE_SELECTOR"]) == p.node_selector
    tolerations = [t.model_dump(exclude_none=True) for t in p.tolerations]
    assert _parse_tolerations(d["GLOV_GPU_TOLERATIONS"]) == tolerations
    assert d["GLOV_GPU_RESOURCE"] == p.accelerator_type
    assert d["GLOV_SERVICE_ACCOUNT"] == p.service_account
    assert d["GLOV_CACHE_PVC"] == p.cache_pvc and d["GLOV_CACHE_MOUNT"] == p.cache_mount
    assert d["GLOV_S3_SECRET_NAME"] == p.s3_secret


def test_the_docs_say_the_gpu_keys_are_read_by_no_code() -> None:
    header = DEFAULTS_ENV.read_text()
    assert "also parsed" not in header and "read by no code" in header
