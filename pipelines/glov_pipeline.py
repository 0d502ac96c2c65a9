"""The GLOV DAG, built at compile time from the plan of a config (pipelines/plan.py).

    data-prep ─> shared-models ─> for each arm (ParallelFor over data-prep's arm list) ─> final
                                     seed ─> step-01 ─> step-02 ─> ... ─> step-NN

- shared-models (GPU image, no GPU) converts the GGUF LLM and trains the `build://` VLM
  once per run, before any arm starts, so every later pod fetches them instead
  of building its own (glov/runs/shared_models.py).

- Steps are unrolled at compile time from search.steps (KFP v2 has no while loop):
  every step is a named sub-DAG (`step-01`, ...; `seed` scores the seed template:
  seed-template (CPU) -> evaluate -> rank). With pipeline.steps_per_pod = 1 a step
  is generate (LLM) -> evaluate (VLM) -> rank (CPU), three pods. With k > 1, k
  consecutive steps run in one fused pod (`steps-00-02`, `steps-03-04`, ...; the
  seed joins the first group) so the models load once per group.
- pipeline.eval_shards = N > 1 splits the VLM evaluation over N GPU pods: a
  separate-pod step's evaluate becomes a ParallelFor over shard indices
  (`evaluate-shards`, each pod scoring a slice of the fitness split) merged by
  `rank-shards`; the final becomes final-plan (CPU) -> `final-shards` (GPU) ->
  final-report (CPU). Counts, not accuracies, are merged: the fitnesses and
  test accuracies equal the unsharded ones (glov.search.shards).
- Arms (one per alpha for method glov, one per compared method) are computed by
  data-prep from the resolved config, so `method`, `alphas` and `compare_with` are
  run parameters; the arms run in parallel (pipeline.parallel_arms caps it).
- The run parameters (the pipeline's signature) come from the table in
  components/run_parameters.py; search.steps and the pipeline section are fixed
  at compile time.
"""

# No `from __future__ import annotations`: kfp reads the annotations of the pipeline functions.

import inspect
import re
from collections.abc import Callable

from kfp import dsl
from kfp.dsl import Artifact, Dataset, Input

from components.data_prep import data_prep
from components.evaluate import evaluate
from components.evaluate_shard import evaluate_shard
from components.final import final
from components.final_plan import final_plan
from components.final_report import final_report
from components.final_shard import final_shard
from components.fused_step import fused_step
from components.generate import generate
from components.rank import rank
from components.rank_shards import rank_shards
from components.run_parameters import RUN_PARAMETERS, parameter_defaults
from components.seed_template import seed_template
from components.shared_models import shared_models
from glov.config import GlovConfig, config_to_yaml
from pipelines.placement import Placement
from pipelines.plan import PipelinePlan
from pipelines.step_groups import StepGroup


def pipeline_name(cfg: GlovConfig) -> str:
    slug = re.sub(r"[^a-z0-9-]+", "-", cfg.profile.lower()).strip("-") or "custom"
    return f"glov-{slug}"[:128]


def _describe(plan: PipelinePlan) -> str:
    cfg = plan.cfg
    per_pod = cfg.pipeline.steps_per_pod
    return (
        f"GLOV prompt optimisation (profile {cfg.profile}): an LLM optimises the prompt "
        f"templates of a CLIP VLM. {cfg.search.steps} steps per arm "
        f"({'one pod per stage' if per_pod == 1 else f'{per_pod} steps per pod'}); "
        "the arms (alpha sweep, compared methods) run in parallel. "
        + plan.describe_shards()
        + "Re-running with the "
        "same run_id resumes: finished steps are reused from the run directory."
    )


def _docstring() -> str:
    """The pipeline's docstring: kfp reads each parameter's description from `Args:`."""
    lines = ["GLOV pipeline.", "", "Args:"]
    for p in RUN_PARAMETERS:
        lines.append(f"    {p.name}: {p.description}")
    return "\n".join(lines) + "\n"


def _signature(defaults: dict) -> inspect.Signature:
    """The pipeline function's signature: one typed parameter per row of the table."""
    kind = inspect.Parameter.POSITIONAL_OR_KEYWORD
    return inspect.Signature(
        [
            inspect.Parameter(p.name, kind, default=defaults[p.name], annotation=p.type)
            for p in RUN_PARAMETERS
        ]
    )


# The sub-DAGs' inputs, described for the UI (kfp reads a pipeline function's `Args:`).
_GROUP_DOC = """Steps of one arm.

Args:
    config: the resolved config, run id and store (from data-prep).
    data: the run's fitness and test splits (from data-prep).
    history: the arm's step records before these steps.
    arm: the arm this branch optimises: name, method and alpha.

Returns:
    Output: the arm's history after these steps.
"""


def _group_dag(group: StepGroup, plan: PipelinePlan, placement: Placement) -> Callable:
    """One sub-DAG: the steps of `group` for one arm; returns the updated history."""
    if group.fused:

        def fused_dag(
            config: Input[Artifact], data: Input[Dataset], history: Input[Artifact], arm: dict
        ) -> Artifact:
            task = fused_step(
                config=config,
                data=data,
                history=history,
                arm=arm,
                first=group.first,
                last=group.last,
            )
            display = f"generate+evaluate+rank {group.display_name}"
            placement.apply(task, "llm", display, image="gpu")
            return task.outputs["updated_history"]

        fused_dag.__doc__ = _GROUP_DOC
        return dsl.pipeline(name=group.name, description=f"GLOV {group.display_name}")(fused_dag)

    step, sharded, shards = group.first, plan.sharded_steps, plan.eval_shards

    def step_dag(
        config: Input[Artifact], data: Input[Dataset], history: Input[Artifact], arm: dict
    ) -> Artifact:
        if step == 0:  # the seed template: no LLM, no GPU
            # A component of its own, not `generate` on CPU: kfp 2.17 merges the
            # Kubernetes settings of same-named executors across sub-DAGs, so a CPU
            # `generate` would inherit the GPU node selector of the later steps'.
            gen = seed_template(config=config, history=history, arm=arm)
            placement.apply(gen, "cpu", "seed template", image="cpu")
        else:
            gen = generate(config=config, data=data, history=history, arm=arm, step=step)
            placement.apply(gen, "llm", "generate", image="gpu")
        if not sharded:
            ev = evaluate(config=config, data=data, candidates=gen.outputs["candidates"])
            placement.apply(ev, "vlm", "evaluate", image="gpu")
            rk = rank(
                config=config,
                history=history,
                candidates=gen.outputs["candidates"],
                scores=ev.outputs["scores"],
            )
        else:
            # All shards at once: each is one GPU pod scoring 1/N of the fitness split.
            with dsl.ParallelFor(
                list(range(shards)), name="evaluate-shards", parallelism=shards
            ) as shard:
                ev = evaluate_shard(
                    config=config,
                    data=data,
                    candidates=gen.outputs["candidates"],
                    shard=shard,
                    shards=shards,
                )
                placement.apply(ev, "vlm", "evaluate shard", image="gpu")
            rk = rank_shards(
                config=config,
                history=history,
                candidates=gen.outputs["candidates"],
                shard_scores=dsl.Collected(ev.outputs["scores"]),
            )
        placement.apply(rk, "cpu", "rank", image="cpu")
        return rk.outputs["updated_history"]

    step_dag.__doc__ = _GROUP_DOC
    description = f"GLOV {group.display_name}: generate, evaluate, rank"
    return dsl.pipeline(name=group.name, description=description)(step_dag)


def _final(
    plan: PipelinePlan, placement: Placement, config, data, histories: dsl.Collected
) -> None:
    """The test evaluation and report: one GPU task, or N GPU shards and a CPU merge."""
    shards = plan.eval_shards
    if not plan.sharded_final:
        report = final(config=config, data=data, histories=histories)
        placement.apply(report, "vlm", "final evaluation and report", image="gpu")
        return
    # A CPU task fixes what every shard scores; it also gives the shard loop its
    # dependency on all arms (kfp cannot pass a collected output into another loop).
    plan = final_plan(config=config, data=data, histories=histories)
    placement.apply(plan, "cpu", "final plan", image="cpu")
    with dsl.ParallelFor(list(range(shards)), name="final-shards", parallelism=shards) as shard:
        part = final_shard(
            config=config, data=data, plan=plan.outputs["plan"], shard=shard, shards=shards
        )
        placement.apply(part, "vlm", "final evaluation shard", image="gpu")
    report = final_report(
        config=config,
        data=data,
        plan=plan.outputs["plan"],
        shard_counts=dsl.Collected(part.outputs["counts"]),
    )
    placement.apply(report, "cpu", "final report", image="cpu")


def build_pipeline(plan: PipelinePlan, *, threads: int | None = None) -> Callable:
    """The pipeline for `plan` (pipelines.plan.plan_pipeline): run parameters default
    to its config's values.

    `threads`: torch threads per task (default: each task's CPU request).
    """
    cfg = plan.cfg
    placement = Placement(cfg, threads)
    d = parameter_defaults(cfg)
    base_config = config_to_yaml(cfg)
    steps = cfg.search.steps
    groups = [(g, _group_dag(g, plan, placement)) for g in plan.groups]
    parallelism = cfg.pipeline.parallel_arms

    def glov(*args):
        # kfp calls the pipeline function with one channel per parameter of its
        # signature, positionally, in the table's order.
        params = dict(zip(d, args, strict=True))
        prep = data_prep(
            base_config=base_config,
            compiled_steps=steps,
            job_id=dsl.PIPELINE_JOB_ID_PLACEHOLDER,
            **params,
        )
        placement.apply(prep, "cpu", "data prep", image="cpu")
        config, data = prep.outputs["config"], prep.outputs["data"]
        models = shared_models(config=config)
        placement.apply(models, "models", "shared models", image="gpu")
        with dsl.ParallelFor(prep.outputs["Output"], parallelism=parallelism) as arm:
            history = prep.outputs["history"]
            for group, dag in groups:
                task = dag(config=config, data=data, history=history, arm=arm)
                task.set_display_name(group.display_name)
                task.set_caching_options(enable_caching=cfg.pipeline.caching)
                if history is prep.outputs["history"]:  # each arm's first group
                    task.after(models)
                history = task.output
        _final(plan, placement, config, data, dsl.Collected(history))

    glov.__signature__ = _signature(d)
    glov.__doc__ = _docstring()
    return dsl.pipeline(name=pipeline_name(cfg), description=_describe(plan))(glov)
