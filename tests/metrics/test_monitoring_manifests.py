"""The monitoring manifests: rules valid and in sync, kustomize output, dashboard shape."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

from glov.metrics import SPECS

HERE = Path(__file__).resolve().parent


@pytest.fixture(scope="module")
def promtool() -> str:
    # Installs Debian's prometheus (which ships promtool) when missing, as the
    # server fixtures do, so a fresh CI machine runs these checks too.
    from tests.servers.prometheus import ensure_installed

    ensure_installed()
    path = shutil.which("promtool")
    assert path, "promtool missing after installing prometheus"
    return path


def load(path: Path):
    return yaml.safe_load(path.read_text())


def test_promtool_checks_the_plain_rules(monitoring_dir, promtool):
    out = subprocess.run(
        [promtool, "check", "rules", str(monitoring_dir / "rules" / "glov-alerts.yml")],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "SUCCESS: 3 rules found" in out.stdout


def test_promtool_alert_unit_tests(monitoring_dir, promtool):
    # for: durations, labels and rendered annotations on synthetic series.
    out = subprocess.run(
        [promtool, "test", "rules", "glov-alerts.test.yml"],
        capture_output=True,
        text=True,
        cwd=HERE,
    )
    assert out.returncode == 0, out.stdout + out.stderr


def test_prometheus_rule_carries_the_same_groups(monitoring_dir):
    plain = load(monitoring_dir / "rules" / "glov-alerts.yml")
    crd = load(monitoring_dir / "prometheus-rules.yaml")
    assert crd["apiVersion"] == "monitoring.coreos.com/v1"
    assert crd["kind"] == "PrometheusRule"
    assert crd["spec"]["groups"] == plain["groups"]
    for rule in (r for g in plain["groups"] for r in g["rules"]):
        assert rule["for"] and rule["annotations"]["summary"] and rule["labels"]["severity"]


def test_alert_and_dashboard_queries_only_use_defined_metrics(monitoring_dir):
    text = (monitoring_dir / "grafana-dashboard.json").read_text()
    text += (monitoring_dir / "rules" / "glov-alerts.yml").read_text()
    used = set(re.findall(r"\bglov_[a-z_]+", text))
    assert used, "no glov metric referenced"
    assert used <= set(SPECS), used - set(SPECS)


def test_scrape_snippet_honours_labels(monitoring_dir):
    (job,) = load(monitoring_dir / "scrape-config.yml")
    assert job["honor_labels"] is True
    assert job["static_configs"][0]["targets"]


def kustomize(monitoring_dir: Path) -> list[dict]:
    kubectl, kustomize_bin = shutil.which("kubectl"), shutil.which("kustomize")
    if kustomize_bin:
        cmd = [kustomize_bin, "build", str(monitoring_dir)]
    elif kubectl:
        cmd = [kubectl, "kustomize", str(monitoring_dir)]
    else:
        raise AssertionError("neither kustomize nor kubectl installed: apt-get install kubectl")
    out = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return list(yaml.safe_load_all(out.stdout))


def test_kustomize_builds_sidecar_configmap_and_monitors(monitoring_dir):
    docs = {d["kind"]: d for d in kustomize(monitoring_dir)}
    assert set(docs) == {"ConfigMap", "ServiceMonitor", "PrometheusRule"}
    assert all("namespace" not in d["metadata"] for d in docs.values())  # namespace-agnostic
    cm = docs["ConfigMap"]
    assert cm["metadata"]["name"] == "glov-grafana-dashboard"  # stable, no hash suffix
    assert cm["metadata"]["labels"]["grafana_dashboard"] == "1"
    shipped = json.loads((monitoring_dir / "grafana-dashboard.json").read_text())
    assert json.loads(cm["data"]["grafana-dashboard.json"]) == shipped
    kubernetes_validate.validate(cm, kubernetes_validate.latest_version(), strict=True)
    endpoint = docs["ServiceMonitor"]["spec"]["endpoints"][0]
    assert endpoint["honorLabels"] is True


def test_dashboard_shape(monitoring_dir):
    d = json.loads((monitoring_dir / "grafana-dashboard.json").read_text())
    assert 36 <= d["schemaVersion"] <= 41
    variables = {v["name"]: v for v in d["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    assert variables["run"]["query"]["query"] == "label_values(glov_best_fitness_ratio, run)"
    assert {"method", "dataset", "arm", "model", "llm"} <= set(variables)
    ids = [p["id"] for p in d["panels"]]
    assert len(ids) == len(set(ids))
    for p in d["panels"]:
        assert p["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, p["title"]
        for t in p["targets"]:
            for label in ("run", "arm", "model", "llm"):
                assert f'{label}=~"${label}"' in t["expr"], (p["title"], t["expr"])
    titles = " ".join(p["title"].lower() for p in d["panels"])
    for topic in (
        "fitness",
        "funnel",
        "stage",
        "throughput",
        "cache",
        "final",
        "steering",
        "stale",
    ):
        assert topic in titles, topic
