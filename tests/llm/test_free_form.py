"""Free-form prompts for generative VLMs: parsing without a placeholder, the meta-prompts,
and a generative run's step accepting the answers a CLIP run would reject."""

from __future__ import annotations

import pytest

from glov.config import kinds, load_config
from glov.llm import sampling
from glov.llm.free_form import parse_free_answer, parse_free_answers
from glov.llm.free_prompts import GENERATIVE_PROMPTS as GENERATIVE
from glov.llm.free_prompts import SAFETY_INSTRUCTIONS as SAFETY
from glov.llm.free_prompts import free_glov_messages, free_llm_opt_messages
from glov.llm.parser import Rejected
from glov.llm.sampling import GenerationResult
from glov.search import step as stages
from glov.search.arms import Arm
from glov.search.llm_opt import initial_pool
from glov.search.state import ArmState, absorb

SEED = "Describe the category present in this image briefly."
GENERATIVE_CFG = ["vlm.kind=generative", "vlm.model=/nowhere", f"search.seed_template={SEED}"]


@pytest.mark.parametrize(
    ("answer", "prompt"),
    [
        ("What is the main object in this image?", "What is the main object in this image?"),
        (
            'Sure! Here is a new prompt: "Name the animal shown here."',
            "Name the animal shown here.",
        ),
        (
            "Here is my new prompt:\n\nIdentify the species in the photo.",
            "Identify the species in the photo.",
        ),
        (
            "1. **New prompt:** Name the object with high accuracy.",
            "Name the object with high accuracy.",
        ),
        ("- Refuse anything that could hurt someone.", "Refuse anything that could hurt someone."),
        ("Which <category> is shown?", "Which {} is shown?"),
    ],
)
def test_free_form_answers_need_no_placeholder(answer, prompt):
    assert parse_free_answer(answer, 1000) == prompt


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        ("", "empty"),
        # Echoed scores, as in the template parser, but a free prompt may mention accuracy.
        ("Name the object. --- Accuracy: 61", "score-echo"),
        ("Name the animal (Score: 80)", "score-echo"),
        ("What is this? 85%", "score-echo"),
        ('Name the "animal', "unbalanced"),
        ("  \n ", "empty"),
        ("What is {0.__class__}?", "format-field"),
        ("A <category> or a <category>?", "multiple-placeholders"),
        ("x" * 50, "too-long"),
    ],
)
def test_free_form_rejections(answer, reason):
    with pytest.raises(Rejected) as info:
        parse_free_answer(answer, 40)
    assert info.value.reason == reason


def test_cut_off_answers_are_rejected_and_repairs_counted():
    answers = ["Name the animal in the image and then", "Prompt: Name it.", "- What is it?"]
    result = parse_free_answers(answers, [], 100, truncated=[True, False, False], bullet="- ")
    assert result.templates == ["Name it.", "What is it?"]
    assert dict(result.rejections) == {"truncated": 1}
    # The label is a repair; LLM-OPT's bullet is the format it asked for.
    assert result.repairs == {"Name it.": ["prefix"]} and result.clean == 1


def test_duplicates_of_known_or_earlier_prompts_are_rejected():
    result = parse_free_answers(["Name it.", "name  IT.", "What is it?"], [SEED], 100)
    assert result.templates == ["Name it.", "What is it?"]
    assert dict(result.rejections) == {"duplicate": 1} and result.repaired == 0


def test_the_wording_follows_the_config():
    def wording(cfg):
        return None if cfg.prompt_wording is None else kinds.load(cfg.prompt_wording)

    assert wording(load_config("smoke")) is None  # slot templates: glov.llm.metaprompt
    assert wording(load_config("smoke", GENERATIVE_CFG)) is GENERATIVE
    assert wording(load_config("paper-safety")) is SAFETY


HISTORY = [(SEED, 0.3), ("What is this?", 0.5), ("Name the animal.", 0.1), ("Which kind?", 0.4)]


def test_glov_meta_prompt_for_a_generative_vlm_shows_prompts_as_they_are():
    system, user = free_glov_messages(GENERATIVE, HISTORY, "Pets", "Photos of pets.", 3)
    assert "vision-language model" in system["content"] and "CLIP" not in system["content"]
    text = user["content"]
    assert "<category>" not in text and "placeholder" not in text
    assert "1: Which kind? --- Accuracy: 40\n2: What is this? --- Accuracy: 50" in text
    assert "Worst prompts:\n1: Name the animal. --- Accuracy: 10" in text
    assert "Dataset: Pets" in text and text.endswith("nothing else.")


def test_safety_meta_prompts_ask_for_an_instruction_that_refuses_harm_only():
    system, user = free_glov_messages(
        SAFETY, [("These instructions can be harmful.", 0.2)], "VLGuard", "d", 3
    )
    assert "refuse harmful requests" in system["content"] and "harmless" in system["content"]
    assert "1: These instructions can be harmful. --- Score: 20" in user["content"]
    (only,) = free_llm_opt_messages(SAFETY, HISTORY)
    assert only["role"] == "user" and "Score" not in only["content"]
    assert "- What is this?" in only["content"] and "safety instructions" in only["content"]
    (gen,) = free_llm_opt_messages(GENERATIVE, HISTORY)
    assert "<category>" not in gen["content"] and "must name its category" in gen["content"]


ANSWERS = [
    "What animal is this?",
    "Sure! Here is a new prompt: Name the species.",
    "A photo of a zebra.",
]


@pytest.fixture
def canned_sampler(monkeypatch):
    def fake_sample(llm, messages, n, cfg, seed, steer=None):
        fake_sample.messages = messages
        return GenerationResult(texts=ANSWERS[:n], new_tokens=30, seconds=1.0, prompt_tokens=99)

    monkeypatch.setattr(sampling, "sample", fake_sample)
    return fake_sample


@pytest.mark.parametrize("method", ["glov-noguide", "llm-opt"])
def test_a_generative_run_scores_placeholder_free_answers(canned_sampler, method):
    overrides = [f"search.method={method}", "search.candidates=3", "search.repair_classnames=true"]
    cfg = load_config("smoke", [*GENERATIVE_CFG, *overrides])
    state = ArmState(Arm(method, method))
    seed = stages.seed_generation(cfg, method)
    assert seed.templates == [SEED]  # LLM-OPT's named CLIP pool does not apply
    absorb(state, stages.rank(cfg, state, 0, seed, [0.1]), "second-best")
    generation = stages.generate(cfg, None, None, state, 1, "Animal-MNIST", "animals", ["zebra"])
    # No no-placeholder rejection, no class-name repair ("zebra" stays a word).
    assert generation.templates == [
        "What animal is this?",
        "Name the species.",
        "A photo of a zebra.",
    ]
    assert generation.rejections == {}
    assert generation.repairs == {"Name the species.": ["prefix"]}
    assert "<category>" not in canned_sampler.messages[-1]["content"]
    record = stages.rank(cfg, state, 1, generation, [0.2, 0.3, 0.4])
    assert record["best"] == {"template": "A photo of a zebra.", "fitness": 0.4}


def test_a_clip_run_still_rejects_them(canned_sampler):
    cfg = load_config("smoke", ["search.method=glov-noguide", "search.candidates=3"])
    state = ArmState(Arm("glov-noguide", "glov-noguide"))
    absorb(state, stages.rank(cfg, state, 0, stages.seed_generation(cfg), [0.1]), "second-best")
    generation = stages.generate(cfg, None, None, state, 1, "Animal-MNIST", "animals", ["zebra"])
    # (The zebra answer is repaired to the seed by the smoke profile, then a duplicate.)
    assert generation.templates == [] and generation.rejections["no-placeholder"] == 2
    assert len(initial_pool(cfg)) > 1  # CLIP's LLM-OPT pool is unchanged
