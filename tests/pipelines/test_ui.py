"""What the Kubeflow UI shows: run parameters without sentinels, described inputs,
Metrics keys that line up across runs, the candidates table, `glov submit --wait`."""

from __future__ import annotations

import numpy as np
import pytest

from cli.main import main
from components.run_parameters import PARAMETERS_BY_NAME, parse_parameter, resolve_config
from components.tasks.artifacts import final_metric_values, step_metric_values
from components.tasks.tables import candidates_markdown
from glov.config import config_to_yaml, load_config
from glov.errors import ConfigError, GlovError
from glov.search.arms import arms_for
from pipelines.submit import run_url, wait_for_run


@pytest.mark.parametrize(
    ("profile", "overrides", "pretrained"),
    [("smoke", ("vlm.pretrained=null",), "random"), ("paper-clip", (), "openai")],
)
def test_parameters_have_no_sentinel_defaults(compile_cfg, profile, overrides, pretrained):
    # Random init is the word "random", never an empty field.
    params = compile_cfg(profile, overrides).parameters()
    assert params["vlm_pretrained"]["defaultValue"] == pretrained
    for name in ("max_classes", "test_per_class"):
        assert params[name]["parameterType"] == "STRING"
        default = params[name]["defaultValue"]
        assert default == "all" or int(default) > 0, (name, default)
        assert "'all'" in params[name]["description"]
    assert "'random'" in params["vlm_pretrained"]["description"]
    # Nothing numeric defaults to 0 to mean "no limit", and an empty default is
    # only where the description says what empty means.
    for name, p in params.items():
        if p.get("defaultValue") == "":
            assert "empty:" in p["description"], name


def test_every_component_input_and_output_is_described(compile_cfg):
    c = compile_cfg("smoke", ("pipeline.steps_per_pod=1", "search.steps=1"))
    fused = compile_cfg("smoke")
    undescribed = []
    for spec in (c.spec, fused.spec):
        for comp_name, comp in spec["components"].items():
            if comp_name.startswith("comp-for-loop"):  # kfp's own loop wrapper
                continue
            for side in ("inputDefinitions", "outputDefinitions"):
                for kind in ("parameters", "artifacts"):
                    for name, d in comp.get(side, {}).get(kind, {}).items():
                        if not d.get("description"):
                            undescribed.append(f"{comp_name}.{name}")
    assert undescribed == []
    # data-prep's run-parameter inputs carry the table's descriptions.
    prep = c.components["comp-data-prep"]["inputDefinitions"]["parameters"]
    assert prep["layer"]["description"] == PARAMETERS_BY_NAME["layer"].description
    assert set(c.components["comp-rank"]["outputDefinitions"]["artifacts"]) >= {"candidates_table"}


def test_count_pretrained_and_layer_parameters_read_back():
    cfg = load_config("smoke")

    def resolved(**params):
        return resolve_config(config_to_yaml(cfg), params, env={})

    assert resolved(max_classes="all", test_per_class="7").data.max_classes is None
    assert resolved(test_per_class=" 7 ").data.test_per_class == 7
    assert resolved(max_classes="ALL").data.max_classes is None
    assert resolved(vlm_pretrained="openai").vlm.pretrained == "openai"
    assert resolved(vlm_pretrained="random").vlm.pretrained is None
    layer = resolved(layer="17").guidance.layer
    assert layer == 17 and isinstance(layer, int)
    assert resolved(layer="0.3").guidance.layer == 0.3
    with pytest.raises(ConfigError, match="max_classes='ten' is not 'all' or a whole number"):
        resolved(max_classes="ten")
    with pytest.raises(ConfigError, match="layer"):
        resolved(layer="middle")
    with pytest.raises(ConfigError, match="vlm_pretrained is empty") as err:
        resolved(vlm_pretrained="")
    assert "'random'" in err.value.fix
    # The command line refuses them before anything is submitted, and keeps the text.
    with pytest.raises(ConfigError, match="whole number"):
        parse_parameter("test_per_class", "2.5")
    assert parse_parameter("max_classes", "all") == "all"
    assert parse_parameter("layer", "17") == "17"


def _noisy(x: float) -> float:
    """An accuracy as float32 arithmetic leaves it (0.7318 -> 0.7318000197...)."""
    return float(np.float32(x))


def _report(cfg, fitness_of: dict[str, float]) -> dict:
    """A report shaped like glov.runs.evaluation's, for the arms of `cfg`."""
    arms = {
        a.name: {
            "method": a.method,
            "alpha": a.alpha,
            "best_fitness": _noisy(fitness_of.get(a.name, 0.3)),
            "test_best": _noisy(0.7318),
            "test_top_n": _noisy(0.7431),
            "generated": 24,
            "clean": 5,
            "repaired": 3,
            "rejected": {"score-echo": 10, "duplicate": 6},
        }
        for a in arms_for(cfg)
    }
    selected: dict[str, str] = {}
    for name, arm in arms.items():
        m = arm["method"]
        if m not in selected or arm["best_fitness"] > arms[selected[m]]["best_fitness"]:
            selected[m] = name
    return {
        "search": {"method": cfg.search.method},
        "baselines": {"s_temp": {"test": _noisy(0.61)}, "ds_temp": {"test": _noisy(0.6523)}},
        "arms": arms,
        "selected": selected,
    }


def test_final_metric_keys_are_the_same_for_different_alpha_sweeps():
    compare = "search.compare_with=[glov-noguide, llm-opt]"
    a = load_config("smoke", ["guidance.alphas=[1.0, 0.5]", compare])
    b = load_config("smoke", ["guidance.alphas=[0.25]", compare])
    ma = final_metric_values(_report(a, {"glov-alpha0.5": 0.9}))
    mb = final_metric_values(_report(b, {}))
    assert set(ma) == set(mb)
    assert {
        "best_test_top1",
        "best_ensemble_test_top1",
        "best_fitness",
        "selected_alpha",
        "s_temp_test_top1",
        "ds_temp_test_top1",
        "glov_test_top1",
        "glov_noguide_test_top1",
        "llm_opt_test_top1",
        "best_answers_clean",
        "glov_noguide_answers_rejected",
    } <= set(ma)
    assert (ma["best_answers_generated"], ma["best_answers_clean"]) == (24.0, 5.0)
    assert (ma["best_answers_repaired"], ma["best_answers_rejected"]) == (3.0, 16.0)
    assert not any("alpha0" in k or "alpha1" in k for k in ma)
    # The selected arm is the one with the best fitness, and values are rounded.
    assert ma["selected_alpha"] == 0.5 and mb["selected_alpha"] == 0.25
    assert ma["best_fitness"] == 0.9 and ma["best_test_top1"] == 0.7318
    assert ma["s_temp_test_top1"] == 0.61 and ma["ds_temp_test_top1"] == 0.6523
    assert all(v == round(v, 4) for v in ma.values())
    # A main method without alpha has no selected_alpha, but the same method keys.
    c = load_config("smoke", ["search.method=llm-opt", "search.compare_with=[]"])
    mc = final_metric_values(_report(c, {}))
    assert "selected_alpha" not in mc and mc["best_test_top1"] == mc["llm_opt_test_top1"]


def _record(step: int, arm: str = "glov-alpha1", applied: bool = True) -> dict:
    return {
        "step": step,
        "arm": arm,
        "alpha": 1.0,
        "scored": [
            {"template": "a photo of a {}.", "fitness": _noisy(0.25)},
            {
                "template": "a | pipe <b>bold</b> *{}*",
                "fitness": _noisy(0.5),
                "repairs": ["prefix"],
            },
        ],
        "generated": 5,
        "clean": 1,
        "repaired": 1,
        "rejected": {"no_slot": 2, "duplicate": 1},
        "guidance": {"applied": applied},
        "step_best": _noisy(0.5),
        "best": {"template": "a | pipe <b>bold</b> *{}*", "fitness": _noisy(0.5)},
    }


def test_step_metrics_name_no_arm_and_are_rounded():
    m = step_metric_values(_record(3), reused=False)
    assert m == {
        "step": 3.0,
        "best_fitness": 0.5,
        "scored": 2.0,
        "generated": 5.0,
        "clean": 1.0,
        "repaired": 1.0,
        "rejected": 3.0,
        "guided": 1.0,
        "reused": 0.0,
        "step_best": 0.5,
    }
    noisy = step_metric_values(_record(3) | {"step_best": _noisy(0.7318)}, reused=True)
    assert noisy["step_best"] == 0.7318 and noisy["reused"] == 1.0


def test_candidates_table_lists_each_step_best_first_and_escapes_templates():
    md = candidates_markdown([_record(1, applied=False), _record(2)], [True, False])
    one, two = md.split("### ")[1:]
    assert one.startswith("glov-alpha1: step 1") and two.startswith("glov-alpha1: step 2")
    assert "reused from the run directory" in one and "reused" not in two
    assert "guidance: off" in one and "guidance: applied, alpha 1" in two
    assert (
        "5 generated, 2 scored (1 clean, 1 repaired), 3 rejected (duplicate: 1, no\\_slot: 2)"
        in two
    )
    rows = [line for line in two.splitlines() if line.startswith("| ") and "rank" not in line]
    # Best first; the template's pipe, HTML and emphasis cannot break the table.
    assert rows == [
        "| 1 | 50.0 | a \\| pipe &lt;b&gt;bold&lt;/b&gt; \\*{}\\* | prefix |",
        "| 2 | 25.0 | a photo of a {}. | - |",
    ]


class _Run:
    def __init__(self, state, error=None):
        self.state, self.error = state, error


class _Client:
    """Answers get_run from a script of states; no KFP server here."""

    def __init__(self, states, error=None):
        self.states, self.error, self.calls = list(states), error, 0

    def get_run(self, run_id):
        self.calls += 1
        state = self.states.pop(0) if len(self.states) > 1 else self.states[0]
        return _Run(state, self.error)

    def create_run_from_pipeline_package(self, **kwargs):
        self.kwargs = kwargs
        return type("Result", (), {"run_id": "run-9"})()


def _waiter(client, **kw):
    lines: list[str] = []
    now = [0.0]

    def sleep(s):
        now[0] += s

    state = wait_for_run(
        client, "r1", "http://ui/#/runs/details/r1", report=lines.append,
        clock=lambda: now[0], sleep=sleep, poll_seconds=10, **kw,
    )  # fmt: skip
    return state, lines


def test_wait_reports_each_state_change_once():
    client = _Client(["PENDING", "RUNNING", "RUNNING", "RUNNING", "SUCCEEDED"])
    state, lines = _waiter(client)
    assert state == "SUCCEEDED" and client.calls == 5
    assert lines == [
        "run r1: PENDING after 0 s",
        "run r1: RUNNING after 10 s",
        "run r1: SUCCEEDED after 40 s",
    ]


@pytest.mark.parametrize("final", ["FAILED", "CANCELED"])
def test_wait_fails_on_a_run_that_did_not_succeed(final):
    error = type("Status", (), {"message": "task rank failed"})()
    with pytest.raises(GlovError, match=f"ended {final}") as err:
        _waiter(_Client(["RUNNING", final], error=error))
    assert "http://ui/#/runs/details/r1" in err.value.fix
    if final == "FAILED":
        assert "task rank failed" in err.value.problem


def test_wait_gives_up_after_the_timeout():
    with pytest.raises(GlovError, match="still RUNNING after 25 s") as err:
        _waiter(_Client(["RUNNING"]), timeout=25)
    assert "goes on" in err.value.fix


def test_cli_submit_prints_the_ui_link_and_waits(monkeypatch, capsys):
    import pipelines.submit as submit_module

    client = _Client(["RUNNING", "SUCCEEDED"])
    monkeypatch.setattr(submit_module, "healthz", lambda host: {"multi_user": False})
    monkeypatch.setattr(submit_module, "make_client", lambda host, namespace, auth: client)
    monkeypatch.setattr(submit_module.time, "sleep", lambda s: None)
    argv = ["submit", "--config", "smoke", "--host", "http://kfp:8080/", "--wait"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "http://kfp:8080/#/runs/details/run-9" in out
    assert out.index("RUNNING") < out.index("SUCCEEDED")
    assert run_url("http://h", "x") == "http://h/#/runs/details/x"
    # A failed run is a non-zero exit with the link to its logs.
    failing = _Client(["FAILED"])
    monkeypatch.setattr(submit_module, "make_client", lambda host, namespace, auth: failing)
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "ended FAILED" in err and "#/runs/details/run-9" in err
    assert main(["submit", "--config", "smoke", "--host", "http://x", "--timeout", "5"]) == 2
    assert "--timeout is for --wait" in capsys.readouterr().err
