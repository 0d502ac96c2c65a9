"""Zero-shot fitness of prompt templates with an open_clip dual encoder.

GLOV scores every candidate template by the VLM's zero-shot top-1 accuracy on a
small labelled split. Image features depend only on (model, weights, images,
preprocessing), so they are computed once and cached on disk under a content
key; scoring a template then costs one text-encoder pass over the class names
plus one matrix product.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import open_clip
import torch
import torch.nn.functional as F  # noqa: N812

from glov.config import ObjectiveConfig, VLMConfig
from glov.data import Split, load_image
from glov.digests import sha256_file
from glov.errors import DataError, ModelError
from glov.hf import DTYPES, pick_device
from glov.store.model_share import ModelShare
from glov.templates import TemplateError, fill_all
from glov.vlm.checkpoints import load_checkpoint
from glov.vlm.clip_files import looks_like_path, no_checkpoint
from glov.vlm.feature_cache import FeatureCache
from glov.vlm.labels import as_list, checked_labels
from glov.vlm.model_names import resolve_model_name
from glov.vlm.shared_features import StoreFeatureCache, TieredFeatureCache
from glov.vlm.towers import portable_config, trim_padding
from glov.vlm.training import built_checkpoint, is_build_uri

log = logging.getLogger(__name__)

# Bump when the way features are computed changes, to orphan old cache entries.
_FEATURE_VERSION = "glov-clip-image-features/1"
# Prompts per text-encoder forward pass; bounds memory when many templates are batched.
_TEXT_BATCH = 1024


class ClipScorer:
    """Zero-shot accuracy of prompt templates for one open_clip model."""

    def __init__(
        self,
        cfg: VLMConfig,
        cache_dir: str | Path,
        shared_cache: StoreFeatureCache | None = None,
        model_share: ModelShare | None = None,
    ):
        """`shared_cache` puts features in the run store too (pods and runs share them);
        `model_share` is where `build://` weights are looked up before training them."""
        self.cfg = cfg
        self.model_share = model_share
        self.model_name = resolve_model_name(cfg.model)
        self.device = pick_device(cfg.device, "vlm.device")
        self.random_weights = cfg.pretrained is None
        self.cache_root = Path(cache_dir).expanduser()
        self.cache = FeatureCache(self.cache_root / "features")
        if shared_cache is not None:
            self.cache = TieredFeatureCache(self.cache, shared_cache)
        self.cache_hits = 0
        self.cache_misses = 0
        self._memory: dict[str, torch.Tensor] = {}

        model, preprocess, self.weights_id = self._build()
        # vlm.dtype: float32 unless asked (OpenAI's CLIP runs in float16 on a GPU).
        # auto is float32 for a dual encoder, on any device.
        self.dtype = DTYPES.get(cfg.dtype, torch.float32)
        self.model = model.to(self.device, self.dtype).eval()
        self.preprocess = preprocess
        self.tokenizer = open_clip.get_tokenizer(self.model_name)
        config = portable_config(self.model_name)
        # The architecture is part of the model's identity: a config file edited
        # in place keeps its name but computes different features (pkg:// towers unresolved).
        digest = hashlib.sha256(json.dumps(config, sort_keys=True).encode()).hexdigest()
        self.model_id = f"{self.model_name}#{digest[:16]}"
        preprocess_cfg = getattr(self.model.visual, "preprocess_cfg", None)
        self.preprocess_id = f"{preprocess!r}|{preprocess_cfg!r}"
        if self.random_weights:
            log.warning(
                "VLM %s has randomly initialised weights (seed %d): accuracies are chance level",
                self.model_name,
                cfg.init_seed,
            )

    # -- model loading ---------------------------------------------------------------

    def _random_model(self) -> tuple[torch.nn.Module, Any]:
        # fork_rng: seeding must make the weights reproducible without resetting
        # the caller's global RNG stream.
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.cfg.init_seed)
            model, _, preprocess = open_clip.create_model_and_transforms(
                self.model_name, pretrained=None, pretrained_text=False, device="cpu"
            )
        return model, preprocess

    def _build(self) -> tuple[torch.nn.Module, Any, str]:
        pretrained = self.cfg.pretrained
        if pretrained is None:
            model, preprocess = self._random_model()
            return model, preprocess, f"random:{self.model_name}:{self.cfg.init_seed}"
        path = Path(pretrained).expanduser()
        if is_build_uri(pretrained):  # trained here (glov build-vlm), built on first use
            path = built_checkpoint(pretrained, self.model_name, self.cache_root, self.model_share)
        if path.is_file():
            model, preprocess = self._random_model()
            load_checkpoint(model, path, self.model_name)
            return model, preprocess, f"sha256:{sha256_file(path)}"
        if looks_like_path(pretrained):
            raise no_checkpoint(pretrained)
        return *self._tagged_model(pretrained), pretrained

    def _tagged_model(self, tag: str) -> tuple[torch.nn.Module, Any]:
        tags = open_clip.list_pretrained_tags_by_model(self.model_name)
        if tag not in tags:
            known = ", ".join(tags) if tags else "none"
            raise ModelError(
                f"model {self.model_name!r} has no pretrained tag {tag!r} (known tags: {known})",
                "use a known tag, a local checkpoint file, "
                "or vlm.pretrained=null for random weights",
            )
        # Weights trained with QuickGELU must run with it; open_clip only warns otherwise.
        quick_gelu = bool(open_clip.get_pretrained_cfg(self.model_name, tag).get("quick_gelu"))
        try:
            model, _, preprocess = open_clip.create_model_and_transforms(
                self.model_name, pretrained=tag, force_quick_gelu=quick_gelu, device="cpu"
            )
        except Exception as exc:  # download/network errors come in many types
            raise ModelError(
                f"cannot load pretrained weights {self.model_name}/{tag}: {exc}",
                "this machine may be offline: download the weights once and set "
                "vlm.pretrained to the local checkpoint file (e.g. a copy fetched from s3)",
            ) from None
        return model, preprocess

    # -- image features ----------------------------------------------------------------

    def feature_key(self, split: Split) -> str:
        parts = [_FEATURE_VERSION, self.model_id, self.weights_id, split.content_key()]
        parts.append(self.preprocess_id)
        if self.dtype != torch.float32:  # float32 keys stay as they were before dtypes
            parts.append(str(self.dtype))
        return hashlib.sha256(json.dumps(parts).encode()).hexdigest()

    def image_features(self, split: Split) -> torch.Tensor:
        """L2-normalised image features [N, D] of the split, cached in memory and on disk."""
        if len(split) == 0:
            raise DataError("the image split is empty", "give the dataset at least one image")
        key = self.feature_key(split)
        if key in self._memory:
            self.cache_hits += 1
            return self._memory[key]
        feats = self.cache.get(key)
        if feats is not None and not self._valid(feats, len(split)):
            log.warning("feature cache entry %s has the wrong shape; recomputing", key)
            feats = None
        if feats is None:
            self.cache_misses += 1
            feats = self._compute_image_features(split)
            self.cache.put(key, feats, {"model": self.model_id, "weights": self.weights_id})
        else:
            self.cache_hits += 1
        feats = feats.to(self.device)
        self._memory[key] = feats
        return feats

    def _valid(self, feats: torch.Tensor, n: int) -> bool:
        dim = self._embed_dim()
        return (
            feats.dtype == torch.float32
            and tuple(feats.shape) == (n, dim)
            and bool(torch.isfinite(feats).all())
        )

    def _embed_dim(self) -> int:
        return int(open_clip.get_model_config(self.model_name)["embed_dim"])

    def _pixels(self, path: str) -> torch.Tensor:
        image = load_image(path)  # a DataError naming the file if it does not decode
        try:
            return self.preprocess(image)
        except Exception as exc:  # e.g. a degenerate size the resize cannot handle
            raise DataError(
                f"image {path} decodes but cannot be prepared for the VLM "
                f"({exc.__class__.__name__}: {exc})",
                "replace the file with a valid image or remove it from the dataset",
            ) from None

    @torch.no_grad()
    def _compute_image_features(self, split: Split) -> torch.Tensor:
        out = []
        bs = self.cfg.batch_size
        for start in range(0, len(split), bs):
            batch = [self._pixels(p) for p in split.paths[start : start + bs]]
            images = torch.stack(batch).to(self.device, self.dtype)
            out.append(self.model.encode_image(images, normalize=True).float().cpu())
        return torch.cat(out)

    # -- text side ---------------------------------------------------------------------

    @torch.no_grad()
    def _encode_prompts(self, prompts: list[str]) -> torch.Tensor:
        """L2-normalised text embeddings [len(prompts), D]."""
        out = []
        for start in range(0, len(prompts), _TEXT_BATCH):
            tokens = self.tokenizer(prompts[start : start + _TEXT_BATCH])
            tokens = trim_padding(tokens, getattr(self.model, "text", None)).to(self.device)
            out.append(self.model.encode_text(tokens, normalize=True).float())
        return torch.cat(out)

    def fits_context(self, templates: Sequence[str], classnames: list[str]) -> list[bool]:
        """Per template: whether it fits the text encoder's context filled with every class name.

        The tokenizer silently truncates a longer prompt (77 tokens for CLIP), so
        CLIP would score a different text than the template; what counts is
        tokens, not characters. Tokenizing one position past the context shows
        truncation as a non-pad token in that position, for any open_clip
        tokenizer (CLIP's BPE pads with 0, HF tokenizers with their pad id).
        """
        context = int(getattr(self.tokenizer, "context_length", None) or 77)
        pad = getattr(getattr(self.tokenizer, "tokenizer", None), "pad_token_id", None) or 0
        result = []
        for t in templates:
            tokens = self.tokenizer(fill_all(t, classnames), context_length=context + 1)
            result.append(bool((tokens[:, context] == pad).all()))
        return result

    def _per_template(self, templates: Sequence[str], classnames: list[str]) -> torch.Tensor:
        """Normalised embeddings [T, C, D] of every template filled with every class name."""
        if not classnames:
            raise DataError("no class names given", "give the dataset's class names")
        if not templates:
            raise DataError("no templates given", "give at least one template with a '{}' slot")
        prompts: list[str] = []
        for t in templates:
            try:
                prompts.extend(fill_all(t, classnames))
            except TemplateError as exc:
                raise DataError(str(exc), "templates need exactly one '{}' class slot") from None
        emb = self._encode_prompts(prompts)
        return emb.reshape(len(templates), len(classnames), -1)

    def class_embeddings(
        self, templates: str | Sequence[str], classnames: list[str]
    ) -> torch.Tensor:
        """Per class: mean of the normalised embeddings over templates, renormalised [C, D]."""
        templates = as_list(templates)
        return F.normalize(self._per_template(templates, classnames).mean(dim=0), dim=-1)

    # -- accuracy ----------------------------------------------------------------------

    def predictions(
        self, templates: str | Sequence[str], split: Split, classnames: list[str]
    ) -> torch.Tensor:
        """Predicted class index per image [N] with the ensemble of `templates`."""
        weights = self.class_embeddings(templates, classnames)
        return (self.image_features(split) @ weights.T).argmax(dim=-1).cpu()

    def ensemble_accuracy(
        self, templates: str | Sequence[str], split: Split, classnames: list[str]
    ) -> float:
        labels = checked_labels(split, len(classnames), self.device)
        preds = self.predictions(templates, split, classnames).to(self.device)
        return float((preds == labels).float().mean())

    def accuracy(self, template: str, split: Split, classnames: list[str]) -> float:
        """Top-1 zero-shot accuracy in [0, 1] of one template (GLOV's fitness)."""
        return self.accuracies([template], split, classnames)[0]

    def accuracies(
        self, templates: Sequence[str], split: Split, classnames: list[str]
    ) -> list[float]:
        """Accuracy of each template alone; all prompts share text-encoder passes."""
        templates = as_list(templates)
        if not templates:
            return []
        labels = checked_labels(split, len(classnames), self.device)
        feats = self.image_features(split)
        per_template = self._per_template(templates, classnames)  # [T, C, D]
        result = []
        for weights in per_template:  # one [N, C] product at a time bounds memory for large N
            preds = (feats @ weights.T).argmax(dim=-1)
            result.append(float((preds == labels).float().mean()))
        return result


def build_scorer(
    cfg: VLMConfig,
    objective: ObjectiveConfig,
    cache_dir: str | Path,
    shared_features: StoreFeatureCache | None,
    model_share: ModelShare | None = None,
) -> ClipScorer:
    """The scorer of vlm.kind=clip (glov.config.kinds)."""
    return ClipScorer(cfg, cache_dir, shared_features, model_share)
