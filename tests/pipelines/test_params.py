"""Run parameters <-> config, structural checks, submit arguments and the CLI commands."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest
import yaml

from cli.main import main
from components.run_parameters import (
    check_structure,
    parameter_defaults,
    parse_parameter,
    resolve_config,
    resolve_run_id,
)
from glov.config import config_to_yaml, load_config, profile_names
from glov.errors import ConfigError, RunDirError
from glov.runs.report import embed_plot
from pipelines.plan import plan_pipeline
from pipelines.submit import parse_params, submit_request


def _run_params(cfg) -> dict:
    return parameter_defaults(cfg)


@pytest.mark.parametrize("profile", profile_names())
def test_default_parameters_reproduce_the_profile(profile):
    cfg = load_config(profile)
    resolved = resolve_config(config_to_yaml(cfg), _run_params(cfg), env={})
    assert resolved == cfg


def test_parameters_set_their_config_keys():
    cfg = load_config("smoke")
    params = _run_params(cfg) | {
        "dataset_uri": "s3://bucket/flowers",
        "vlm_pretrained": "openai",
        "max_classes": "5",
        "test_per_class": "all",
        "alphas": [0.5, 0.25],
        "compare_with": ["llm-opt"],
        "layer": "17",
        "temperature": 1,
        "method": "glov-noguide",
        "overrides": ["llm.top_k=20"],
    }
    cfg2 = resolve_config(config_to_yaml(cfg), params, env={})
    assert cfg2.data.uri == "s3://bucket/flowers"
    assert cfg2.vlm.pretrained == "openai"
    assert cfg2.data.max_classes == 5 and cfg2.data.test_per_class is None
    assert cfg2.guidance.alphas == [0.5, 0.25] and cfg2.search.compare_with == ["llm-opt"]
    assert cfg2.guidance.layer == 17 and isinstance(cfg2.guidance.layer, int)
    assert cfg2.search.method == "glov-noguide" and cfg2.llm.top_k == 20
    # Random-init VLM ("random") and a depth fraction ("0.55") come back as null and a float.
    random_init = _run_params(cfg) | {"vlm_pretrained": "random", "layer": "0.55"}
    back = resolve_config(config_to_yaml(cfg2), random_init, env={})
    assert back.vlm.pretrained is None and back.guidance.layer == 0.55
    assert isinstance(back.guidance.layer, float)


@pytest.mark.parametrize(
    ("name", "var", "profile_value"),
    [
        ("cache_dir", "GLOV_CACHE_DIR", ".cache/glov"),
        ("store_uri", "GLOV_STORE_URI", "file://runs"),
    ],
)
def test_store_and_cache_come_from_the_pod_environment(name, var, profile_value):
    cfg = load_config("smoke")
    key = {"cache_dir": "run.cache_dir", "store_uri": "store.uri"}[name]

    def resolved(params, env):
        section, field = key.split(".")
        resolved_cfg = resolve_config(config_to_yaml(cfg), params, env=env)
        return getattr(getattr(resolved_cfg, section), field)

    params = _run_params(cfg)
    assert params[name] == ""  # the UI shows it empty: "the pod's, else the profile's"
    assert resolved(params, {}) == profile_value
    in_pod = "s3://b/p" if name == "store_uri" else "/cache/glov"
    assert resolved(params, {var: in_pod}) == in_pod
    explicit = params | {name: "/mnt/x"}
    assert resolved(explicit, {var: "/elsewhere"}) == "/mnt/x"


def test_bad_values_fail_with_a_fix():
    cfg = load_config("smoke")
    with pytest.raises(ConfigError, match="search.method"):
        resolve_config(config_to_yaml(cfg), _run_params(cfg) | {"method": "nope"}, env={})
    with pytest.raises(ConfigError, match="no run parameter"):
        resolve_config(config_to_yaml(cfg), {"steps": 3}, env={})
    with pytest.raises(ConfigError, match="does not exist"):
        resolve_config(config_to_yaml(cfg), {"overrides": ["search.stepz=3"]}, env={})


def test_steps_are_fixed_at_compile_time():
    cfg = load_config("smoke", ["search.steps=6"])
    check_structure(cfg, 6)
    with pytest.raises(ConfigError) as err:
        check_structure(cfg, 4)
    assert "compiled for search.steps=4" in err.value.problem
    assert "search.steps=6" in err.value.fix


def test_run_id_from_the_kfp_run_or_given():
    cfg = load_config("smoke")
    assert resolve_run_id("", cfg, "3f2a9c1e-77aa-4b1c") == "smoke-3f2a9c1e"
    assert resolve_run_id("my-run.2", cfg, "x") == "my-run.2"
    with pytest.raises(RunDirError, match="not a valid run directory name"):
        resolve_run_id("../escape", cfg, "x")


def test_cli_parameters_are_typed():
    assert parse_params(["shots=2", "alphas=[1.0, 0.5]", "temperature=1", "llm_model=a=b"]) == {
        "shots": 2,
        "alphas": [1.0, 0.5],
        "temperature": 1.0,
        "llm_model": "a=b",
    }
    assert parse_parameter("overrides", "llm.top_k=5,llm.top_p=0.8") == [
        "llm.top_k=5",
        "llm.top_p=0.8",
    ]
    for bad in (["shots=two"], ["alphas=0.5"], ["nosuch=1"], ["shots"]):
        with pytest.raises(ConfigError):
            parse_params(bad)


def test_submit_request_is_complete(tmp_path):
    cfg = load_config("paper-clip")
    req = submit_request(cfg, tmp_path / "p.yaml", run_name="nightly-7", params={"shots": 2})
    assert req == {
        "pipeline_file": str(tmp_path / "p.yaml"),
        "arguments": {"shots": 2, "run_id": "nightly-7"},
        "run_name": "nightly-7",
        "experiment_name": "glov",
        "namespace": None,
        "service_account": "glov-pipeline",
        "enable_caching": None,
    }
    custom = submit_request(
        cfg,
        "p.yaml",
        experiment="e2",
        run_name="has spaces",
        params={"run_id": "r1"},
        namespace="team-a",
    )
    assert custom["experiment_name"] == "e2" and custom["namespace"] == "team-a"
    assert custom["arguments"] == {"run_id": "r1"}
    assert submit_request(cfg, "p.yaml", run_name="has spaces")["arguments"] == {}
    with pytest.raises(ConfigError):
        submit_request(cfg, "p.yaml", params={"steps": 3})


def test_submit_sends_the_request_to_the_client(tmp_path):
    from pipelines.submit import submit

    class Client:  # records the call: no KFP server here
        def create_run_from_pipeline_package(self, **kwargs):
            self.kwargs = kwargs
            self.spec = next(yaml.safe_load_all(Path(kwargs["pipeline_file"]).read_text()))
            return type("Result", (), {"run_id": "run-123"})()

    client = Client()
    cfg = load_config("smoke")
    plan = plan_pipeline(cfg)
    assert submit(plan, "http://kfp", run_name="r", params={"seed": 3}, client=client) == "run-123"
    assert client.kwargs["arguments"] == {"seed": 3, "run_id": "r"}
    assert client.spec["pipelineInfo"]["name"] == "glov-smoke"


def test_cli_compile_and_submit_errors(tmp_path, capsys):
    out = tmp_path / "p.yaml"
    assert main(["compile", "--config", "smoke", "--set", "search.steps=2", "-o", str(out)]) == 0
    spec = next(yaml.safe_load_all(out.read_text()))
    assert spec["pipelineInfo"]["name"] == "glov-smoke"
    # kfp itself loads it back (what the KFP UI/API does with an uploaded pipeline).
    from kfp import components

    loaded = components.load_component_from_file(str(out))
    assert set(loaded.component_spec.inputs) == set(parameter_defaults(load_config("smoke")))
    assert "2 steps" in capsys.readouterr().out
    assert main(["submit", "--config", "smoke", "--host", ""]) == 2
    assert "KFP host" in capsys.readouterr().err
    assert main(["submit", "--config", "smoke", "--host", "http://x", "--param", "bad=1"]) == 2
    assert "no run parameter named 'bad'" in capsys.readouterr().err


def test_markdown_embeds_the_plot():
    md = "# r\n\n![best fitness per step](fitness.png)\n\n| a |"
    out = embed_plot(md, b"\x89PNG-bytes")
    assert "(fitness.png)" not in out
    assert "![best fitness per step](data:image/png;base64,iVBORy1ieXRlcw==)" in out
    assert embed_plot("no plot", b"x").endswith("(data:image/png;base64,eA==)\n")


def test_arms_are_loop_items_without_nulls():
    from components.tasks.artifacts import arm_from_dict, arm_to_dict
    from glov.search.arms import arms_for

    cfg = load_config("smoke", ["search.compare_with=[glov-noguide, llm-opt]"])
    arms = arms_for(cfg)
    items = [arm_to_dict(a) for a in arms]
    assert [i["name"] for i in items] == ["glov-alpha1", "glov-noguide", "llm-opt"]
    assert all(v is not None for i in items for v in i.values())
    assert [arm_from_dict(i) for i in items] == arms


def test_data_prep_signature_matches_the_run_parameter_table():
    """data_prep's signature is written out (kfp ships its source): it must list every
    run parameter of the table, with the table's type, and nothing else."""
    from components.data_prep import data_prep
    from components.run_parameters import RUN_PARAMETERS

    signature = inspect.signature(data_prep.python_func)
    dag_inputs = {"base_config", "compiled_steps", "job_id"}  # set by the DAG, not the user
    outputs = {"config", "data", "history"}
    written = {
        name: p.annotation
        for name, p in signature.parameters.items()
        if name not in dag_inputs | outputs
    }
    assert list(written) == [p.name for p in RUN_PARAMETERS]
    assert written == {p.name: p.type for p in RUN_PARAMETERS}


def test_pipeline_signature_is_built_from_the_table():
    from components.run_parameters import RUN_PARAMETERS
    from pipelines.glov_pipeline import build_pipeline

    cfg = load_config("smoke")
    inputs = build_pipeline(plan_pipeline(cfg)).component_spec.inputs
    assert list(inputs) == [p.name for p in RUN_PARAMETERS]
    defaults = parameter_defaults(cfg)
    assert {name: spec.default for name, spec in inputs.items()} == defaults
    # Every parameter carries its description into the UI.
    assert all(spec.description for spec in inputs.values())
