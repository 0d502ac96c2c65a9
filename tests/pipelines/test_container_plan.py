"""How `glov run --containers` starts its task containers (no Docker needed).

The network is the host's only when a task must reach a server: an S3 store
(given as store.uri or as `--run-dir s3://...`), S3 inputs or a Pushgateway.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from glov.config import load_config
from pipelines.containers import IMAGE_UID, plan_containers


@pytest.fixture
def no_gateway(monkeypatch):
    monkeypatch.delenv("GLOV_PUSHGATEWAY", raising=False)


def test_a_file_store_gets_no_network_and_is_mounted(tmp_path, no_gateway):
    cfg = load_config("smoke")
    plan = plan_containers(cfg, f"file://{tmp_path}/runs", tmp_path / "cache", env={})
    assert plan.network == "none"
    assert plan.binds == [tmp_path / "cache", Path(f"{tmp_path}/runs")]
    assert plan.runner_args()["read_only"] is True
    assert plan.user.endswith(":0")


def test_an_s3_run_dir_gets_the_host_network_though_store_uri_is_a_file_store(tmp_path, no_gateway):
    # `--run-dir s3://...` leaves store.uri at the profile's file store.
    cfg = load_config("smoke")
    assert not cfg.store.uri.startswith("s3://")
    plan = plan_containers(cfg, "s3://glov/runs", tmp_path / "cache", env={})
    assert plan.network == "host"
    assert plan.binds == [tmp_path / "cache"]  # an S3 store is not mounted


def test_s3_store_uri_and_a_pushgateway_get_the_host_network(tmp_path, no_gateway):
    cfg = load_config("smoke", ["store.uri=s3://glov/runs"])
    assert plan_containers(cfg, cfg.store.uri, tmp_path, env={}).network == "host"
    cfg = load_config("smoke", ["metrics.pushgateway=127.0.0.1:9091"])
    assert plan_containers(cfg, f"file://{tmp_path}", tmp_path, env={}).network == "host"


def test_tasks_run_as_the_image_user_in_group_0_under_a_root_daemon(tmp_path, no_gateway):
    plan = plan_containers(load_config("smoke"), f"file://{tmp_path}", tmp_path, env={})
    expected = IMAGE_UID if os.geteuid() == 0 else str(os.geteuid())
    assert plan.user == f"{expected}:0"
