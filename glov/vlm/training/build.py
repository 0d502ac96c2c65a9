"""Built dual-encoder weights: trained once per content key, then read from run.cache_dir.

`build://NAME` in vlm.pretrained names a recipe. The first process that needs
the weights trains them (about a minute on two CPU cores) into
`<run.cache_dir>/vlm-builds/<name>-<key>/` (model.safetensors, the full
open_clip state dict, and build.json, what the report says about them); every
later call finds them there. A file lock makes concurrent pipeline tasks
sharing a cache wait for one build instead of each training their own, and a
run whose store is remote fetches them from its model share instead of training
again (glov.store.model_share).
"""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path
from typing import Any

from glov.digests import sha256_file
from glov.errors import ModelError
from glov.store.model_share import ModelShare, obtain
from glov.vlm.training.recipe import BUILD_PREFIX, Recipe, recipe_for

log = logging.getLogger(__name__)

CHECKPOINT = "model.safetensors"
INFO = "build.json"
# The text-tower files whose bytes decide the text embeddings.
_TOWER_FILES = ("config.json", "model.safetensors", "tokenizer.json", "vocab.txt")


def is_build_uri(pretrained: str | None) -> bool:
    return pretrained is not None and pretrained.startswith(BUILD_PREFIX)


def _training_data(recipe: Recipe) -> tuple[Any, Any, list[str]]:
    """(images, labels, class names) of the recipe's training half of the dataset."""
    if recipe.dataset != "animal-mnist":
        raise ModelError(f"recipe {recipe.name!r} trains on unknown data {recipe.dataset!r}", "")
    from glov.data.packaged import (
        ANIMAL_MNIST_CLASSES,
        animal_mnist_arrays,
        encoder_training_index,
    )

    images, labels = animal_mnist_arrays()
    keep = [i for i in range(len(images)) if encoder_training_index(i)]
    return images[keep], labels[keep], list(ANIMAL_MNIST_CLASSES)


def _text_tower_digest(model_config: dict) -> str:
    from glov.vlm.towers import package_model_dir

    h = hashlib.sha256()
    uri = model_config.get("text_cfg", {}).get("hf_model_name", "")
    model_dir = package_model_dir(uri)
    for name in _TOWER_FILES:
        path = model_dir / name
        h.update(f"{name}:{sha256_file(path) if path.is_file() else '-'}".encode())
    return h.hexdigest()


def build_key(recipe: Recipe) -> str:
    """The content key of the recipe's weights (recipe, architecture, data, text tower)."""
    from glov.vlm.model_names import resolve_model_name
    from glov.vlm.towers import portable_config

    config = portable_config(resolve_model_name(recipe.model))
    images, labels, classnames = _training_data(recipe)
    data = hashlib.sha256(images.tobytes() + labels.tobytes() + json.dumps(classnames).encode())
    inputs = {"data": data.hexdigest(), "text_tower": _text_tower_digest(config)}
    return recipe.key(config, inputs)


def build_dir(recipe: Recipe, cache_dir: str | Path) -> Path:
    root = Path(cache_dir).expanduser() / "vlm-builds"
    return root / f"{recipe.name}-{build_key(recipe)[:16]}"


def ensure_built(
    uri: str | Recipe,
    cache_dir: str | Path,
    force: bool = False,
    share: ModelShare | None = None,
) -> Path:
    """The checkpoint of a `build://NAME` recipe (or a Recipe): from the cache, else the
    run's model share, else trained here (glov.store.model_share.obtain)."""
    recipe = uri if isinstance(uri, Recipe) else recipe_for(uri)
    final = build_dir(recipe, cache_dir)
    obtain(
        final,
        key=f"{final.parent.name}/{final.name}",
        what=f"VLM training of {BUILD_PREFIX}{recipe.name}",
        ready=CHECKPOINT,
        build=lambda dest: _build(recipe, dest),
        share=share,
        force=force,
    )
    return final / CHECKPOINT


def built_checkpoint(
    uri: str, model_name: str, cache_dir: str | Path, share: ModelShare | None = None
) -> Path:
    """ensure_built for a scorer of `model_name`, which must be the recipe's architecture."""
    from glov.vlm.model_names import resolve_model_name

    recipe = recipe_for(uri)
    if resolve_model_name(recipe.model) != model_name:
        raise ModelError(
            f"{uri} trains model {recipe.model!r}, not vlm.model {model_name!r}",
            f"set vlm.model={recipe.model}",
        )
    return ensure_built(recipe, cache_dir, share=share)


def _build(recipe: Recipe, dest: Path) -> None:
    import open_clip
    import torch
    from safetensors.torch import save_file

    from glov.vlm.model_names import resolve_model_name
    from glov.vlm.training.train import train_image_tower

    model_name = resolve_model_name(recipe.model)
    images, labels, classnames = _training_data(recipe)
    # fork_rng: the build is seeded without resetting the caller's RNG stream.
    callers_threads = torch.get_num_threads()
    torch.set_num_threads(recipe.threads)
    try:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(recipe.seed)
            model, _, preprocess = open_clip.create_model_and_transforms(
                model_name, pretrained=None, pretrained_text=True, device="cpu"
            )
            tokenizer = open_clip.get_tokenizer(model_name)
            info = train_image_tower(
                model, preprocess, tokenizer, recipe, images, labels, classnames
            )
    finally:
        torch.set_num_threads(callers_threads)
    state = {k: v.detach().contiguous() for k, v in model.state_dict().items()}
    save_file(state, str(dest / CHECKPOINT))
    info = {"recipe": recipe.name, "model": recipe.model, "dataset": recipe.dataset, **info}
    (dest / INFO).write_text(json.dumps(info, indent=1))
    log.info(
        "built %s in %.0f s: seed template %.1f%% on %d held-out images",
        recipe.name,
        info["train_seconds"],
        100 * next(iter(info["heldout_accuracy"].values())),
        info["val_images"],
    )


def build_info(uri: str | Recipe, cache_dir: str | Path) -> dict[str, Any] | None:
    """build.json of the recipe's weights, or None if they are not built here."""
    recipe = uri if isinstance(uri, Recipe) else recipe_for(uri)
    path = build_dir(recipe, cache_dir) / INFO
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return None


def describe_weights(pretrained: str | None, cache_dir: str | Path) -> str:
    """One sentence on the VLM weights for the report: where they come from, how trained."""
    if pretrained is None:
        return "random init (chance-level accuracy)"
    if not is_build_uri(pretrained):
        return f"pretrained: {pretrained}"
    recipe = recipe_for(pretrained)
    text = (
        f"trained here ({pretrained}, `glov build-vlm`): image tower trained contrastively "
        f"for {recipe.epochs} epochs on Animal-MNIST images disjoint from the run's splits "
        f"(odd package indices; runs see only even ones), text tower all-MiniLM-L6-v2 locked"
    )
    info = build_info(recipe, cache_dir)
    if info is None:
        return text
    held = info["heldout_accuracy"]
    seed_template, seed_acc = next(iter(held.items()))
    others = list(held.values())[1:]
    return (
        f"{text}; {info['train_images']} training images, {info['train_seconds']:.0f} s. "
        f"On {info['val_images']} unseen images: seed template `{seed_template}` "
        f"{100 * seed_acc:.1f}%, {len(others)} other held-out templates "
        f"{100 * min(others):.1f}-{100 * max(others):.1f}%"
    )
