"""Model families beyond LLaVA: Qwen2-VL answers through the plain path (its M-RoPE positions
rule out prefix reuse); the original Molmo, which the stock transformers classes cannot load,
is refused with the reason."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from bench.random_vlm import save_random_qwen2_vl
from glov.config import VLMConfig
from glov.data import load_image
from glov.errors import ModelError
from glov.vlm.generative.loading import load_vlm
from glov.vlm.generative.plain import generate_plain
from glov.vlm.generative.prefix_reuse import supports_prefix_reuse
from glov.vlm.generative.scorer import GenerativeScorer
from tests.vlm.generative.helpers import PROMPTS


@pytest.fixture(scope="module")
def tiny_qwen2_vl_dir(tmp_path_factory, smollm2) -> Path:
    return save_random_qwen2_vl(
        tmp_path_factory.mktemp("tiny-qwen2-vl") / "model", copy.deepcopy(smollm2.tokenizer)
    )


def test_qwen2_vl_answers_through_plain_generate(tiny_qwen2_vl_dir, split, tmp_path):
    cfg = VLMConfig(
        kind="generative",
        model=str(tiny_qwen2_vl_dir),
        device="cpu",
        dtype="float32",
        max_new_tokens=8,
        batch_size=3,
        prefix_reuse=True,  # asked for, but M-RoPE positions rule it out
    )
    scorer = GenerativeScorer(cfg, tmp_path / "cache")
    assert type(scorer.vlm.model).__name__ == "Qwen2VLForConditionalGeneration"
    assert not supports_prefix_reuse(scorer.vlm.model) and not scorer.prefix_reuse
    answers = scorer.answers(PROMPTS[:3], split)
    assert scorer.prefixes.misses == 0 and scorer.cache_misses == 3 * len(split)
    # The same answers as a direct batched generate over the rendered chats.
    chats = [scorer.chat(scorer.prompt(p)) for p in PROMPTS[:3]]
    images = [load_image(p) for p in split.paths]
    ids = generate_plain(scorer.vlm, images * 3, [c for c in chats for _ in images], 8, 4)
    decoded = [scorer.vlm.tokenizer.decode(i, skip_special_tokens=True).strip() for i in ids]
    assert [a for row in answers for a in row] == decoded
    assert len(set(decoded)) > 1  # random weights: answers differ, not trivially equal
    # A second scorer reads every answer from the cache.
    again = GenerativeScorer(cfg, tmp_path / "cache")
    assert again.answers(PROMPTS[:3], split) == answers and again.cache_misses == 0


def test_the_original_molmo_is_refused_with_the_reason(tmp_path):
    # allenai/Molmo-7B-D-0924's config: model_type molmo, its own code behind auto_map.
    (tmp_path / "config.json").write_text(
        json.dumps(
            {
                "model_type": "molmo",
                "architectures": ["MolmoForCausalLM"],
                "auto_map": {
                    "AutoConfig": "config_molmo.MolmoConfig",
                    "AutoModelForCausalLM": "modeling_molmo.MolmoForCausalLM",
                },
            }
        )
    )
    cfg = VLMConfig(kind="generative", model=str(tmp_path), device="cpu", trust_remote_code=True)
    with pytest.raises(ModelError) as err:
        load_vlm(tmp_path, cfg)
    message = f"{err.value} {err.value.fix}"
    assert "Molmo" in message and "generate_from_batch" in message
    assert "AutoModelForImageTextToText" in message and "Molmo2" in err.value.fix
