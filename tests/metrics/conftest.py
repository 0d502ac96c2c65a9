"""Shared fixtures: a real Pushgateway + Prometheus for the metrics tests."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

# tests/ holds the server helpers (tests/servers/); it is not a package.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from servers.prometheus import Stack, prometheus_stack  # noqa: E402

MONITORING = Path(__file__).resolve().parents[2] / "manifests" / "monitoring"
ALERT_RULES = MONITORING / "rules" / "glov-alerts.yml"


@pytest.fixture(scope="session")
def monitoring_dir() -> Path:
    return MONITORING


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """Prometheus scraping a Pushgateway with the shipped scrape snippet and alert rules."""
    (job,) = yaml.safe_load((MONITORING / "scrape-config.yml").read_text())
    with prometheus_stack(tmp_path_factory.mktemp("prom"), job, [ALERT_RULES]) as s:
        yield s
