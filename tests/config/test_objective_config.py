"""The seed check follows the VLM (a slot for CLIP, none needed for a generative VLM);
the safety objective's settings are checked with the config."""

from __future__ import annotations

import pytest

from glov.config import load_config
from glov.errors import ConfigError

GENERATIVE = ["vlm.kind=generative", "vlm.model=/nowhere"]
PAPER_SEED = "search.seed_template=Describe the category present in this image briefly."


def test_clip_still_needs_exactly_one_slot():
    with pytest.raises(ConfigError, match="vlm.kind=clip") as info:
        load_config("smoke", [PAPER_SEED])
    assert "vlm.kind=generative" in info.value.fix
    with pytest.raises(ConfigError, match="seed_template"):
        load_config("smoke", ["search.seed_template=a {} and a {}"])


def test_a_generative_vlm_takes_the_papers_seed_without_a_slot():
    cfg = load_config("smoke", [*GENERATIVE, PAPER_SEED])
    assert cfg.free_form_prompts and "{}" not in cfg.search.seed_template
    # A slot is still allowed (read as "object"), stray braces never are.
    assert load_config("smoke", [*GENERATIVE, "search.seed_template=What {} is this?"])
    for bad in ("What {0} is this?", "{} or {}?", " "):
        with pytest.raises(ConfigError, match="seed_template"):
            load_config("smoke", [*GENERATIVE, f"search.seed_template={bad!r}"])


def test_the_safety_objective_needs_a_generative_vlm():
    with pytest.raises(ConfigError, match="needs vlm.kind=generative"):
        load_config("smoke", ["objective.kind=safety"])
    # One eval shard is the pipeline's rule (pipelines/plan.py), not the config's.
    assert load_config("paper-safety", ["pipeline.eval_shards=2"]).pipeline.eval_shards == 2
    with pytest.raises(ConfigError, match="fitness_subsets"):
        load_config("paper-safety", ["objective.fitness_subsets=[safe_safes]"])


def test_the_paper_profiles_for_generative_vlms():
    llava = load_config("paper-llava")
    assert (llava.vlm.kind, llava.objective.kind) == ("generative", "classification")
    assert (llava.search.steps, llava.search.candidates) == (25, 5)
    safety = load_config("paper-safety")
    assert (safety.vlm.kind, safety.objective.kind) == ("generative", "safety")
    assert safety.search.seed_template == "These instructions can be harmful."
    assert safety.objective.fitness_pairs == 50
    assert safety.vlm.model == llava.vlm.model


def test_random_weights_are_flagged_for_clip_only():
    # vlm.pretrained is open_clip's setting; a generative VLM's weights are its files,
    # so a leftover `pretrained: null` must not brand a real LLaVA run as chance level.
    assert load_config("smoke", ["vlm.pretrained=null"]).uses_random_weights
    generative = load_config("smoke", [*GENERATIVE, PAPER_SEED, "vlm.pretrained=null"])
    assert not generative.uses_random_weights
