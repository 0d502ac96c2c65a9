"""Shared fixtures: a real Pushgateway + Prometheus for the metrics tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.servers.prometheus import Stack, prometheus_stack

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
