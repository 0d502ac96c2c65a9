"""RunMetrics -> real Pushgateway -> real Prometheus, read back with PromQL.

One module-scoped scenario pushes four runs: run-a records every step in one
process (and has a second arm with final results only), run-b runs each step in
its own "pod" (a fresh recorder given the earlier steps, as the run layer does
from the run directory), both at the same time; stalled-run stopped an hour
ago; failing-run rejects every candidate and has a failing stage. Then the
tests read values, every dashboard query and every alert expression back
through the Prometheus HTTP API.
"""

from __future__ import annotations

import json
import re
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from glov.config.store_metrics_pipeline import MetricsConfig
from glov.metrics import FINAL_VARIANTS, RunMetrics

RUNS = ("run-a", "run-b", "stalled-run", "failing-run")
FINAL = {"best": 0.7, "top3": 0.72, "s_temp": 0.55, "ds_temp": 0.6}
STEPS = {  # step -> (best, step fitness, generated, rejected, evaluated, tokens, seconds, norm)
    1: (0.5, 0.5, 10, {"empty": 2, "duplicate": 1}, 7, 400, 2.0, 1.25),
    2: (0.625, 0.6, 10, {"empty": 1, "too-long": 2}, 7, 500, 2.5, 1.5),
}


def recorder(stack, run: str, arm: str = "glov-alpha1", **kw: Any) -> RunMetrics:
    cfg = MetricsConfig(pushgateway=stack.pushgateway.address, timeout_seconds=5)
    ident = dict(pipeline="kfp", method="glov", dataset="animal-mnist", model="ViT-B-32")
    return RunMetrics(cfg, run=run, arm=arm, llm="smollm2", **ident, **kw)


def record(m: RunMetrics, step: int, scale: int = 1) -> None:
    best, fit, gen, rej, ev, tok, sec, norm = STEPS[step]
    m.record_step(
        step,
        best_fitness=best,
        step_fitness=fit,
        generated=gen * scale,
        rejected={k: v * scale for k, v in rej.items()},
        evaluated=ev * scale,
        # One scored template per step was repaired, the rest were clean answers.
        clean=(ev - 1) * scale,
        repaired=scale,
        llm_tokens=tok,
        llm_seconds=sec,
        cache_hits=ev,
        cache_misses=1,
        steering_norm=norm,
        gpu_peak_bytes=2**30,
    )


def do_step(m: RunMetrics, step: int, scale: int = 1) -> None:
    for stage in ("generate", "evaluate", "rank"):
        with m.stage(stage):
            pass
    record(m, step, scale)
    assert m.push()


def finish(m: RunMetrics) -> None:
    with m.stage("final"):
        m.record_final(FINAL)
    assert m.push()


def run_in_one_process(stack) -> None:
    m = recorder(stack, "run-a")
    with m.stage("data"):
        pass
    assert m.push()
    for step in STEPS:
        do_step(m, step)
    finish(m)
    finish(recorder(stack, "run-a", arm="llm-opt"))


def pod(stack, run: str, done: range, scale: int) -> RunMetrics:
    """A fresh recorder that starts from the run's finished steps."""
    m = recorder(stack, run)
    for step in done:
        record(m, step, scale)
    return m


def run_pod_per_step(stack) -> None:
    # scale=2 so the two runs' counts differ and an overwrite would show.
    for step in STEPS:
        do_step(pod(stack, "run-b", range(1, step), 2), step, scale=2)
    finish(pod(stack, "run-b", range(1, 3), 2))


def run_stalled(stack) -> None:
    do_step(recorder(stack, "stalled-run", clock=lambda: time.time() - 3600), 1)


def run_failing(stack) -> None:
    m = recorder(stack, "failing-run")
    # GlovCandidatesAllRejected needs an increase over scrapes: Prometheus must
    # see the first step before the next three.
    sel = '{run="failing-run"}'
    for step in (1, 2, 3, 4):
        m.record_step(
            step,
            best_fitness=0.3,
            step_fitness=0.0,
            generated=5,
            rejected={"format-field": 5},
            evaluated=0,
            llm_tokens=100,
            llm_seconds=1.0,
            cache_hits=0,
            cache_misses=0,
            steering_norm=None,
        )
        assert m.push()
        if step in (1, 4):
            assert stack.wait_for(f"glov_steps_completed_total{sel} == {step}")
    with pytest.raises(RuntimeError), m.stage("evaluate"):
        raise RuntimeError("CUDA out of memory")
    assert m.push()


def run_retried(stack) -> None:
    # A step pod fails, KFP retries it in a fresh pod: PUT replaces the group.
    first = recorder(stack, "retried-run")
    with pytest.raises(RuntimeError), first.stage("generate"):
        raise RuntimeError("preempted")
    assert first.push()
    stack.wait_for('glov_stage_failures_total{run="retried-run"}')
    do_step(recorder(stack, "retried-run"), 1)


@pytest.fixture(scope="module")
def pushed(stack):
    errors: list[BaseException] = []

    def guarded(fn):
        def target():
            try:
                fn(stack)
            except BaseException as exc:
                errors.append(exc)

        return threading.Thread(target=target)

    threads = [guarded(run_in_one_process), guarded(run_pod_per_step)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors, errors
    run_stalled(stack)
    run_retried(stack)
    run_failing(stack)  # last: once Prometheus has it, it has everything before it
    assert stack.wait_for('glov_stage_failures_total{run="failing-run"}')
    return stack


def value(stack, expr: str) -> float:
    result = stack.query(expr)
    assert len(result) == 1, (expr, result)
    return float(result[0]["value"][1])


def by_run(result: list[dict]) -> dict[str, float]:
    return {r["metric"]["run"]: float(r["value"][1]) for r in result}


def test_values_read_back_through_prometheus(pushed):
    for run, scale in (("run-a", 1), ("run-b", 2)):
        sel = f'run="{run}"'
        assert value(pushed, f"max(glov_best_fitness_ratio{{{sel}}})") == 0.625
        assert value(pushed, f"sum(glov_candidates_generated_total{{{sel}}})") == 20 * scale
        assert value(pushed, f'sum(glov_candidates_rejected_total{{{sel},reason="empty"}})') == (
            3 * scale
        )
        assert value(pushed, f"sum(glov_candidates_evaluated_total{{{sel}}})") == 14 * scale
        assert value(pushed, f"sum(glov_steps_completed_total{{{sel}}})") == 2
        assert value(pushed, f"sum(glov_llm_generated_tokens_total{{{sel}}})") == 900
        for variant in FINAL_VARIANTS:
            final = f'glov_final_accuracy_ratio{{{sel},arm="glov-alpha1",variant="{variant}"}}'
            acc = value(pushed, final)
            assert acc == FINAL[variant]


def test_push_groups_and_honor_labels(pushed):
    groups = pushed.query(
        'count by (job, run, arm) (glov_last_success_timestamp_seconds{run="run-a"})'
    )
    assert {g["metric"]["arm"] for g in groups} == {"glov-alpha1", "llm-opt"}
    # honor_labels kept the pushed job; nothing was renamed to exported_*.
    assert {g["metric"]["job"] for g in groups} == {"glov"}
    assert not pushed.query('{__name__=~"glov_.*", exported_job!=""}')
    # One group per run and arm: no series carries a step label.
    assert not pushed.query('{__name__=~"glov_.*", step!=""}')
    finished = pushed.query('glov_run_finished_timestamp_seconds{run="run-a"}')
    assert len(finished) == 2


def test_retried_step_replaces_the_failed_attempt(pushed):
    assert value(pushed, 'glov_current_step{run="retried-run"}') == 1
    assert not pushed.query('glov_stage_failures_total{run="retried-run"}')


# -- dashboard ---------------------------------------------------------------

VARIABLES = {
    "run": "|".join(RUNS),  # what Grafana sends for a multi-select
    "method": ".*",
    "dataset": ".*",
    "arm": ".*",
    "model": ".*",
    "llm": ".*",
    "stale_minutes": "15",
    "__rate_interval": "1m",
    "__interval": "1m",
    "__range": "1h",
}


def substitute(expr: str, variables: dict[str, str] = VARIABLES) -> str:
    def repl(m: re.Match) -> str:
        return variables[m.group(1) or m.group(2)]

    out = re.sub(r"\$\{(\w+)(?::\w+)?\}|\$(\w+)", repl, expr)
    assert "$" not in out, out
    return out


def dashboard(monitoring_dir: Path) -> dict:
    return json.loads((monitoring_dir / "grafana-dashboard.json").read_text())


def dashboard_targets(monitoring_dir: Path) -> list[tuple[str, str]]:
    return [
        (p["title"], t["expr"])
        for p in dashboard(monitoring_dir)["panels"]
        for t in p.get("targets", [])
    ]


def test_every_dashboard_query_returns_data(pushed, monitoring_dir):
    targets = dashboard_targets(monitoring_dir)
    assert len(targets) >= 12
    empty = [(title, expr) for title, expr in targets if not pushed.query(substitute(expr))]
    assert not empty, empty


def test_dashboard_variables_resolve(pushed, monitoring_dir):
    for var in dashboard(monitoring_dir)["templating"]["list"]:
        if var["type"] != "query":
            continue
        match = re.fullmatch(r"label_values\((.+), (\w+)\)", var["query"]["query"])
        assert match, var["query"]
        values = pushed.label_values(match.group(2), substitute(match.group(1)))
        assert values, var["name"]
        if var["name"] == "run":
            assert set(RUNS) <= set(values)


def panel(monitoring_dir: Path, title: str) -> dict:
    (found,) = [p for p in dashboard(monitoring_dir)["panels"] if p["title"] == title]
    return found


def test_newest_step_panels_show_the_newest_step(pushed, monitoring_dir):
    title = "Fitness (best so far and current step)"
    best_expr, step_expr = [e for t, e in dashboard_targets(monitoring_dir) if t == title]
    only_a = {**VARIABLES, "run": "run-a"}
    assert by_run(pushed.query(substitute(best_expr, only_a))) == {"run-a": 0.625}
    assert by_run(pushed.query(substitute(step_expr, only_a))) == {"run-a": 0.6}
    # The per-arm table: the step is a value (a number), not a label (text).
    table = panel(monitoring_dir, "Arms: newest step and fitness")
    rename = table["transformations"][1]["options"]["renameByName"]
    steps = {}
    for target in table["targets"]:
        for r in pushed.query(substitute(target["expr"], only_a)):
            steps.setdefault(rename[f"Value #{target['refId']}"], {})[r["metric"]["arm"]] = float(
                r["value"][1]
            )
    assert steps == {
        "step": {"glov-alpha1": 2.0},
        "best fitness": {"glov-alpha1": 0.625},
        "step fitness": {"glov-alpha1": 0.6},
    }


def legend(fmt: str, labels: dict[str, str]) -> str:
    """A legend as Grafana renders `{{label}}` placeholders."""
    return re.sub(r"\{\{(\w+)\}\}", lambda m: labels[m.group(1)], fmt)


def test_final_accuracy_legends_name_every_series(pushed, monitoring_dir):
    (target,) = panel(monitoring_dir, "Final test accuracies")["targets"]
    result = pushed.query(substitute(target["expr"]))
    legends = [legend(target["legendFormat"], r["metric"]) for r in result]
    # run-a has two arms with final results: 2 + 1 (run-b) arms x 4 variants.
    assert len(result) == 12
    assert len(set(legends)) == len(legends), legends


def test_arm_and_model_selectors_filter(pushed, monitoring_dir):
    (target,) = panel(monitoring_dir, "Final test accuracies")["targets"]
    only = {**VARIABLES, "arm": "llm-opt", "llm": "smollm2", "model": "ViT-B-32"}
    assert {r["metric"]["arm"] for r in pushed.query(substitute(target["expr"], only))} == {
        "llm-opt"
    }
    assert not pushed.query(substitute(target["expr"], {**VARIABLES, "llm": "other-llm"}))


def test_answer_quality_panels_read_clean_repaired_and_ratio(pushed, monitoring_dir):
    funnel = {
        t["legendFormat"]: t["expr"] for t in panel(monitoring_dir, "Candidate funnel")["targets"]
    }
    only_b = {**VARIABLES, "run": "run-b"}
    # run-b (scale 2): 2 steps x 6 x 2 clean and 2 x 2 repaired of 40 answers.
    assert by_run(pushed.query(substitute(funnel["{{run}} clean"], only_b))) == {"run-b": 24}
    assert by_run(pushed.query(substitute(funnel["{{run}} repaired"], only_b))) == {"run-b": 4}
    (target,) = panel(monitoring_dir, "LLM answers: clean ratio per arm")["targets"]
    ratios = {
        (r["metric"]["run"], r["metric"]["arm"]): float(r["value"][1])
        for r in pushed.query(substitute(target["expr"]))
    }
    assert ratios[("run-a", "glov-alpha1")] == ratios[("run-b", "glov-alpha1")] == 0.6
    # Every answer of failing-run was rejected: no clean answer at all.
    assert ratios[("failing-run", "glov-alpha1")] == 0
    # An arm that sampled nothing (llm-opt of run-a pushed final results only) has no ratio.
    assert ("run-a", "llm-opt") not in ratios


def test_stale_runs_panel_lists_only_the_stalled_run(pushed, monitoring_dir):
    (expr,) = [e for t, e in dashboard_targets(monitoring_dir) if t.startswith("Stale runs")]
    assert set(by_run(pushed.query(substitute(expr)))) == {"stalled-run"}


# -- alert rules -------------------------------------------------------------


def alert_rules(monitoring_dir: Path) -> list[dict]:
    doc = yaml.safe_load((monitoring_dir / "rules" / "glov-alerts.yml").read_text())
    return [r for g in doc["groups"] for r in g["rules"] if "alert" in r]


EXPECTED_FIRING = {
    "GlovRunStalled": {"stalled-run"},
    "GlovCandidatesAllRejected": {"failing-run"},
    "GlovStageFailing": {"failing-run"},
}


def test_every_alert_expression_fires_on_exactly_the_bad_runs(pushed, monitoring_dir):
    rules = alert_rules(monitoring_dir)
    assert {r["alert"] for r in rules} == set(EXPECTED_FIRING)
    for rule in rules:
        result = pushed.query(rule["expr"])
        assert set(by_run(result)) == EXPECTED_FIRING[rule["alert"]], rule["alert"]


def test_prometheus_loaded_the_rules_and_they_are_pending(pushed):
    # Rules evaluate every second; wait until all three have gone pending.
    pending = 'count by (alertname) (ALERTS{alertstate="pending"})'
    pushed.wait_for(f"count({pending}) >= {len(EXPECTED_FIRING)}", timeout=15)
    alerts = pushed.query(pending)
    assert {a["metric"]["alertname"] for a in alerts} == set(EXPECTED_FIRING)
