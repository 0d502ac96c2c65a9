"""The tasks of evaluation sharded over pods (pipeline.eval_shards > 1).

A step's evaluate and the final test evaluation run as N tasks in parallel,
each scoring its slice of the split (glov.search.shards.shard_split) into
counts of correct images; rank and the final report merge the counts, so the
fitnesses and test accuracies are the floats the unsharded evaluation gives.

Shard artifacts (JSON):
- step shard: arm, step, reused, eval_seconds, feature_cache and `counts`
  (ShardCounts: correct images per candidate, None beyond the VLM's context)
- final plan: reused, `items`: what the final shards score (each arm's best
  template and top-n ensemble, S-TEMP, DS-TEMP), fixed once for every shard
- final shard: reused and `counts` (correct test images per planned item)

A shard of a step or report already in the run directory scores nothing
(reused); rank and the final report then reuse that record or report.
"""

from __future__ import annotations

import time

from components.tasks.artifacts import arm_from_dict, open_run, read_data, read_json, write_json
from components.tasks.final import check_histories, publish_report
from components.tasks.steps import PIPELINE_LABEL, rank_scores
from glov.data import DataBundle
from glov.errors import RunDirError
from glov.runs.evaluation import FinalItem, final_counts, final_items
from glov.runs.execute import finished_record
from glov.runs.finish import finish_run, finished_report
from glov.runs.loaded_models import Models
from glov.search.shards import (
    ShardCounts,
    accuracies_from_counts,
    merge_counts,
    shard_split,
    template_counts,
)


def evaluate_shard_task(
    config_path: str,
    data_path: str,
    candidates_path: str,
    shard: int,
    shards: int,
    out_path: str,
) -> dict:
    """Correct images of each candidate on this shard's slice of the fitness split."""
    cfg, run = open_run(config_path)
    cand = read_json(candidates_path)
    a, step = arm_from_dict(cand["arm"]), int(cand["step"])
    doc: dict = {"arm": cand["arm"], "step": step, "shard": shard, "shards": shards}
    if finished_record(run, a, step) is not None:
        write_json(out_path, {**doc, "reused": True})
        return doc
    data = read_data(cfg, data_path)
    part = shard_split(data.fitness, shard, shards)
    scorer = Models(cfg, run=run).scorer
    t0 = time.perf_counter()
    correct = template_counts(scorer, cand["generation"]["templates"], part, data.classnames)
    doc.update(
        reused=False,
        counts=ShardCounts(shard, shards, len(part), correct).to_json(),
        eval_seconds=time.perf_counter() - t0,
        feature_cache={"hits": scorer.cache_hits, "misses": scorer.cache_misses},
    )
    write_json(out_path, doc)
    return doc


def merge_step_scores(candidates: dict, shard_docs: list[dict]) -> dict:
    """The shards' counts as evaluate's scores document (what rank reads)."""
    for d in shard_docs:
        if d["arm"] != candidates["arm"] or int(d["step"]) != int(candidates["step"]):
            raise RunDirError(
                f"rank of step {candidates['step']} of arm {candidates['arm']['name']} got a "
                f"shard of step {d['step']} of arm {d['arm']['name']}",
                "this is a bug in the pipeline wiring; please report it",
            )
    correct, images = merge_counts([ShardCounts.from_json(d["counts"]) for d in shard_docs])
    hits = sum(d["feature_cache"]["hits"] for d in shard_docs)
    misses = sum(d["feature_cache"]["misses"] for d in shard_docs)
    return {
        "arm": candidates["arm"],
        "step": candidates["step"],
        "reused": False,
        "fitnesses": accuracies_from_counts(correct, images),
        # The shards run in parallel: the step waited for the slowest one.
        "eval_seconds": max(d["eval_seconds"] for d in shard_docs),
        "feature_cache": {"hits": hits, "misses": misses},
        "shards": len(shard_docs),
    }


def rank_shards_task(
    config_path: str,
    history_path: str,
    candidates_path: str,
    shard_paths: list[str],
    history_out: str,
    table_out: str,
) -> dict[str, float]:
    """rank_task over the merged counts of the step's evaluation shards."""
    cand = read_json(candidates_path)
    docs = [read_json(p) for p in shard_paths]
    if any(d.get("reused") for d in docs):
        # The step was recorded before the shards ran: rank reuses the record.
        _, run = open_run(config_path)
        if finished_record(run, arm_from_dict(cand["arm"]), int(cand["step"])) is None:
            raise RunDirError(
                f"step {cand['step']} of arm {cand['arm']['name']}: a shard reused a step "
                "record that the run directory does not hold",
                "re-run the pipeline with the same run_id: finished steps are reused",
            )
        scores = {"fitnesses": [], "eval_seconds": 0.0, "feature_cache": {}}
    else:
        scores = merge_step_scores(cand, docs)
    return rank_scores(config_path, history_path, candidates_path, scores, history_out, table_out)


def _items_json(items: list[FinalItem]) -> list[dict]:
    return [{"key": i.key, "templates": list(i.templates), "ensemble": i.ensemble} for i in items]


def final_plan_task(config_path: str, data_path: str, histories: list[str], out_path: str) -> dict:
    """What the final shards score: every arm's best template and top-n ensemble,
    S-TEMP and DS-TEMP, fixed once so that every shard scores the same."""
    cfg, run = open_run(config_path)
    check_histories(cfg, histories)
    if finished_report(cfg, run) is not None:
        doc = {"reused": True, "items": []}
    else:
        # Only names and templates are needed here: no images are fetched.
        data = DataBundle.from_json(read_json(data_path))
        doc = {"reused": False, "items": _items_json(final_items(cfg, run, data))}
    write_json(out_path, doc)
    return doc


def final_shard_task(
    config_path: str, data_path: str, plan_path: str, shard: int, shards: int, out_path: str
) -> dict:
    """Correct images of every planned item on this shard's slice of the test split."""
    cfg, run = open_run(config_path)
    plan = read_json(plan_path)
    doc: dict = {"shard": shard, "shards": shards, "reused": plan["reused"]}
    if not plan["reused"]:
        data = read_data(cfg, data_path)
        items = [FinalItem(i["key"], tuple(i["templates"]), i["ensemble"]) for i in plan["items"]]
        part = shard_split(data.test, shard, shards)
        correct = final_counts(Models(cfg, run=run).scorer, items, part, data.classnames)
        doc["counts"] = ShardCounts(shard, shards, len(part), list(correct)).to_json()
    write_json(out_path, doc)
    return doc


def final_report_task(
    config_path: str,
    data_path: str,
    plan_path: str,
    shard_paths: list[str],
    markdown_out: str,
    report_out: str,
) -> dict[str, float]:
    """The report from the final shards' merged counts (no VLM: runs on a CPU pod)."""
    cfg, run = open_run(config_path)
    report = finished_report(cfg, run)
    if report is None:
        data = DataBundle.from_json(read_json(data_path))  # sizes and names, no images
        items = final_items(cfg, run, data)
        plan = read_json(plan_path)
        if plan["reused"] or plan["items"] != _items_json(items):
            raise RunDirError(
                "the final evaluation's shards scored other templates than the run "
                "directory's arms give now (steps were recorded while they ran?)",
                "re-run the pipeline with the same run_id: finished steps are reused",
            )
        docs = [read_json(p) for p in shard_paths]
        correct, images = merge_counts([ShardCounts.from_json(d["counts"]) for d in docs])
        if images != len(data.test):
            raise RunDirError(
                f"the final shards scored {images} test images, the test split has "
                f"{len(data.test)}",
                "this is a bug in the sharded evaluation; please report it",
            )
        counts = {i.key: int(c or 0) for i, c in zip(items, correct, strict=True)}
        report = finish_run(cfg, run, None, data, PIPELINE_LABEL, counts=counts)
    return publish_report(report, markdown_out, report_out)
