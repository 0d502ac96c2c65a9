"""Randomly initialised VLM directories, for offline tests and speed benches.

A model built from a config (a CLIP vision tower, a projector and a Llama or
Qwen2 text model; LLaVA-OneVision's SigLIP tower with anyres grids; or a tiny
Qwen2-VL) with a real tokenizer stands in for a downloaded one (bench/random_models.py says
why). The directory is written with save_pretrained and loads like any user's
model (AutoModelForImageTextToText + AutoProcessor).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench.model_shapes import Shape
from bench.random_models import decoder_config, random_weights, token_ids

# The tests' sizes, the builders' default.
TINY = Shape()
IMAGE_TOKEN = "<image>"
# ChatML with the image before the text of a turn, as LLaVA-OneVision renders it.
CHAT_TEMPLATE = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n"
    "{% if message['content'] is string %}{{ message['content'] }}{% else %}"
    "{% for item in message['content'] %}{% if item['type'] == 'image' %}<image>\n"
    "{% elif item['type'] == 'text' %}{{ item['text'] }}{% endif %}{% endfor %}{% endif %}"
    "<|im_end|>\n{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def _save(target: Path, model: Any, processor: Any) -> Path:
    """`target` as a user's model directory: weights, config, processor and tokenizer."""
    target.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(target)
    processor.save_pretrained(target)
    return target


def image_tokens(shape: Shape) -> int:
    """Image tokens per image: one per patch (the CLS token is dropped)."""
    return (shape.image_size // shape.patch_size) ** 2


def _text_config(shape: Shape, tokenizer: Any) -> Any:
    """The language model's config: `shape`'s sizes, the tokenizer's vocabulary and specials."""
    return decoder_config(
        shape.text_type,
        hidden_size=shape.hidden,
        intermediate_size=shape.intermediate,
        num_hidden_layers=shape.layers,
        num_attention_heads=shape.heads,
        num_key_value_heads=shape.kv_heads,
        vocab_size=len(tokenizer),
        max_position_embeddings=shape.context,
        **token_ids(tokenizer),
    )


def _vision_sizes(shape: Shape) -> dict[str, int]:
    """The vision tower's sizes, in the names CLIP's and SigLIP's configs share."""
    return {
        "hidden_size": shape.vision_hidden,
        "intermediate_size": shape.vision_intermediate,
        "num_hidden_layers": shape.vision_layers,
        "num_attention_heads": shape.vision_heads,
        "image_size": shape.image_size,
        "patch_size": shape.patch_size,
    }


def save_random_llava(target: Path, tokenizer: Any, shape: Shape = TINY, seed: int = 0) -> Path:
    """Write a random-weight LLaVA model with `tokenizer` (given an image token) to `target`."""
    from transformers import (
        CLIPImageProcessor,
        CLIPVisionConfig,
        LlavaConfig,
        LlavaForConditionalGeneration,
        LlavaProcessor,
    )

    tokenizer.add_special_tokens({"additional_special_tokens": [IMAGE_TOKEN]})
    vision = CLIPVisionConfig(**_vision_sizes(shape), projection_dim=shape.vision_hidden)
    text = _text_config(shape, tokenizer)
    config = LlavaConfig(
        vision_config=vision,
        text_config=text,
        image_token_id=tokenizer.convert_tokens_to_ids(IMAGE_TOKEN),
        vision_feature_select_strategy="default",
        vision_feature_layer=-1,
    )
    model = random_weights(LlavaForConditionalGeneration, config, seed)
    side = {"height": shape.image_size, "width": shape.image_size}
    images = CLIPImageProcessor(size={"shortest_edge": shape.image_size}, crop_size=side)
    processor = LlavaProcessor(
        image_processor=images,
        tokenizer=tokenizer,
        patch_size=shape.patch_size,
        vision_feature_select_strategy="default",
        chat_template=CHAT_TEMPLATE,
        num_additional_image_tokens=1,
    )
    return _save(target, model, processor)


def grid_pinpoints(crop: int, max_side: int = 6) -> list[list[int]]:
    """LLaVA-OneVision's anyres grids: every (rows x cols) of `crop`-pixel tiles, 1 to 6 each."""
    sides = [crop * k for k in range(1, max_side + 1)]
    return [[h, w] for h in sides for w in sides]


def onevision_parts(tokenizer: Any, shape: Shape) -> tuple[Any, Any]:
    """(config, processor) of a LLaVA-OneVision of `shape`; `tokenizer` gains the image token.

    The grids, the aspect-ratio rule and the feature strategy are the released
    model's, scaled to `shape.image_size` (its 384 px gives the real image-token
    counts: 729 per crop plus the unpadded anyres grid and its newline tokens).
    """
    from transformers import (
        LlavaOnevisionConfig,
        LlavaOnevisionImageProcessor,
        LlavaOnevisionProcessor,
        LlavaOnevisionVideoProcessor,
        SiglipVisionConfig,
    )

    tokenizer.add_special_tokens({"additional_special_tokens": [IMAGE_TOKEN]})
    image_token_id = tokenizer.convert_tokens_to_ids(IMAGE_TOKEN)
    vision = SiglipVisionConfig(**_vision_sizes(shape), vision_use_head=False)
    text = _text_config(shape, tokenizer)
    pinpoints = grid_pinpoints(shape.image_size)
    config = LlavaOnevisionConfig(
        vision_config=vision,
        text_config=text,
        image_token_index=image_token_id,
        # No video token in this tokenizer: point it at the image token, never used.
        video_token_index=image_token_id,
        vision_feature_select_strategy="full",
        vision_feature_layer=-1,
        image_grid_pinpoints=pinpoints,
        vision_aspect_ratio="anyres_max_9",
    )
    side = {"height": shape.image_size, "width": shape.image_size}
    half = [0.5, 0.5, 0.5]  # SigLIP's normalisation
    images = LlavaOnevisionImageProcessor(
        size=side, image_grid_pinpoints=pinpoints, image_mean=half, image_std=half
    )
    processor = LlavaOnevisionProcessor(
        image_processor=images,
        tokenizer=tokenizer,
        # The processor requires one; videos are never shown here.
        video_processor=LlavaOnevisionVideoProcessor(size=side, image_mean=half, image_std=half),
        num_image_tokens=image_tokens(shape),
        vision_feature_select_strategy="full",
        chat_template=CHAT_TEMPLATE,
        vision_aspect_ratio="anyres_max_9",
    )
    return config, processor


def save_random_llava_onevision(
    target: Path, tokenizer: Any, shape: Shape = TINY, seed: int = 0
) -> Path:
    """Write a random-weight LLaVA-OneVision (SigLIP, anyres_max_9 grids) to `target`."""
    from transformers import LlavaOnevisionForConditionalGeneration

    config, processor = onevision_parts(tokenizer, shape)
    model = random_weights(LlavaOnevisionForConditionalGeneration, config, seed)
    return _save(target, model, processor)


# Qwen2-VL's chat: an image is <|vision_start|><|image_pad|><|vision_end|> in the user turn.
QWEN2_VL_TEMPLATE = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n"
    "{% if message['content'] is string %}{{ message['content'] }}{% else %}"
    "{% for item in message['content'] %}{% if item['type'] == 'image' %}"
    "<|vision_start|><|image_pad|><|vision_end|>"
    "{% elif item['type'] == 'text' %}{{ item['text'] }}{% endif %}{% endfor %}{% endif %}"
    "<|im_end|>\n{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
QWEN2_VL_TOKENS = ["<|vision_start|>", "<|image_pad|>", "<|vision_end|>", "<|video_pad|>"]


def save_random_qwen2_vl(target: Path, tokenizer: Any, seed: int = 0) -> Path:
    """Write a random-weight Qwen2-VL (2 vision blocks, 2 text layers, 32 wide) to `target`.

    A family whose M-RoPE positions rule out prefix reuse: the tests' plain path.
    """
    from transformers import (
        Qwen2VLConfig,
        Qwen2VLForConditionalGeneration,
        Qwen2VLImageProcessor,
        Qwen2VLProcessor,
        Qwen2VLVideoProcessor,
    )

    tokenizer.add_special_tokens({"additional_special_tokens": QWEN2_VL_TOKENS})
    ids = dict(zip(QWEN2_VL_TOKENS, tokenizer.convert_tokens_to_ids(QWEN2_VL_TOKENS), strict=True))
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
            **token_ids(tokenizer),
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
    model = random_weights(Qwen2VLForConditionalGeneration, config, seed)
    # Small images: 56x56 pixels at most, 4x4 patches merged 2x2 into 4 image tokens.
    pixels = {"min_pixels": 28 * 28, "max_pixels": 56 * 56}
    processor = Qwen2VLProcessor(
        image_processor=Qwen2VLImageProcessor(**pixels),
        video_processor=Qwen2VLVideoProcessor(**pixels),
        tokenizer=tokenizer,
        chat_template=QWEN2_VL_TEMPLATE,
    )
    return _save(target, model, processor)
