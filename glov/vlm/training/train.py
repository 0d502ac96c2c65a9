"""Contrastive training of an image tower against a locked text tower (LiT).

The text tower (a pretrained sentence encoder) never changes, so every caption
is embedded once up front; each step then pairs every image with its class
names written in one randomly drawn training template, and trains only the
image tower (and the logit scale) to pick its own class among them. Held-out
templates measure whether the image features generalise beyond the captions
they were trained on, which is what a template search relies on.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812
from PIL import Image

from glov.templates import fill_all
from glov.vlm.towers import trim_padding
from glov.vlm.training.recipe import Recipe

log = logging.getLogger(__name__)
# Images per forward pass when preprocessing and evaluating (bounds memory only).
_EVAL_BATCH = 512


@torch.no_grad()
def embed_captions(model: Any, tokenizer: Any, templates: Sequence[str], classnames: list[str]):
    """Normalised text embeddings [T, C, D] of every template filled with every class name."""
    prompts = [p for t in templates for p in fill_all(t, classnames)]
    tokens = tokenizer(prompts)
    emb = torch.cat(
        [
            model.encode_text(trim_padding(tokens[i : i + _EVAL_BATCH], model.text), normalize=True)
            for i in range(0, len(prompts), _EVAL_BATCH)
        ]
    ).float()
    return emb.reshape(len(templates), len(classnames), -1)


def preprocess_all(images: np.ndarray, preprocess: Callable[[Image.Image], torch.Tensor]):
    """The model's own eval transform on every image, once: [N, 3, H, W]."""
    return torch.stack([preprocess(Image.fromarray(pixels).convert("RGB")) for pixels in images])


def _augment(x: torch.Tensor, recipe: Recipe, gen: torch.Generator) -> torch.Tensor:
    """Random translation (by whole pixels, background-filled) and horizontal flips."""
    if recipe.flip:
        flip = torch.rand(len(x), generator=gen) < 0.5
        x = torch.where(flip[:, None, None, None], x.flip(-1), x)
    s = recipe.max_shift
    if s <= 0:
        return x
    h, w = x.shape[-2:]
    # Edge padding repeats the black background, so a shift adds no new border.
    padded = F.pad(x, (s, s, s, s), mode="replicate")
    dy = torch.randint(0, 2 * s + 1, (len(x),), generator=gen).tolist()
    dx = torch.randint(0, 2 * s + 1, (len(x),), generator=gen).tolist()
    return torch.stack(
        [padded[i, :, a : a + h, b : b + w] for i, (a, b) in enumerate(zip(dy, dx, strict=True))]
    )


@torch.no_grad()
def image_features(visual: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
    visual.eval()
    return torch.cat(
        [F.normalize(visual(x[i : i + _EVAL_BATCH]), dim=-1) for i in range(0, len(x), _EVAL_BATCH)]
    )


def accuracies(feats: torch.Tensor, labels: torch.Tensor, text: torch.Tensor) -> list[float]:
    """Top-1 accuracy of each template's class embeddings [T, C, D] on image features [N, D]."""
    return [float(((feats @ t.T).argmax(-1) == labels).float().mean()) for t in text]


def _lr(step: int, total: int, recipe: Recipe) -> float:
    if step < recipe.warmup_steps:
        return recipe.lr * (step + 1) / recipe.warmup_steps
    progress = (step - recipe.warmup_steps) / max(1, total - recipe.warmup_steps)
    return recipe.lr * 0.5 * (1 + math.cos(math.pi * progress))


def train_image_tower(
    model: Any,
    preprocess: Callable[[Image.Image], torch.Tensor],
    tokenizer: Any,
    recipe: Recipe,
    images: np.ndarray,
    labels: np.ndarray,
    classnames: list[str],
) -> dict[str, Any]:
    """Train `model.visual` in place; return what the report says about the weights."""
    started = time.monotonic()
    gen = torch.Generator().manual_seed(recipe.seed)
    for p in model.text.parameters():
        p.requires_grad_(False)  # LiT: the text tower stays as pretrained
    train_templates, held_templates = recipe.templates()
    text_train = embed_captions(model, tokenizer, train_templates, classnames)
    text_held = embed_captions(model, tokenizer, held_templates, classnames)

    x_all = preprocess_all(images, preprocess)
    y_all = torch.as_tensor(labels, dtype=torch.long)
    is_val = torch.arange(len(x_all)) % recipe.val_every == 0
    x, y = x_all[~is_val], y_all[~is_val]
    x_val, y_val = x_all[is_val], y_all[is_val]

    params = [p for p in model.visual.parameters()] + [model.logit_scale]
    opt = torch.optim.AdamW(params, lr=recipe.lr, weight_decay=recipe.weight_decay)
    steps_per_epoch = math.ceil(len(x) / recipe.batch_size)
    total = recipe.epochs * steps_per_epoch
    step, losses = 0, []
    for _ in range(recipe.epochs):
        model.visual.train()
        order = torch.randperm(len(x), generator=gen)
        for start in range(0, len(x), recipe.batch_size):
            idx = order[start : start + recipe.batch_size]
            for group in opt.param_groups:
                group["lr"] = _lr(step, total, recipe)
            feats = F.normalize(model.visual(_augment(x[idx], recipe, gen)), dim=-1)
            # Each image meets its class names in one random training template.
            pick = torch.randint(0, len(train_templates), (len(idx),), generator=gen)
            logits = model.logit_scale.exp() * torch.einsum("bd,bcd->bc", feats, text_train[pick])
            loss = F.cross_entropy(logits, y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            with torch.no_grad():
                model.logit_scale.clamp_(0, math.log(100))
            losses.append(loss.item())
            step += 1
        log.info("epoch %d/%d: loss %.3f", step // steps_per_epoch, recipe.epochs, losses[-1])
    model.eval()
    feats_val = image_features(model.visual, x_val)
    held = accuracies(feats_val, y_val, text_held)
    seen = accuracies(feats_val, y_val, text_train)
    return {
        "epochs": recipe.epochs,
        "train_images": len(x),
        "val_images": len(x_val),
        "train_templates": len(train_templates),
        "final_loss": float(np.mean(losses[-steps_per_epoch:])),
        "heldout_accuracy": dict(zip(held_templates, held, strict=True)),
        "seen_template_accuracy_mean": float(np.mean(seen)),
        "train_seconds": round(time.monotonic() - started, 1),
    }
