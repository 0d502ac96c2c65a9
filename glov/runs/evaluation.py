"""Final evaluation on the held-out test split (paper Alg. 1, step 5).

For every arm: the single best template by fitness and the top-n ensemble
(mean of normalised text embeddings per class, renormalised), next to the
baselines S-TEMP (the seed template) and DS-TEMP (the ensemble CLIP's authors
published for the dataset, picked by its name; ImageNet's 80 when there is
none; the report names the set used). The main method's arms compete by
fitness only (alpha is chosen on the fitness split, never on the test split).

Every accuracy is correct images / images: final_counts scores a split (the
whole test split, or one shard's slice of it, glov.search.shards) into counts,
and final_evaluation turns the counts, merged over shards or not, into the
report's accuracies, so a sharded final evaluation reports the same floats.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from glov.config import GlovConfig
from glov.data import DataBundle, Split
from glov.errors import DataError
from glov.runs.rundir import RunDir
from glov.search.arms import arms_for
from glov.search.shards import ensemble_count, to_count
from glov.search.state import ArmState, answer_totals, replay, step_answers
from glov.vlm.baselines import DS_TEMP_NOT_APPLICABLE, resolve_ds_templates
from glov.vlm.scorer import Scorer

S_TEMP, DS_TEMP = "s_temp", "ds_temp"


@dataclass(frozen=True)
class FinalItem:
    """One accuracy of the report: a template alone, or an ensemble of templates."""

    key: str
    templates: tuple[str, ...]
    ensemble: bool


def _arm_states(cfg: GlovConfig, run: RunDir) -> dict[str, tuple[list[dict], ArmState]]:
    """Each arm with finished steps: its records and its replayed state."""
    out = {}
    for arm in arms_for(cfg):
        records = run.steps(arm.name)
        if records:
            out[arm.name] = (records, replay(arm, records, cfg.guidance.negative))
    return out


def final_items(cfg: GlovConfig, run: RunDir, data: DataBundle) -> list[FinalItem]:
    """What the final evaluation scores on the test split, in a fixed order: each
    arm's best template and top-n ensemble, then S-TEMP and DS-TEMP."""
    items = []
    for name, (_, state) in _arm_states(cfg, run).items():
        top = [e.template for e in state.history.top(cfg.eval.top_n)]
        items.append(FinalItem(f"{name}/best", (top[0],), False))
        items.append(FinalItem(f"{name}/top_n", tuple(top), True))
    items.append(FinalItem(S_TEMP, (cfg.search.seed_template,), False))
    if cfg.vlm_kind.ds_temp:
        ds = resolve_ds_templates(cfg.eval.ds_templates, data.name, data.ds_temp_set)
        items.append(FinalItem(DS_TEMP, tuple(ds.templates), True))
    return items


def final_counts(
    scorer: Scorer, items: list[FinalItem], split: Split, classnames: list[str]
) -> list[int]:
    """Correct images of each item on `split` (the test split or a shard's slice of it)."""
    n = len(split)
    singles = [i.templates[0] for i in items if not i.ensemble]
    # No context check: these are templates the search scored, and the baselines.
    # An empty slice (more shards than images) counts 0 without asking the scorer.
    single = iter(scorer.accuracies(singles, split, classnames) if n else [0.0] * len(singles))
    return [
        ensemble_count(scorer, i.templates, split, classnames)
        if i.ensemble
        else to_count(next(single), n)
        for i in items
    ]


def final_evaluation(
    cfg: GlovConfig,
    run: RunDir,
    scorer: Scorer | None,
    data: DataBundle,
    counts: Mapping[str, int] | None = None,
) -> dict:
    """The report's test results. `counts`: correct test images per FinalItem key,
    merged over shards; None scores the whole test split with `scorer` here.

    The arms' figures come from the run directory's step records; the report's
    `test_images` is the denominator of every test accuracy.
    """
    test = data.test
    if len(test) == 0:
        raise DataError("the test split is empty", "give the dataset test images")
    if counts is None:
        if scorer is None:
            raise ValueError("final_evaluation needs a scorer or the test counts")
        items = final_items(cfg, run, data)
        merged = final_counts(scorer, items, test, data.classnames)
        counts = {i.key: c for i, c in zip(items, merged, strict=True)}

    def acc(key: str) -> float | None:
        # None: an item not evaluated (DS-TEMP for a generative VLM; ensembles under
        # the safety objective, glov.runs.safety_report).
        return counts[key] / len(test) if key in counts else None

    arms = {}
    seed_fitness = None
    for name, (records, state) in _arm_states(cfg, run).items():
        # Every arm scores the seed first at step 0: the fitness each arm must beat.
        seed = records[0]["scored"][0] if records[0]["scored"] else None
        if seed_fitness is None and seed and seed["template"] == cfg.search.seed_template:
            seed_fitness = seed["fitness"]
        arm = state.arm
        top = state.history.top(cfg.eval.top_n)
        arms[name] = {
            "method": arm.method,
            "alpha": arm.alpha,
            "steps": len(records) - 1,
            "best_template": top[0].template,
            "best_fitness": top[0].fitness,
            "top_templates": [{"template": e.template, "fitness": e.fitness} for e in top],
            "test_best": acc(f"{name}/best"),
            "test_top_n": acc(f"{name}/top_n"),
            "curve": [r["best"]["fitness"] for r in records],
            "step_best": [r["step_best"] for r in records],
            "candidates_scored": sum(len(r["scored"]) for r in records[1:]),
            # Answer quality (glov.llm.parser): generated = clean + repaired + rejected.
            **answer_totals(records),
            "answers_per_step": [step_answers(r) for r in records[1:]],
            "guided_steps": sum(1 for r in records if r["guidance"].get("applied")),
            "llm_new_tokens": sum(r["llm"]["new_tokens"] for r in records),
            "llm_seconds": sum(r["llm"]["seconds"] for r in records),
        }
    selected = _select(cfg, arms)
    ds = resolve_ds_templates(cfg.eval.ds_templates, data.name, data.ds_temp_set)
    return {
        "baselines": {
            "s_temp": {
                "template": cfg.search.seed_template,
                "fitness": seed_fitness,
                "test": acc(S_TEMP),
            },
            "ds_temp": {
                "set": ds.name,
                "templates": len(ds.templates),
                "test": acc(DS_TEMP),
            }
            if cfg.vlm_kind.ds_temp
            else {"set": None, "templates": 0, "test": None, "note": DS_TEMP_NOT_APPLICABLE},
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
