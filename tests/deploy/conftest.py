"""Fixtures for the deployment tests (helpers live in deploy_helpers.py)."""

from __future__ import annotations

import tomllib

import pytest
from deploy_helpers import MANIFESTS, OVERLAYS, ROOT, kustomize


@pytest.fixture(scope="session")
def rendered() -> dict[str, list[dict]]:
    monitoring = MANIFESTS / "monitoring" / "kustomization.yaml"
    assert monitoring.is_file(), (
        f"{monitoring} is missing: both overlays include ../../monitoring "
        "(Grafana dashboard, ServiceMonitor, PrometheusRule)"
    )
    return {name: kustomize(MANIFESTS / "overlays" / name) for name in OVERLAYS}


@pytest.fixture(scope="session")
def lock() -> dict:
    return tomllib.loads((ROOT / "uv.lock").read_text())
