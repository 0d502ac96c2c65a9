"""The paper profiles hold the paper's table rows and settings: GLOV without guidance beside
GLOV, the alpha sweep, fp16 where the reference runs fp16, the readout, the system turn of the
reference's chat template, the catalogue's ImageNet, VLGuard's protocol."""

from __future__ import annotations

import pytest

from glov.config import load_config
from glov.search.arms import arms_for
from glov.vlm.generative.readout import PAPER_READOUT

SWEEP = [1.0, 0.75, 0.5, 0.25]


@pytest.mark.parametrize("profile", ["paper-clip", "paper-llava", "paper-safety"])
def test_paper_profiles_run_the_sweep_and_the_no_guidance_row_in_fp16(profile):
    cfg = load_config(profile)
    assert cfg.guidance.alphas == SWEEP
    names = [arm.name for arm in arms_for(cfg)]
    assert names == [f"glov-alpha{a:g}" for a in SWEEP] + ["glov-noguide"]
    assert cfg.llm.dtype == "float16" and cfg.vlm.dtype == "float16"


def test_generative_paper_profiles_use_the_reference_chat_and_readout():
    llava = load_config("paper-llava")
    safety = load_config("paper-safety")
    for cfg in (llava, safety):
        assert cfg.vlm.system_prompt == "You are a helpful assistant."
    assert llava.vlm.readout == PAPER_READOUT
    assert load_config("paper-clip").vlm.system_prompt is None  # generative chats only


def test_paper_classification_profiles_read_imagenet_from_the_catalogue():
    for profile in ("paper-clip", "paper-llava"):
        assert load_config(profile).data.dataset == "imagenet"


def test_paper_safety_takes_vlguards_protocol():
    objective = load_config("paper-safety").objective
    assert objective.refusal == "vlguard" and objective.eval_max_new_tokens == 256
    assert (objective.annotations, objective.fitness_annotations) == (
        "test/test.json",
        "train/train.json",
    )
    assert objective.fitness_subsets == ["unsafes", "safe_unsafes"]
    assert objective.no_instruction_row and objective.fitness_pairs == 50
