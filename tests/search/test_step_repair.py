"""The class-name repair from the config switch to the step record and the metrics."""

import pytest

from glov.config import load_config
from glov.llm import sampling
from glov.llm.sampling import GenerationResult
from glov.metrics import RunMetrics
from glov.runs.telemetry import record_step
from glov.search import step as stages
from glov.search.arms import Arm
from glov.search.state import ArmState, absorb

ANSWERS = [
    "A sketch of a <category>.",  # clean
    "A painting of a zebra.",  # repairable
    "A cat next to a dog.",  # two class names: rejected either way
]
CLASSNAMES = ["cat", "dog", "zebra"]


@pytest.fixture
def canned_sampler(monkeypatch):
    # The LLM is not under test: the stage gets fixed answers.
    def fake_sample(llm, messages, n, cfg, seed, steer=None):
        return GenerationResult(texts=ANSWERS[:n], new_tokens=30, seconds=1.0, prompt_tokens=99)

    monkeypatch.setattr(sampling, "sample", fake_sample)


def one_step(repair: bool) -> dict:
    cfg = load_config(
        "smoke",
        ["search.method=glov-noguide", "search.candidates=3", f"search.repair_classnames={repair}"],
    )
    state = ArmState(Arm("glov-noguide", "glov-noguide"))
    absorb(state, stages.rank(cfg, state, 0, stages.seed_generation(cfg), [0.1]), "second-best")
    generation = stages.generate(cfg, None, None, state, 1, "Animal-MNIST", "animals", CLASSNAMES)
    return stages.rank(cfg, state, 1, generation, [0.2] * len(generation.templates))


def test_the_repair_is_off_in_the_defaults(canned_sampler):
    from glov.config.schema import SearchConfig

    assert SearchConfig().repair_classnames is False
    record = one_step(repair=False)
    assert [c["template"] for c in record["scored"]] == ["A sketch of a {}."]
    assert (record["clean"], record["repaired"]) == (1, 0)
    assert record["rejected"] == {"no-placeholder": 2}


def test_repaired_templates_reach_the_record_and_metrics_apart(canned_sampler):
    record = one_step(repair=True)
    assert [c["template"] for c in record["scored"]] == ["A sketch of a {}.", "A painting of a {}."]
    assert (record["clean"], record["repaired"]) == (1, 1)
    assert record["repairs"] == {"class-name": 1}
    assert record["scored"][1]["repairs"] == ["class-name"]
    assert record["rejected"] == {"no-placeholder": 1}
    # A record read back (a reused step) keeps what was repaired.
    assert stages.Generation.from_record(record).repairs == {"A painting of a {}.": ["class-name"]}
    metrics = RunMetrics(
        load_config("smoke").metrics,
        run="r1",
        pipeline="cli",
        method="glov-noguide",
        dataset="animal-mnist",
        model="m",
        llm="smollm2",
        arm="glov-noguide",
    )
    record_step(metrics, record, cache_hits=0, cache_misses=0)
    values = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in metrics.registry.collect()
        for s in family.samples
    }

    def total(metric: str) -> list[float]:
        return [v for (name, _), v in values.items() if name == metric]

    assert total("glov_candidates_repaired_total") == [1.0]
    assert total("glov_candidates_clean_total") == [1.0]
    assert total("glov_candidates_evaluated_total") == [2.0]
