"""The compiled pipeline YAML: DAG shape, run parameters, images, GPU placement, retries."""

from __future__ import annotations

import math

import pytest
import yaml

from components import images
from components.run_parameters import RUN_PARAMETERS, parameter_defaults
from glov.config import config_to_yaml, profile_names
from pipelines.plan import plan_pipeline

PROFILES = profile_names()
# One pod per stage, at a step count a cluster accepts that way (paper-clip's 100
# steps would exceed Argo's limits; pipelines/limits.py refuses to compile them).
# Four steps show the chain of step sub-DAGs; each more costs seconds of kfp compile.
ONE_POD_PER_STAGE = ("pipeline.steps_per_pod=1", "search.steps=4")


def _kind(name: str, task: dict) -> str:
    """What a container task runs, from its task name: cpu, llm or vlm."""
    if name.startswith("generate"):
        return "llm"
    if name.startswith("fused-step"):
        return "llm"
    if name.startswith("shared-models"):
        return "models"
    if name.startswith(("evaluate", "final")):
        return "vlm"
    assert name.startswith(("data-prep", "rank", "seed-template")), name
    return "cpu"


@pytest.mark.parametrize("profile", PROFILES)
def test_one_named_sub_dag_per_step_in_the_arm_loop(compile_cfg, profile):
    c = compile_cfg(profile, ONE_POD_PER_STAGE)
    loop = c.loop()
    steps = [n for n in loop if n.startswith("step-")]
    assert len(steps) == c.cfg.search.steps
    assert set(loop) == {"seed", *steps}
    # step-k consumes the history of step-(k-1): a chain, not a fan.
    previous = "seed"
    for name in sorted(steps):
        history = loop[name]["inputs"]["artifacts"]["history"]["taskOutputArtifact"]
        assert history["producerTask"] == previous
        previous = name
    # Every step is generate -> evaluate -> rank.
    comp = loop[steps[-1]]["componentRef"]["name"]
    assert sorted(t.split("-")[0] for t in c.dag(comp)) == ["evaluate", "generate", "rank"]
    seed = c.dag(loop["seed"]["componentRef"]["name"])
    assert sorted(t.rsplit("-", 1)[0] if t[-1].isdigit() else t for t in seed) == [
        "evaluate",
        "rank",
        "seed-template",
    ]
    # Around the loop: data prep and the shared models before, the final report after
    # (fan-in of every arm).
    root = c.dag()
    loop_task = next(n for n in root if n.startswith("for-loop"))
    assert set(root) == {"data-prep", "shared-models", "final", loop_task}
    assert root["final"]["inputs"]["artifacts"]["histories"]
    # No arm starts before the run's models are built (one task, not one per pod).
    assert root["shared-models"]["dependentTasks"] == ["data-prep"]
    assert "shared-models" in root[loop_task]["dependentTasks"]


@pytest.mark.parametrize("profile", PROFILES)
def test_shipped_profile_groups_cover_every_step_once(compile_cfg, profile):
    c = compile_cfg(profile)
    k, n = c.cfg.pipeline.steps_per_pod, c.cfg.search.steps
    groups = plan_pipeline(c.cfg).groups
    assert [g.name for g in groups] == sorted(c.loop())
    covered = [s for g in groups for s in range(g.first, g.last + 1)]
    assert covered == list(range(n + 1))
    if k > 1:
        assert len(groups) == math.ceil(n / k)
        for g in groups:
            (task,) = c.dag(c.loop()[g.name]["componentRef"]["name"]).values()
            params = task["inputs"]["parameters"]
            assert params["first"]["runtimeValue"]["constant"] == g.first
            assert params["last"]["runtimeValue"]["constant"] == g.last


def test_steps_per_pod_2_halves_the_step_sub_dags(compile_cfg):
    one = compile_cfg("smoke", ("pipeline.steps_per_pod=1", "search.steps=4"))
    two = compile_cfg("smoke", ("pipeline.steps_per_pod=2", "search.steps=4"))
    step_dags = [n for n in one.loop() if n.startswith("step-")]
    assert len(step_dags) == 4
    assert sorted(two.loop()) == ["steps-00-02", "steps-03-04"]  # seed joins the first pod
    assert len(two.loop()) == len(step_dags) // 2
    # One fused pod per group instead of generate/evaluate/rank pods per step.
    fused = [n for n, _, _ in two.container_tasks() if n.startswith("fused-step")]
    per_step = [n for n, _, _ in one.container_tasks() if n.split("-")[0] in ("generate", "rank")]
    assert len(fused) == 2 and len(per_step) == 4 + 5  # generate in steps 1-4, rank in 0-4
    ranges = sorted(
        (
            t["inputs"]["parameters"]["first"]["runtimeValue"]["constant"],
            t["inputs"]["parameters"]["last"]["runtimeValue"]["constant"],
        )
        for n, t, _ in two.container_tasks()
        if n.startswith("fused-step")
    )
    assert ranges == [(0, 2), (3, 4)]


@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize("per_pod", [1, 3])
def test_gpu_placement_only_on_llm_and_vlm_tasks(compile_cfg, profile, per_pod):
    # Force GPUs on (smoke ships CPU-only pods) so both profiles check both sides.
    c = compile_cfg(
        profile,
        (
            f"pipeline.steps_per_pod={per_pod}",
            "search.steps=4",  # placement does not depend on the step count
            "pipeline.llm_task.accelerators=2",
            "pipeline.vlm_task.accelerators=1",
            "pipeline.node_selector={pool: gpu-a100}",
            "pipeline.tolerations=[{key: gpu, operator: Equal, value: 'yes', effect: NoSchedule}]",
        ),
    )
    kinds = set()
    for name, task, label in c.container_tasks():
        kind = _kind(name, task)
        kinds.add(kind)
        resources = c.executors[label]["container"]["resources"]
        k8s = c.k8s[label]
        env = {e["name"]: e["value"] for e in c.executors[label]["container"]["env"]}
        p = c.cfg.pipeline
        res = {"cpu": p.cpu_task, "llm": p.llm_task, "models": p.llm_task}.get(kind, p.vlm_task)
        # torch gets as many threads as the pod has CPUs, not one per core of the node.
        assert env["OMP_NUM_THREADS"] == {"500m": "1", "2": "2", "4": "4"}[res.cpu], name
        if kind in ("cpu", "models"):  # the shared models build on the CPU
            assert "accelerator" not in resources, name
            assert "nodeSelector" not in k8s and "tolerations" not in k8s, name
            assert resources["resourceCpuRequest"] == res.cpu
            assert resources["resourceMemoryRequest"] == res.memory
        else:
            want = {"llm": "2", "vlm": "1"}[kind]
            assert resources["accelerator"]["resourceType"] == "nvidia.com/gpu", name
            assert resources["accelerator"]["resourceCount"] == want, name
            assert k8s["nodeSelector"]["labels"] == {"pool": "gpu-a100"}
            assert k8s["tolerations"] == [
                {"key": "gpu", "operator": "Equal", "value": "yes", "effect": "NoSchedule"}
            ]
            res = c.cfg.pipeline.llm_task if kind == "llm" else c.cfg.pipeline.vlm_task
            assert resources["resourceMemoryRequest"] == res.memory
    assert kinds == {"cpu", "llm", "vlm", "models"}


@pytest.mark.parametrize("profile", PROFILES)
def test_shipped_profiles_gpu_requests_follow_the_config(compile_cfg, profile):
    c = compile_cfg(profile)
    tasks = list(c.container_tasks())
    resources = {label: c.executors[label]["container"]["resources"] for _, _, label in tasks}
    with_gpu = sorted(name for name, _, label in tasks if "accelerator" in resources[label])
    p = c.cfg.pipeline
    expected = []
    if p.llm_task.accelerators:
        expected += [n for n, _, _ in tasks if n.startswith("fused-step")]
    if p.vlm_task.accelerators:
        expected.append("final")
    assert with_gpu == sorted(expected)
    if profile == "paper-clip":  # every fused pod and the final evaluation get a GPU
        assert len(with_gpu) == 1 + len(plan_pipeline(c.cfg).groups)
    if profile == "smoke":  # CPU devices: no pod waits for a GPU node
        assert with_gpu == []


@pytest.mark.parametrize("profile", PROFILES)
def test_retry_policy_and_caching_on_every_task(compile_cfg, profile):
    c = compile_cfg(profile, ONE_POD_PER_STAGE)
    p = c.cfg.pipeline
    tasks = list(c.container_tasks())
    assert tasks
    for name, task, _ in tasks:
        assert task["retryPolicy"] == {
            "maxRetryCount": p.retries,
            "backoffDuration": f"{p.backoff_seconds}s",
            "backoffFactor": p.backoff_factor,
            "backoffMaxDuration": f"{p.backoff_max_seconds}s",
        }, name
        assert task.get("cachingOptions", {}).get("enableCache", False) is p.caching


def test_no_retries_means_no_retry_policy(compile_cfg):
    c = compile_cfg("smoke", ("pipeline.retries=0",))
    assert all("retryPolicy" not in t for _, t, _ in c.container_tasks())


@pytest.mark.parametrize("profile", PROFILES)
def test_run_parameters_default_to_the_profile(compile_cfg, profile):
    c = compile_cfg(profile)
    params = c.parameters()
    defaults = parameter_defaults(c.cfg)
    assert set(params) == set(defaults)
    for name, value in defaults.items():
        assert params[name]["defaultValue"] == value, name
        assert params[name].get("description"), name
    cfg = c.cfg
    assert params["dataset_uri"]["defaultValue"] == cfg.data.uri
    assert params["llm_model"]["defaultValue"] == cfg.llm.model
    assert params["alphas"]["defaultValue"] == cfg.guidance.alphas
    assert params["candidates"]["defaultValue"] == cfg.search.candidates
    assert params["vlm_pretrained"]["defaultValue"] == (cfg.vlm.pretrained or "random")
    # "17" or "0.55": an index stays an index in the UI (a float showed 17.0).
    assert params["layer"]["defaultValue"] == str(cfg.guidance.layer)
    assert params["layer"]["parameterType"] == "STRING"
    assert {p.name for p in RUN_PARAMETERS} <= set(params)
    # The profile itself travels as the base config of data prep, and the DAG's step count.
    prep = c.dag()["data-prep"]["inputs"]["parameters"]
    assert yaml.safe_load(prep["base_config"]["runtimeValue"]["constant"]) == yaml.safe_load(
        config_to_yaml(cfg)
    )
    assert prep["compiled_steps"]["runtimeValue"]["constant"] == cfg.search.steps
    assert prep["job_id"]["runtimeValue"]["constant"] == "{{$.pipeline_job_uuid}}"


@pytest.mark.parametrize("profile", PROFILES)
def test_images_gpu_for_models_cpu_for_the_rest(compile_cfg, profile):
    c = compile_cfg(profile, ONE_POD_PER_STAGE)
    for name, task, label in c.container_tasks():
        image = c.executors[label]["container"]["image"]
        if _kind(name, task) == "cpu":
            assert image == images.cpu_image(), name
        else:
            assert image == images.gpu_image(), name
    custom = compile_cfg(
        profile, ("pipeline.gpu_image=reg.local/g:1", "pipeline.cpu_image=reg.local/c:1")
    )
    used = {custom.executors[lb]["container"]["image"] for _, _, lb in custom.container_tasks()}
    assert used == {"reg.local/g:1", "reg.local/c:1"}


def test_secrets_by_reference_only(compile_cfg, monkeypatch):
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "do-not-leak-7f3a9")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "key-id-leak-1b2c")
    c = compile_cfg("paper-clip", ("run.name=secret-check",))
    assert "do-not-leak-7f3a9" not in c.text and "key-id-leak-1b2c" not in c.text
    for _, _, label in c.container_tasks():
        k8s = c.k8s[label]
        (secret,) = k8s["secretAsEnv"]
        assert secret["secretName"] == "glov-s3"
        assert {e["secretKey"] for e in secret["keyToEnv"]} == {
            "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY",
        }
        assert k8s["pvcMount"][0]["mountPath"] == "/cache"
        assert k8s["configMapAsEnv"][0]["configMapName"] == "glov-defaults"
    none = compile_cfg("smoke", ("pipeline.s3_secret=null", "pipeline.cache_pvc=null"))
    for _, _, label in none.container_tasks():
        assert "secretAsEnv" not in none.k8s[label] and "pvcMount" not in none.k8s[label]
