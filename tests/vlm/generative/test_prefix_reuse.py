"""Prefix KV reuse gives exactly the answers of plain batched generate."""

from __future__ import annotations

import copy

import pytest
from PIL import Image

from bench.model_shapes import Shape
from bench.random_vlm import save_random_llava_onevision
from glov.config import VLMConfig
from glov.data import Split, load_image
from glov.vlm.generative.loading import load_vlm
from glov.vlm.generative.plain import generate_plain
from glov.vlm.generative.prefix_reuse import (
    PrefixStore,
    generate_with_prefix,
    supports_prefix_reuse,
)
from glov.vlm.generative.prompts import chat_prefix, chat_text, instruction
from tests.vlm.generative.helpers import PROMPTS


def _pairs(scorer, split: Split, prompts: list[str]):
    chats = [chat_text(scorer.vlm.processor, scorer.prompt(p)) for p in prompts]
    images = [load_image(path) for path in split.paths]
    return images, chats


@pytest.mark.parametrize("batch_size", [1, 2, 5])
def test_prefix_reuse_matches_plain_generate_token_for_token(make_generative, split, batch_size):
    scorer = make_generative(max_new_tokens=16)
    images, chats = _pairs(scorer, split, PROMPTS)
    store = PrefixStore(2**30)
    for i, image in enumerate(images[:3]):
        plain = generate_plain(scorer.vlm, [image] * len(chats), chats, 16, batch_size)
        reused = generate_with_prefix(
            scorer.vlm, image, chats, scorer.prefix_text, f"img{i}", store, 16, batch_size
        )
        assert reused == plain
        # Random weights: answers are long and differ between prompts (not trivially equal).
        assert len({tuple(a) for a in plain}) > 1 and max(len(a) for a in plain) > 3
    assert store.misses == 3


def test_prefix_is_reused_across_calls_and_plain_mixed_batches_agree(make_generative, split):
    scorer = make_generative(max_new_tokens=10)
    images, chats = _pairs(scorer, split, PROMPTS[:3])
    store = PrefixStore(2**30)
    first = generate_with_prefix(
        scorer.vlm, images[0], chats, scorer.prefix_text, "a", store, 10, 3
    )
    again = generate_with_prefix(
        scorer.vlm, images[0], chats[::-1], scorer.prefix_text, "a", store, 10, 2
    )
    assert (store.hits, store.misses) == (1, 1)
    assert again == first[::-1]
    # Plain generate over pairs of different images in one batch agrees too.
    pairs = [c for c in chats for _ in range(2)]
    mixed = generate_plain(scorer.vlm, [images[0], images[3]] * 3, pairs, 10, 6)
    other = generate_with_prefix(
        scorer.vlm, images[3], chats, scorer.prefix_text, "b", store, 10, 3
    )
    assert mixed[0::2] == first and mixed[1::2] == other


def test_scorer_answers_are_the_same_with_and_without_prefix_reuse(
    make_generative, split, tmp_path
):
    reuse = make_generative(cache=tmp_path / "a")
    plain = make_generative(cache=tmp_path / "b", prefix_reuse=False)
    assert reuse.prefix_reuse and not plain.prefix_reuse
    assert reuse.answers(PROMPTS, split) == plain.answers(PROMPTS, split)
    assert reuse.prefixes.misses == len(split) and plain.prefixes.misses == 0


def test_a_system_turn_is_rendered_cached_apart_and_reused_like_any_prefix(
    make_generative, split, tmp_path
):
    system = "You are a helpful assistant."
    reuse = make_generative(cache=tmp_path / "a", system_prompt=system)
    plain = make_generative(cache=tmp_path / "b", system_prompt=system, prefix_reuse=False)
    bare = make_generative(cache=tmp_path / "a")
    chat = reuse.chat("What is it")
    assert chat.startswith(f"<|im_start|>system\n{system}<|im_end|>")
    assert reuse.prefix_text is not None and system in reuse.prefix_text
    assert bare.prefix_text is not None and system not in bare.prefix_text
    answers = reuse.answers(PROMPTS[:3], split)
    assert answers == plain.answers(PROMPTS[:3], split)
    # Same cache folder, no system turn: another key, so its answers are generated anew.
    bare.answers(PROMPTS[:3], split)
    assert bare.cache_hits == 0 and bare.cache_misses == 3 * len(split)


def test_a_prefix_store_over_budget_drops_the_least_recently_used(make_generative, split):
    scorer = make_generative()
    images, chats = _pairs(scorer, split, PROMPTS[:2])
    store = PrefixStore(2**30)
    generate_with_prefix(scorer.vlm, images[0], chats, scorer.prefix_text, "x", store, 4, 2)
    size = store.get("x").nbytes
    small = PrefixStore(size * 2)
    for key, image in zip("abc", images, strict=False):
        generate_with_prefix(scorer.vlm, image, chats, scorer.prefix_text, key, small, 4, 2)
    assert small.get("a") is None and small.get("c") is not None


@pytest.fixture(scope="module")
def tiny_onevision(tmp_path_factory, smollm2):
    """A tiny random-weight LLaVA-OneVision: 28-px crops of 4x4 patches, anyres_max_9 grids."""
    tokenizer = copy.deepcopy(smollm2.tokenizer)
    shape = Shape(text_type="qwen2", image_size=28, patch_size=7)
    model_dir = save_random_llava_onevision(
        tmp_path_factory.mktemp("tiny-onevision") / "model", tokenizer, shape
    )
    cfg = VLMConfig(kind="generative", model=str(model_dir), device="cpu", dtype="float32")
    return load_vlm(model_dir, cfg)


def test_llava_onevision_anyres_images_match_plain_generate(tiny_onevision):
    vlm = tiny_onevision
    assert type(vlm.model).__name__ == "LlavaOnevisionForConditionalGeneration"
    assert supports_prefix_reuse(vlm.model)
    prefix_text = chat_prefix(vlm.processor)
    chats = [chat_text(vlm.processor, instruction(p, "")) for p in PROMPTS]
    # Square, landscape, portrait: different anyres grids, unpadding and newline counts.
    sizes = [(60, 60), (40, 30), (20, 50), (100, 40)]
    images = [Image.new("RGB", s, (60 * i, 200 - 40 * i, 90)) for i, s in enumerate(sizes)]
    store = PrefixStore(2**30)
    image_token = vlm.model.config.image_token_id
    for i, image in enumerate(images):
        plain = generate_plain(vlm, [image] * len(chats), chats, 12, 3)
        reused = generate_with_prefix(vlm, image, chats, prefix_text, f"ov{i}", store, 12, 3)
        assert reused == plain
        assert len({tuple(a) for a in plain}) > 1 and max(len(a) for a in plain) > 3
    tokens = [store.get(f"ov{i}").ids.count(image_token) for i in range(len(images))]
    # 60x60 -> 84x84 grid: base crop (16) + 12x12 unpadded + 12 newline tokens.
    assert tokens[0] == 16 + 144 + 12 and len(set(tokens)) == len(tokens)
    # Plain generate over images of different sizes in one batch (patches padded) agrees too.
    mixed = generate_plain(
        vlm, [images[1], images[2]] * 2, [c for c in chats[:2] for _ in "ab"], 8, 4
    )
    first = generate_with_prefix(vlm, images[1], chats[:2], prefix_text, "m1", store, 8, 2)
    second = generate_with_prefix(vlm, images[2], chats[:2], prefix_text, "m2", store, 8, 2)
    assert mixed[0::2] == first and mixed[1::2] == second
