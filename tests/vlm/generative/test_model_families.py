"""Model families beyond LLaVA: Qwen2-VL answers through the plain path (its M-RoPE positions
rule out prefix reuse); the original Molmo, which the stock transformers classes cannot load,
is refused with the reason."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
import torch

from glov.config import VLMConfig
from glov.data import load_image
from glov.errors import ModelError
from glov.vlm.generative.loading import load_vlm
from glov.vlm.generative.plain import generate_plain
from glov.vlm.generative.prefix_reuse import supports_prefix_reuse
from glov.vlm.generative.scorer import GenerativeScorer
from tests.vlm.generative.helpers import PROMPTS

# Qwen2-VL's chat: an image is <|vision_start|><|image_pad|><|vision_end|> in the user turn.
QWEN2_VL_TEMPLATE = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n"
    "{% if message['content'] is string %}{{ message['content'] }}{% else %}"
    "{% for item in message['content'] %}{% if item['type'] == 'image' %}"
    "<|vision_start|><|image_pad|><|vision_end|>"
    "{% elif item['type'] == 'text' %}{{ item['text'] }}{% endif %}{% endfor %}{% endif %}"
    "<|im_end|>\n{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
SPECIAL = ["<|vision_start|>", "<|image_pad|>", "<|vision_end|>", "<|video_pad|>"]


def save_tiny_qwen2_vl(target: Path, tokenizer) -> Path:
    """A random-weight Qwen2-VL (2 vision blocks, 2 text layers, 32 wide) with its processor."""
    from transformers import (
        Qwen2VLConfig,
        Qwen2VLForConditionalGeneration,
        Qwen2VLImageProcessor,
        Qwen2VLProcessor,
        Qwen2VLVideoProcessor,
    )

    tokenizer.add_special_tokens({"additional_special_tokens": SPECIAL})
    ids = dict(zip(SPECIAL, tokenizer.convert_tokens_to_ids(SPECIAL), strict=True))
    config = Qwen2VLConfig(
        text_config={
            "hidden_size": 32,
            "intermediate_size": 64,
            "num_hidden_layers": 2,
            "num_attention_heads": 4,
            "num_key_value_heads": 2,
            "vocab_size": len(tokenizer),
            "max_position_embeddings": 2048,
            # M-RoPE: temporal, height and width sections of the 4 rotary pairs per head.
            "rope_parameters": {"rope_type": "default", "mrope_section": [2, 1, 1]},
            "pad_token_id": tokenizer.pad_token_id,
            "eos_token_id": tokenizer.eos_token_id,
            "bos_token_id": tokenizer.bos_token_id,
        },
        vision_config={
            "depth": 2,
            "embed_dim": 32,
            "hidden_size": 32,
            "num_heads": 2,
            "patch_size": 14,
            "spatial_merge_size": 2,
            "temporal_patch_size": 2,
        },
        image_token_id=ids["<|image_pad|>"],
        video_token_id=ids["<|video_pad|>"],
        vision_start_token_id=ids["<|vision_start|>"],
        vision_end_token_id=ids["<|vision_end|>"],
    )
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        model = Qwen2VLForConditionalGeneration(config).eval()
    # Small images: 56x56 pixels at most, 4x4 patches merged 2x2 into 4 image tokens.
    pixels = {"min_pixels": 28 * 28, "max_pixels": 56 * 56}
    processor = Qwen2VLProcessor(
        image_processor=Qwen2VLImageProcessor(**pixels),
        video_processor=Qwen2VLVideoProcessor(**pixels),
        tokenizer=tokenizer,
        chat_template=QWEN2_VL_TEMPLATE,
    )
    target.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(target)
    processor.save_pretrained(target)
    return target


@pytest.fixture(scope="module")
def tiny_qwen2_vl_dir(tmp_path_factory, smollm2) -> Path:
    return save_tiny_qwen2_vl(
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
