"""The VLM's context caps templates before scoring; the LLM-OPT arm is LLM-OPT."""

from __future__ import annotations

import pytest

from glov.config import load_config
from glov.data import Split
from glov.errors import ConfigError
from glov.llm import sampling
from glov.llm.sampling import GenerationResult
from glov.search import step as stages
from glov.search.arms import Arm
from glov.search.candidates import ask_seed
from glov.search.state import ArmState, absorb, replay
from glov.vlm.baselines import ds_templates


class FakeScorer:
    """Templates longer than `max_chars` do not fit; fitness is 1 / length."""

    cache_hits = cache_misses = 0

    def __init__(self, max_chars: int):
        self.max_chars = max_chars
        self.scored: list[str] = []

    def fits_context(self, templates, classnames):
        return [len(t) <= self.max_chars for t in templates]

    def accuracies(self, templates, split, classnames):
        self.scored += templates
        return [1 / len(t) for t in templates]


def _cfg(*extra: str):
    return load_config("smoke", ["search.candidates=3", *extra])


def _state(cfg, method: str) -> ArmState:
    state = ArmState(Arm(method, method))
    gen = stages.seed_generation(cfg, method)
    absorb(state, stages.rank(cfg, state, 0, gen, [0.1] * len(gen.templates)), "second-best")
    return state


def test_templates_beyond_the_context_are_rejected_before_scoring():
    cfg = _cfg()
    state = _state(cfg, "glov")
    long = "a " * 30 + "{}"
    scorer = FakeScorer(max_chars=40)
    templates = ["a photo of a {}.", long, "the {}."]
    # 112 images: the fake accuracies 1/16 and 1/7 are whole counts of them.
    split = Split(("x.png",) * 112, (0,) * 112)
    fitnesses = stages.evaluate(scorer, templates, split, ["cat"])
    assert scorer.scored == ["a photo of a {}.", "the {}."]
    assert fitnesses == [1 / 16, None, 1 / 7]
    gen = stages.Generation(templates, {"duplicate": 1}, answers=["x"] * 4)
    record = stages.rank(cfg, state, 1, gen, fitnesses)
    assert [c["template"] for c in record["scored"]] == ["a photo of a {}.", "the {}."]
    assert record["rejected"] == {"duplicate": 1, "too-long": 1}
    assert long not in {e.template for e in state.history.ranked}
    # A reused step (resume, pipeline tasks) reads the same templates back.
    assert stages.Generation.from_record(record).templates == ["a photo of a {}.", "the {}."]


def test_a_seed_beyond_the_context_is_a_config_error():
    cfg = _cfg()
    state = ArmState(Arm("glov", "glov"))
    with pytest.raises(ConfigError, match="seed_template"):
        stages.rank(cfg, state, 0, stages.seed_generation(cfg), [None])


def test_the_default_character_cap_admits_long_glov_templates():
    from glov.llm.parser import parse_answer

    # GLOV's published CLIP prompts reach 249 characters.
    long = "A close-up photograph of a <category>, " + "with fine detail, " * 11 + "in daylight."
    assert 240 < len(long) < 300
    assert parse_answer(long, _cfg().search.max_template_chars).count("{}") == 1


def test_llm_opt_step_zero_scores_the_seed_then_its_pool():
    cfg = _cfg()
    gen = stages.seed_generation(cfg, "llm-opt")
    assert gen.templates[0] == cfg.search.seed_template
    pool = ds_templates("imagenet")  # CLIP's 80, one of them the seed in lower case
    assert gen.templates[1:] == [t for t in pool if t != "a photo of a {}."]
    # Other arms still start from the seed alone.
    assert stages.seed_generation(cfg, "glov").templates == [cfg.search.seed_template]
    fitness = [0.1] + [0.3] * (len(gen.templates) - 1)
    record = stages.rank(cfg, ArmState(Arm("llm-opt", "llm-opt")), 0, gen, fitness)
    state = replay(Arm("llm-opt", "llm-opt"), [record])
    assert state.seed_fitness == 0.1 and len(state.history) == len(gen.templates)


@pytest.fixture
def asks(monkeypatch):
    """Canned answers per ask; records (n, seed, messages) of every sampling call."""
    calls: list[tuple[int, int, list]] = []
    script: list[list[str]] = []

    def fake_sample(llm, messages, n, cfg, seed, steer=None):
        calls.append((n, seed, messages))
        texts = script[min(len(calls), len(script)) - 1][:n]
        return GenerationResult(texts=texts, new_tokens=5 * n, seconds=0.5, prompt_tokens=10)

    monkeypatch.setattr(sampling, "sample", fake_sample)
    return calls, script


def test_llm_opt_re_asks_until_answers_hold_the_slot(asks):
    calls, script = asks
    script += [
        ["- A pencil drawing of a <category>.", "no slot at all", "- {x} here"],
        ["- a sketch of the <category>", "still nothing"],
        ["- an origami <category>."],
    ]
    cfg = _cfg()
    state = _state(cfg, "llm-opt")
    gen = stages.generate(cfg, None, None, state, 1, "Animal-MNIST", "animals")
    assert [c[0] for c in calls] == [3, 2, 1]
    seed = calls[0][1]
    assert [c[1] for c in calls] == [ask_seed(seed, 0), ask_seed(seed, 1), ask_seed(seed, 2)]
    assert len({c[1] for c in calls}) == 3
    assert gen.templates == ["A pencil drawing of a {}.", "a sketch of the {}", "an origami {}."]
    assert gen.rejections == {"no-placeholder": 2, "format-field": 1}
    assert len(gen.answers) == 6 and gen.new_tokens == 30
    # LLM-OPT's prompt: one user message, good and bad lists, no scores, no dataset.
    (message,) = calls[0][2]
    assert message["role"] == "user"
    assert "Accuracy" not in message["content"] and "animals" not in message["content"]


def test_llm_opt_asks_are_bounded_and_glov_asks_once(asks):
    calls, script = asks
    script.append(["no slot"] * 3)
    cfg = _cfg("search.llm_opt_asks=4")
    gen = stages.generate(cfg, None, None, _state(cfg, "llm-opt"), 1, "A", "animals")
    assert len(calls) == 4 and gen.templates == [] and gen.rejections == {"no-placeholder": 12}
    calls.clear()
    gen = stages.generate(cfg, None, None, _state(cfg, "glov-noguide"), 1, "A", "animals")
    assert len(calls) == 1 and gen.rejections == {"no-placeholder": 3}
