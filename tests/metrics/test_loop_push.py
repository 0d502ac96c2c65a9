"""The real optimisation loop pushes its steps; Prometheus reads them back."""

from __future__ import annotations

from glov.config import load_config
from glov.runs.loop import run_search
from glov.runs.models import Models
from glov.runs.rundir import RunDir


def test_loop_steps_push_to_the_pushgateway(stack, tmp_path, smollm2, test_cache_dir):
    cfg = load_config(
        "smoke",
        [
            f"run.cache_dir={test_cache_dir}",
            "run.progress=false",
            "data.max_classes=3",
            "data.test_per_class=2",
            "vlm.model=glov-tiny-vit",
            "llm.max_new_tokens=16",
            "search.method=glov-noguide",
            "search.compare_with=[]",
            "search.steps=1",
            "search.candidates=3",
            f"metrics.pushgateway={stack.pushgateway.address}",
        ],
    )
    run, cfg = RunDir.open(str(tmp_path), "pushed-run", cfg)
    report = run_search(cfg, run, Models(cfg, llm=smollm2, run=run))
    records = run.steps("glov-noguide")

    sel = '{run="pushed-run", arm="glov-noguide"}'
    generated = stack.wait_for(f"sum(glov_candidates_generated_total{sel})")
    assert float(generated[0]["value"][1]) == sum(r["generated"] for r in records)
    evaluated = stack.wait_for(f"sum(glov_candidates_evaluated_total{sel})")
    assert float(evaluated[0]["value"][1]) == sum(len(r["scored"]) for r in records)
    best = stack.wait_for('glov_best_fitness_ratio{run="pushed-run", step="1"}')
    assert float(best[0]["value"][1]) == records[-1]["best"]["fitness"]
    final = stack.wait_for('glov_final_accuracy_ratio{run="pushed-run", variant="best"}')
    assert float(final[0]["value"][1]) == report["arms"]["glov-noguide"]["test_best"]
    # One push group per step (and one for the final results).
    steps = {s["metric"]["step"] for s in stack.query(f"glov_current_step{sel}")}
    assert steps == {"0", "1"}
