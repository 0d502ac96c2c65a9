"""The plain path: batched `model.generate` over (image, prompt) pairs, left padded.

This is what every reference implementation does, and the reference for the
prefix-reuse path (prefix_reuse.py), which must give the same answers.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from PIL import Image

from glov.vlm.generative.loading import LoadedVLM


def until_eos(ids: Sequence[int], eos: Sequence[int]) -> list[int]:
    """The answer's tokens: everything before the first end-of-sequence token."""
    out: list[int] = []
    for token in ids:
        if token in eos:
            break
        out.append(int(token))
    return out


@torch.inference_mode()
def generate_plain(
    vlm: LoadedVLM,
    images: Sequence[Image.Image],
    chats: Sequence[str],
    max_new_tokens: int,
    batch_size: int,
) -> list[list[int]]:
    """Greedy answers (token ids, without end-of-sequence) for each (image, chat) pair."""
    answers: list[list[int]] = []
    for start in range(0, len(chats), batch_size):
        batch_images = list(images[start : start + batch_size])
        batch_chats = list(chats[start : start + batch_size])
        inputs = vlm.processor(
            images=batch_images, text=batch_chats, padding=True, return_tensors="pt"
        ).to(vlm.device)
        if "pixel_values" in inputs:
            inputs["pixel_values"] = inputs["pixel_values"].to(vlm.dtype)
        out = vlm.model.generate(
            **inputs,
            max_new_tokens=max_new_tokens,
            do_sample=False,
            num_beams=1,
            eos_token_id=vlm.eos_token_ids,
            pad_token_id=vlm.pad_token_id,
        )
        width = inputs["input_ids"].shape[1]
        answers.extend(until_eos(row.tolist(), vlm.eos_token_ids) for row in out[:, width:])
    return answers
