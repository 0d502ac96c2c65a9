"""ClipScorer: cached features, zero-shot accuracy, ensembles, weights and errors."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F  # noqa: N812
from safetensors.torch import save_file

from glov.config import VLMConfig
from glov.data import Split, load_image
from glov.errors import DataError, ModelError
from glov.templates import fill_all
from glov.vlm.clip import ClipScorer

TEMPLATES = ["A photo of a {}.", "a blurry picture of the {}", "{} on a grey background"]


def test_accuracy_matches_direct_per_image_computation(make_scorer, split, classnames):
    labels = torch.tensor(split.labels)
    varied = False
    for seed in range(3):
        scorer = make_scorer(init_seed=seed)
        model = scorer.model
        with torch.no_grad():
            direct = []
            for path in split.paths:
                f = model.encode_image(scorer.preprocess(load_image(path)).unsqueeze(0))
                direct.append(f[0] / f[0].norm())
            direct_feats = torch.stack(direct)
        torch.testing.assert_close(scorer.image_features(split), direct_feats, rtol=1e-5, atol=1e-5)
        for template in TEMPLATES:
            with torch.no_grad():
                text = model.encode_text(scorer.tokenizer(fill_all(template, classnames)))
                text = text / text.norm(dim=-1, keepdim=True)
            direct_logits = direct_feats @ text.T
            direct_preds = direct_logits.argmax(dim=-1)
            direct_acc = (direct_preds == labels).float().mean().item()
            weights = scorer.class_embeddings([template], classnames)
            logits = scorer.image_features(split) @ weights.T
            torch.testing.assert_close(logits, direct_logits, rtol=1e-5, atol=1e-5)
            assert torch.equal(scorer.predictions([template], split, classnames), direct_preds)
            assert scorer.accuracy(template, split, classnames) == pytest.approx(direct_acc)
            varied |= len(set(direct_preds.tolist())) > 1
    # Guard: the comparison means something only if some predictions differ per image.
    assert varied


def test_features_are_normalised_and_kept_in_memory(make_scorer, split):
    scorer = make_scorer()
    feats = scorer.image_features(split)
    assert feats.shape == (6, 32)
    torch.testing.assert_close(feats.norm(dim=-1), torch.ones(6))
    assert (scorer.cache_hits, scorer.cache_misses) == (0, 1)
    assert scorer.image_features(split) is feats
    assert (scorer.cache_hits, scorer.cache_misses) == (1, 1)


def test_second_scorer_hits_disk_cache(make_scorer, split, cache_dir):
    first = make_scorer().image_features(split)
    files = list((cache_dir / "features").glob("*.safetensors"))
    assert len(files) == 1
    assert not list((cache_dir / "features").glob(".*.tmp"))  # atomic write left no temp file

    second = make_scorer()
    torch.testing.assert_close(second.image_features(split), first, rtol=0, atol=0)
    assert (second.cache_hits, second.cache_misses) == (1, 0)


def test_changed_image_bytes_change_the_key(make_scorer, split, draw):
    make_scorer().image_features(split)
    path = Path(split.paths[0])
    before = make_scorer().feature_key(split)
    draw(path, (250, 250, 0), offset=7)
    # Bump mtime explicitly: the digest memo in glov.data is keyed by (size, mtime).
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    scorer = make_scorer()
    assert scorer.feature_key(split) != before
    scorer.image_features(split)
    assert (scorer.cache_hits, scorer.cache_misses) == (0, 1)


def test_different_seed_is_a_different_weights_id_and_a_miss(make_scorer, split):
    make_scorer(init_seed=0).image_features(split)
    other = make_scorer(init_seed=1)
    assert other.weights_id == "random:glov-tiny-vit:1"
    other.image_features(split)
    assert (other.cache_hits, other.cache_misses) == (0, 1)


def test_float16_runs_both_towers_in_half_precision_under_its_own_key(make_scorer, split):
    full = make_scorer()
    half = make_scorer(dtype="float16")
    assert next(half.model.parameters()).dtype == torch.float16
    assert next(full.model.parameters()).dtype == torch.float32
    assert half.feature_key(split) != full.feature_key(split)
    feats = half.image_features(split)
    # Cached as float32 like every entry; close to the float32 model's features.
    assert feats.dtype == torch.float32 and (half.cache_hits, half.cache_misses) == (0, 1)
    torch.testing.assert_close(feats, full.image_features(split), atol=2e-2, rtol=0)
    classes = ["red square", "green square", "blue square"]
    assert 0.0 <= half.accuracy("A photo of a {}.", split, classes) <= 1.0


def test_random_init_is_reproducible_flagged_and_warned(make_scorer, split, tmp_path, caplog):
    torch.manual_seed(123)
    expected_next = torch.rand(1)
    torch.manual_seed(123)
    with caplog.at_level(logging.WARNING, logger="glov.vlm.clip"):
        a = make_scorer(cache=tmp_path / "a", init_seed=5)
    # Seeding the model must not reset the caller's global RNG stream.
    assert torch.equal(torch.rand(1), expected_next)
    assert a.random_weights is True
    assert a.weights_id == "random:glov-tiny-vit:5"
    assert "accuracies are chance level" in caplog.text

    b = make_scorer(cache=tmp_path / "b", init_seed=5)
    c = make_scorer(cache=tmp_path / "c", init_seed=6)
    assert b.cache_misses == 0  # separate cache dirs: b really recomputes below
    torch.testing.assert_close(a.image_features(split), b.image_features(split), rtol=0, atol=0)
    assert b.cache_misses == 1
    assert not torch.allclose(a.image_features(split), c.image_features(split))


def test_class_embeddings_have_unit_norm(make_scorer, classnames):
    emb = make_scorer().class_embeddings(TEMPLATES, classnames)
    assert emb.shape == (3, 32)
    torch.testing.assert_close(emb.norm(dim=-1), torch.ones(3))


def test_ensemble_of_one_template_equals_its_accuracy(make_scorer, split, classnames):
    scorer = make_scorer()
    for t in TEMPLATES:
        assert scorer.ensemble_accuracy([t], split, classnames) == scorer.accuracy(
            t, split, classnames
        )


def test_ensemble_of_two_matches_manual_mean_renormalise(make_scorer, split, classnames):
    scorer = make_scorer()
    pair = TEMPLATES[:2]
    with torch.no_grad():
        per = []
        for t in pair:
            e = scorer.model.encode_text(scorer.tokenizer(fill_all(t, classnames)))
            per.append(e / e.norm(dim=-1, keepdim=True))
        mean = (per[0] + per[1]) / 2
        manual = mean / mean.norm(dim=-1, keepdim=True)
    torch.testing.assert_close(scorer.class_embeddings(pair, classnames), manual)
    preds = (scorer.image_features(split) @ manual.T).argmax(dim=-1)
    assert torch.equal(scorer.predictions(pair, split, classnames), preds)
    acc = (preds == torch.tensor(split.labels)).float().mean().item()
    assert scorer.ensemble_accuracy(pair, split, classnames) == pytest.approx(acc)


def test_accuracies_equal_single_accuracies(make_scorer, split, classnames):
    scorer = make_scorer()
    assert scorer.accuracies(TEMPLATES, split, classnames) == [
        scorer.accuracy(t, split, classnames) for t in TEMPLATES
    ]


def test_labels_beyond_the_class_names_are_a_data_error(make_scorer, split, classnames):
    with pytest.raises(DataError, match="class names"):
        make_scorer().accuracy(TEMPLATES[0], split, classnames[:2])


def test_corrupt_cache_file_is_recomputed(make_scorer, split, cache_dir):
    first = make_scorer().image_features(split)
    (path,) = (cache_dir / "features").glob("*.safetensors")
    path.write_bytes(b"not a safetensors file")
    scorer = make_scorer()
    torch.testing.assert_close(scorer.image_features(split), first)
    assert (scorer.cache_hits, scorer.cache_misses) == (0, 1)
    third = make_scorer()
    third.image_features(split)
    assert (third.cache_hits, third.cache_misses) == (1, 0)


def test_cache_entry_of_wrong_shape_is_recomputed(make_scorer, split, cache_dir):
    scorer = make_scorer()
    key = scorer.feature_key(split)
    scorer.cache.put(key, torch.zeros(2, 32))
    torch.testing.assert_close(scorer.image_features(split).norm(dim=-1), torch.ones(6))
    assert (scorer.cache_hits, scorer.cache_misses) == (0, 1)


def test_checkpoint_file_round_trip(make_scorer, split, tmp_path):
    source = make_scorer(cache=tmp_path / "src", init_seed=3)
    expected = source.image_features(split)
    state = {k: v.clone().contiguous() for k, v in source.model.state_dict().items()}
    pt, st = tmp_path / "w.pt", tmp_path / "w.safetensors"
    torch.save({"state_dict": {f"module.{k}": v for k, v in state.items()}}, pt)
    save_file(state, st)
    for ckpt in (pt, st):
        scorer = make_scorer(cache=tmp_path / ckpt.suffix[1:], pretrained=str(ckpt), init_seed=0)
        assert scorer.random_weights is False
        assert scorer.weights_id.startswith("sha256:") and len(scorer.weights_id) == 7 + 64
        torch.testing.assert_close(scorer.image_features(split), expected)


def test_model_from_config_json_path(split, tmp_path):
    src = Path(__file__).parents[2] / "glov" / "vlm" / "model_configs" / "glov-tiny-vit.json"
    cfg_path = tmp_path / "my-tiny.json"
    cfg_path.write_text(src.read_text())
    cfg = VLMConfig(model=str(cfg_path), pretrained=None, device="cpu")
    scorer = ClipScorer(cfg, tmp_path / "cache")
    assert scorer.model_name == "my-tiny"
    assert scorer.image_features(split).shape == (6, 32)


def test_unknown_model_name_suggests_a_close_match(tmp_path):
    with pytest.raises(ModelError, match="ViT-B-32"):
        ClipScorer(VLMConfig(model="ViT-B-23", pretrained=None), tmp_path)
    with pytest.raises(ModelError, match="glov-tiny-vit"):
        ClipScorer(VLMConfig(model="glov-tiny-vt", pretrained=None), tmp_path)


def test_text_file_as_checkpoint_is_a_model_error(make_scorer, tmp_path):
    for name in ("notes.pt", "notes.safetensors"):
        bad = tmp_path / name
        bad.write_text("these are not weights\n")
        with pytest.raises(ModelError, match="not a model checkpoint"):
            make_scorer(pretrained=str(bad))


def test_state_dict_with_wrong_keys_is_a_model_error(make_scorer, tmp_path):
    bad = tmp_path / "other.pt"
    torch.save({"encoder.weight": torch.zeros(3, 3), "encoder.bias": torch.zeros(3)}, bad)
    with pytest.raises(ModelError, match="does not match model 'glov-tiny-vit'"):
        make_scorer(pretrained=str(bad))


def test_missing_checkpoint_and_unknown_tag_are_model_errors(make_scorer, tmp_path):
    with pytest.raises(ModelError, match="does not exist"):
        make_scorer(pretrained=str(tmp_path / "missing.pt"))
    with pytest.raises(ModelError, match="no pretrained tag 'openai'"):
        make_scorer(pretrained="openai")


def test_templates_without_a_slot_are_rejected(make_scorer, split, classnames):
    with pytest.raises(DataError, match="slot"):
        make_scorer().accuracy("a photo", split, classnames)


def test_empty_split_is_a_data_error(make_scorer, classnames):
    with pytest.raises(DataError, match="empty"):
        make_scorer().accuracy(TEMPLATES[0], Split((), ()), classnames)


def test_batch_size_does_not_change_features(make_scorer, split, tmp_path):
    one = make_scorer(cache=tmp_path / "bs1", batch_size=1).image_features(split)
    many = make_scorer(cache=tmp_path / "bs4", batch_size=4).image_features(split)
    torch.testing.assert_close(one, many)
    torch.testing.assert_close(F.normalize(one, dim=-1), one)
