"""The bench's GLOV-style meta-prompt (DTD, ten scored templates) and its encoding as a batch."""

from __future__ import annotations

from typing import Any

import torch

_DESCRIPTION = (
    "The Describable Textures Dataset (DTD) is a collection of 5,640 texture images in the "
    "wild, annotated with 47 human-centric attributes such as banded, braided, bubbly, "
    "chequered, cracked, crystalline, dotted, fibrous, honeycombed, interlaced, knitted, "
    "lacelike, marbled, meshed, paisley, perforated, pleated, polka-dotted, porous, scaly, "
    "smeared, spiralled, stratified, striped, studded, swirly, veined, waffled, woven, "
    "wrinkled and zigzagged, collected from Google and Flickr."
)

_HISTORY = [
    ("A photo of a {}.", 41),
    ("A close-up photo of a {} texture.", 44),
    ("A detailed image showing a {} pattern.", 45),
    ("A macro photograph of a {} surface.", 46),
    ("An image of a {} material.", 42),
    ("A high-resolution photo of something {}.", 43),
    ("A photo of a {} texture, a kind of surface pattern.", 47),
    ("This fabric looks {}.", 38),
    ("A blurry photo of a {} object.", 36),
    ("An abstract painting of {}.", 33),
]


def meta_prompt_messages() -> list[dict[str, str]]:
    """A GLOV-style meta-prompt: system + user with dataset description and scored templates."""
    ranked = sorted(_HISTORY, key=lambda item: item[1])
    best, worst = ranked[-5:], ranked[:5]

    def lines(items: list[tuple[str, int]]) -> str:
        return "\n".join(
            f"{i}: {t.replace('{}', '<category>')} --- Accuracy: {a}"
            for i, (t, a) in enumerate(items, 1)
        )

    user = (
        "Your task is to write a prompt template that helps CLIP classify images of the "
        "dataset below zero-shot. Below are the best and the worst templates from the runs so "
        "far, each with its accuracy; higher is better. Write 1 new template that is better "
        "than all of them and keeps the placeholder <category> for the class name.\n\n"
        f"Dataset: Describable Textures (DTD)\nDescription: {_DESCRIPTION}\n\n"
        f"Best templates:\n{lines(best)}\n\nWorst templates:\n{lines(worst)}\n\n"
        "Write only the new template, nothing else."
    )
    system = (
        "You are a helpful assistant that finds prompt templates which embed class names "
        "for zero-shot image classification with CLIP."
    )
    return [{"role": "system", "content": system}, {"role": "user", "content": user}]


def encode_meta_prompt(tokenizer: Any, samples: int) -> tuple[torch.Tensor, torch.Tensor]:
    text = tokenizer.apply_chat_template(
        meta_prompt_messages(), tokenize=False, add_generation_prompt=True
    )
    ids = tokenizer(text, add_special_tokens=False, return_tensors="pt")["input_ids"]
    ids = ids.repeat(samples, 1)
    return ids, torch.ones_like(ids)
