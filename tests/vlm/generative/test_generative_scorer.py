"""The generative scorer: cached answers, readout accuracies, ensembles, context, errors."""

from __future__ import annotations

import pytest

from glov.config import VLMConfig
from glov.errors import ModelError
from glov.vlm.generative.scorer import GenerativeScorer
from tests.vlm.generative.helpers import PROMPTS


def test_a_second_scoring_costs_no_generation_in_this_process_or_another(
    make_generative, split, classnames, cache_dir
):
    first = make_generative()
    acc = first.accuracies(PROMPTS[:3], split, classnames)
    assert first.cache_misses == 3 * len(split) and first.pairs_generated == 3 * len(split)
    assert first.accuracies(PROMPTS[:3], split, classnames) == acc
    assert first.cache_hits == 3 * len(split) and first.pairs_generated == 3 * len(split)
    # Another process (a later run, another pod on the volume): answers come from disk.
    second = make_generative()
    assert second.accuracies(PROMPTS[:3], split, classnames) == acc
    assert (second.cache_hits, second.cache_misses, second.pairs_generated) == (9 * 2, 0, 0)
    # Only the new prompt is generated.
    second.accuracies(PROMPTS[:4], split, classnames)
    assert second.pairs_generated == len(split)


def test_answer_keys_change_with_image_content_and_generation_settings(
    make_generative, split, draw, tmp_path
):
    from pathlib import Path

    scorer = make_generative()
    scorer.answers(PROMPTS[:1], split)
    longer = make_generative(max_new_tokens=13)
    longer.answers(PROMPTS[:1], split)
    assert longer.cache_misses == len(split)
    draw(Path(split.paths[0]), (1, 2, 3), offset=5)  # same path, new content
    again = make_generative()
    again.answers(PROMPTS[:1], split)
    assert (again.cache_hits, again.cache_misses) == (len(split) - 1, 1)


def test_accuracy_is_the_readout_of_the_answers_and_ensembles_average_them(
    make_generative, split, classnames
):
    scorer = make_generative()
    answers = scorer.answers(PROMPTS[:2], split)
    for row, acc in zip(answers, scorer.accuracies(PROMPTS[:2], split, classnames), strict=True):
        preds = scorer.readout.classify(row, classnames)
        assert acc == sum(p == y for p, y in zip(preds, split.labels, strict=True)) / len(split)
    # One template: the ensemble is its own readout.
    single = scorer.accuracy(PROMPTS[0], split, classnames)
    assert scorer.ensemble_accuracy([PROMPTS[0]], split, classnames) == single
    assert 0.0 <= scorer.ensemble_accuracy(PROMPTS[:2], split, classnames) <= 1.0


def test_prompts_show_the_slot_as_a_generic_noun_and_end_with_the_suffix(make_generative):
    scorer = make_generative()
    assert scorer.prompt("A photo of a {}.") == "A photo of a object.?"
    assert make_generative(prompt_suffix="").prompt("What is it") == "What is it"


def test_fits_context_counts_image_prompt_and_answer_tokens(make_generative, classnames):
    scorer = make_generative()
    assert scorer.fits_context(["What is it", "word " * 3000], classnames) == [True, False]


def test_unusable_model_sources_are_model_errors_with_a_fix(tmp_path):
    for source in (str(tmp_path / "missing" / "dir"), str(tmp_path), "s3://models/llava/"):
        with pytest.raises(ModelError) as err:
            GenerativeScorer(VLMConfig(kind="generative", model=source, device="cpu"), tmp_path)
        assert err.value.fix
