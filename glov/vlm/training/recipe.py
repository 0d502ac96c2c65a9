"""What a built dual encoder is: its recipe, and the content key its weights are cached under.

A recipe names the model config (architecture), the training images, the
caption templates and the optimisation settings. The content key hashes all of
that plus the bytes it reads (training arrays, text-tower weights) and a code
version, so any change builds anew and an unchanged recipe is never rebuilt.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass

from glov.errors import ModelError
from glov.vlm.baselines import S_TEMP, ds_templates

BUILD_PREFIX = "build://"
# Bump when train.py changes what a recipe produces, to orphan old builds.
TRAINING_VERSION = "glov-lit/1"


@dataclass(frozen=True)
class Recipe:
    """An image tower trained contrastively against a locked text tower (LiT)."""

    name: str
    model: str  # a shipped open_clip model config with a pkg:// text tower
    dataset: str = "animal-mnist"
    epochs: int = 2
    batch_size: int = 128
    lr: float = 2e-3
    weight_decay: float = 0.05
    warmup_steps: int = 20
    seed: int = 0
    # Every n-th of CLIP's 80 ImageNet templates is held out of the captions
    # (and so is the seed template, case-insensitively: MiniLM is uncased), so
    # the report can say how the encoder does on templates it never saw.
    heldout_every: int = 2
    # Every n-th training image is held out of training, to measure accuracy on.
    val_every: int = 10
    max_shift: int = 2  # random translation (pixels at the model's input size)
    flip: bool = True  # silhouettes face either way; a mirrored animal is the same class
    # Intra-op threads the training runs on, whatever the caller's setting: float
    # sums are split by thread, so 1 and 2 threads gave different weights (and a
    # different seed-template fitness) under one content key, and which process
    # built first decided a run's figures. Part of the key.
    threads: int = 2

    def templates(self) -> tuple[list[str], list[str]]:
        """(caption templates trained on, held-out templates)."""
        train, held = [], []
        for i, template in enumerate(ds_templates("openai-imagenet")):
            unseen = i % self.heldout_every == 0 or template.lower() == S_TEMP.lower()
            (held if unseen else train).append(template)
        if S_TEMP not in held:
            held.insert(0, S_TEMP)
        return train, held

    def with_changes(self, **changes: object) -> Recipe:
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]

    def key(self, model_config: dict, inputs: dict[str, str]) -> str:
        """Content key of the weights: recipe, architecture, input digests, code version."""
        parts = {
            "version": TRAINING_VERSION,
            "recipe": dataclasses.asdict(self),
            "model_config": model_config,
            "inputs": inputs,
        }
        return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()


RECIPES: dict[str, Recipe] = {
    "lit-animal-mnist": Recipe(name="lit-animal-mnist", model="glov-lit-minilm"),
}


def recipe_for(uri: str) -> Recipe:
    """The recipe a `build://NAME` URI names."""
    name = uri[len(BUILD_PREFIX) :].strip("/") if uri.startswith(BUILD_PREFIX) else uri
    if name not in RECIPES:
        known = ", ".join(BUILD_PREFIX + n for n in sorted(RECIPES))
        raise ModelError(f"there is no dual-encoder recipe named {name!r}", f"use one of {known}")
    return RECIPES[name]
