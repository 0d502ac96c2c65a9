"""Final evaluation on the held-out test split (paper Alg. 1, step 5).

For every arm: the single best template by fitness and the top-n ensemble
(mean of normalised text embeddings per class, renormalised), next to the
baselines S-TEMP (the seed template) and DS-TEMP (the ensemble CLIP's authors
published for the dataset, picked by its name; ImageNet's 80 when there is
none; the report names the set used). The main method's arms compete by
fitness only (alpha is chosen on the fitness split, never on the test split).
"""

from __future__ import annotations

from glov.config import GlovConfig
from glov.data import DataBundle
from glov.runs.rundir import RunDir
from glov.search.arms import arms_for
from glov.search.state import rejection_totals, replay
from glov.vlm.baselines import resolve_ds_templates
from glov.vlm.scorer import Scorer


def final_evaluation(cfg: GlovConfig, run: RunDir, scorer: Scorer, data: DataBundle) -> dict:
    test, names = data.test, data.classnames
    arms = {}
    for arm in arms_for(cfg):
        records = run.steps(arm.name)
        if not records:
            continue
        state = replay(arm, records, cfg.guidance.negative)
        top = state.history.top(cfg.eval.top_n)
        arms[arm.name] = {
            "method": arm.method,
            "alpha": arm.alpha,
            "steps": len(records) - 1,
            "best_template": top[0].template,
            "best_fitness": top[0].fitness,
            "top_templates": [{"template": e.template, "fitness": e.fitness} for e in top],
            "test_best": scorer.accuracy(top[0].template, test, names),
            "test_top_n": scorer.ensemble_accuracy([e.template for e in top], test, names),
            "curve": [r["best"]["fitness"] for r in records],
            "step_best": [r["step_best"] for r in records],
            "candidates_scored": sum(len(r["scored"]) for r in records[1:]),
            "generated": sum(r["generated"] for r in records),
            "rejected": rejection_totals(records),
            # Scored templates that were class-name repairs, not clean parses.
            "repaired": sum(r.get("repaired", 0) for r in records),
            "guided_steps": sum(1 for r in records if r["guidance"].get("applied")),
            "llm_new_tokens": sum(r["llm"]["new_tokens"] for r in records),
            "llm_seconds": sum(r["llm"]["seconds"] for r in records),
        }
    selected = _select(cfg, arms)
    ds = resolve_ds_templates(cfg.eval.ds_templates, data.name)
    return {
        "baselines": {
            "s_temp": {
                "template": cfg.search.seed_template,
                "test": scorer.accuracy(cfg.search.seed_template, test, names),
            },
            "ds_temp": {
                "set": ds.name,
                "templates": len(ds.templates),
                "test": scorer.ensemble_accuracy(ds.templates, test, names),
            },
        },
        "arms": arms,
        "selected": selected,
    }


def _select(cfg: GlovConfig, arms: dict) -> dict[str, str]:
    """Per method, the arm with the best fitness (the alpha sweep's winner)."""
    best: dict[str, str] = {}
    for name, arm in arms.items():
        method = arm["method"]
        if method not in best or arm["best_fitness"] > arms[best[method]]["best_fitness"]:
            best[method] = name
    return best
