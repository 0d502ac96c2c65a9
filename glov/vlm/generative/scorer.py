"""Fitness of prompts for a generative VLM: accuracy of the class read out of its answers.

For every (image, prompt) pair the VLM answers greedily (at most
vlm.max_new_tokens tokens) and the readout maps the answer to the nearest class
name (readout.py). Fitness is the top-1 accuracy over the split. Answers are
cached by content key in memory and on disk (answer_cache.py), so a prompt seen
before, in this run or another, costs no generation; `cache_hits` and
`cache_misses` count answers. New answers come from the prefix-reuse path
(prefix_reuse.py) or, with vlm.prefix_reuse=false or for models it does not
support, from plain batched `generate` (plain.py).

Ensembles (the final top-n evaluation, DS-TEMP): a generative VLM has no class
embeddings to average, so each image's answers to the templates are averaged
instead: the mean of their normalised sentence embeddings, renormalised, is
read out like one answer. For one template this is exactly its own readout.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Sequence
from pathlib import Path

import torch
import torch.nn.functional as F  # noqa: N812
from PIL import Image

from glov.config import ObjectiveConfig, VLMConfig
from glov.data import Split, load_image
from glov.errors import DataError
from glov.vlm.generative.answer_cache import AnswerCache, answer_key
from glov.vlm.generative.loading import load_vlm
from glov.vlm.generative.plain import generate_plain
from glov.vlm.generative.prefix_reuse import (
    PrefixStore,
    generate_with_prefix,
    supports_prefix_reuse,
)
from glov.vlm.generative.prompts import chat_prefix, chat_text, instruction
from glov.vlm.generative.readout import SentenceReadout
from glov.vlm.generative.source import local_model_dir, model_digest
from glov.vlm.labels import as_list, checked_labels

log = logging.getLogger(__name__)

# The image the image-token count is measured on for fits_context (the processors'
# usual input size; any-resolution models may use more tokens for larger images).
_PROBE_SIZE = (384, 384)


class GenerativeScorer:
    """Scores prompts by a generative VLM's answers, read out as classes."""

    def __init__(self, cfg: VLMConfig, cache_dir: str | Path):
        self.cfg = cfg
        self.cache_root = Path(cache_dir).expanduser()
        model_dir = local_model_dir(cfg.model)
        self.vlm = load_vlm(model_dir, cfg)
        self.model_id = "sha256:" + model_digest(model_dir, self.cache_root / "generative")
        # Everything besides model, image and prompt that changes an answer.
        self.settings = {
            "decoding": "greedy",
            "max_new_tokens": cfg.max_new_tokens,
            "dtype": str(self.vlm.dtype).removeprefix("torch."),
            # Absent without a system turn, so answers cached before the setting existed hold.
            **({"system": cfg.system_prompt} if cfg.system_prompt is not None else {}),
        }
        self.answer_cache = AnswerCache(self.cache_root / "generative" / "answers")
        self.prefix_text = chat_prefix(self.vlm.processor, cfg.system_prompt)
        self.prefix_reuse = cfg.prefix_reuse and supports_prefix_reuse(self.vlm.model)
        if cfg.prefix_reuse and not self.prefix_reuse:
            log.info("vlm %s has M-RoPE positions: answers come from plain generate", cfg.model)
        self.prefixes = PrefixStore(int(cfg.prefix_cache_gib * 2**30))
        self.cache_hits = 0
        self.cache_misses = 0
        self.pairs_generated = 0
        self._memory: dict[str, str] = {}
        self._image_tokens: int | None = None

    # -- answers -----------------------------------------------------------------------

    @functools.cached_property
    def readout(self) -> SentenceReadout:
        # Loaded on first use: the safety objective reads refusals, never classes.
        return SentenceReadout(self.cfg.readout, self.vlm.device)

    def chat(self, text: str) -> str:
        """The rendered chat (vlm.system_prompt's turn, then the image and `text`)."""
        return chat_text(self.vlm.processor, text, self.cfg.system_prompt)

    def prompt(self, template: str) -> str:
        """The user text the VLM sees for `template` (after the image)."""
        return instruction(template, self.cfg.prompt_suffix)

    def _key(self, image_digest: str, prompt: str, max_new_tokens: int) -> str:
        settings = {**self.settings, "max_new_tokens": max_new_tokens}
        return answer_key(self.model_id, image_digest, prompt, settings)

    def answers(self, templates: Sequence[str], split: Split) -> list[list[str]]:
        """The VLM's answer for every template [T] and image [N] of the split."""
        return self.answers_for([[self.prompt(t)] * len(split) for t in templates], split)

    def answers_for(
        self,
        prompts: Sequence[Sequence[str]],
        split: Split,
        max_new_tokens: int | None = None,
    ) -> list[list[str]]:
        """The answer to prompts[t][i] about image i of the split, for every row t.

        Rows may give each image its own prompt (the safety objective puts the
        candidate before each pair's own request, glov.vlm.generative.safety).
        `max_new_tokens` overrides vlm.max_new_tokens (the safety objective's
        longer answers in the final evaluation); it is part of the answer's key.
        """
        if len(split) == 0:
            raise DataError("the image split is empty", "give the dataset at least one image")
        limit = max_new_tokens or self.cfg.max_new_tokens
        digests = [Split((p,), (0,)).content_key() for p in split.paths]
        keys = [
            [self._key(d, p, limit) for d, p in zip(digests, row, strict=True)] for row in prompts
        ]
        todo: dict[int, list[tuple[str, str]]] = {}  # image index -> [(prompt, key)]
        for row_prompts, row in zip(prompts, keys, strict=True):
            for i, (prompt, key) in enumerate(zip(row_prompts, row, strict=True)):
                if key in self._memory:
                    self.cache_hits += 1
                    continue
                found = self.answer_cache.get(key)
                if found is not None:
                    self._memory[key] = found
                    self.cache_hits += 1
                    continue
                pending = todo.setdefault(i, [])
                if key not in (k for _, k in pending):  # a duplicate template: answer once
                    pending.append((prompt, key))
                    self.cache_misses += 1
        if todo:
            self._generate(todo, split, digests, limit)
        return [[self._memory[key] for key in row] for row in keys]

    def _generate(
        self,
        todo: dict[int, list[tuple[str, str]]],
        split: Split,
        digests: list[str],
        max_new_tokens: int,
    ) -> None:
        n = sum(len(v) for v in todo.values())
        log.info("generating %d answers for %d images", n, len(todo))
        images = {i: load_image(split.paths[i]) for i in todo}
        plain: list[tuple[int, str, str]] = []
        for i, pending in todo.items():
            chats = [self.chat(p) for p, _ in pending]
            ids = None
            if self.prefix_reuse and self.prefix_text is not None:
                ids = generate_with_prefix(
                    self.vlm,
                    images[i],
                    chats,
                    self.prefix_text,
                    f"{digests[i]}:{self.model_id}",
                    self.prefixes,
                    max_new_tokens,
                    self.cfg.batch_size,
                )
            if ids is None:
                plain.extend((i, p, k) for p, k in pending)
                continue
            for (prompt, key), answer in zip(pending, ids, strict=True):
                self._store(key, answer, prompt, digests[i])
        if plain:
            ids = generate_plain(
                self.vlm,
                [images[i] for i, _, _ in plain],
                [self.chat(p) for _, p, _ in plain],
                max_new_tokens,
                self.cfg.batch_size,
            )
            for (i, prompt, key), answer in zip(plain, ids, strict=True):
                self._store(key, answer, prompt, digests[i])
        self.pairs_generated += n

    def _store(self, key: str, ids: list[int], prompt: str, image_digest: str) -> None:
        text = self.vlm.tokenizer.decode(ids, skip_special_tokens=True).strip()
        self._memory[key] = text
        meta = {"prompt": prompt, "image": image_digest, "model": self.model_id}
        self.answer_cache.put(key, text, meta)

    # -- the Scorer protocol -------------------------------------------------------------

    def fits_context(self, templates: Sequence[str], classnames: list[str]) -> list[bool]:
        """Per template: whether image, prompt and a full answer fit the model's context.

        Class names do not enter a generative prompt. The image's token count is
        measured once on a probe image of a typical input size.
        """
        context = self.vlm.context_length
        if context is None:
            return [True] * len(templates)
        budget = context - self.cfg.max_new_tokens - self._probe_image_tokens()
        tok = self.vlm.tokenizer
        return [len(tok(self.chat(self.prompt(t)))["input_ids"]) <= budget for t in templates]

    def _probe_image_tokens(self) -> int:
        """Tokens an image adds to a chat beyond its placeholder text."""
        if self._image_tokens is None:
            chat = self.chat("")
            probe = Image.new("RGB", _PROBE_SIZE, (128, 128, 128))
            with_image = self.vlm.processor(images=[probe], text=[chat], return_tensors="pt")
            plain = self.vlm.tokenizer(chat)["input_ids"]
            self._image_tokens = max(0, int(with_image["input_ids"].shape[1]) - len(plain))
        return self._image_tokens

    def accuracies(
        self, templates: Sequence[str], split: Split, classnames: list[str]
    ) -> list[float]:
        """Accuracy of each template alone: its answers read out as classes."""
        templates = as_list(templates)
        if not templates:
            return []
        labels = checked_labels(split, len(classnames))
        result = []
        for row in self.answers(templates, split):
            preds = torch.tensor(self.readout.classify(row, classnames))
            result.append(_accuracy(preds, labels))
        return result

    def accuracy(self, template: str, split: Split, classnames: list[str]) -> float:
        return self.accuracies([template], split, classnames)[0]

    def ensemble_accuracy(
        self, templates: str | Sequence[str], split: Split, classnames: list[str]
    ) -> float:
        """Accuracy of the templates' ensemble: per image, the mean answer embedding."""
        templates = as_list(templates)
        if not templates:
            raise DataError("no templates given", "give at least one prompt")
        labels = checked_labels(split, len(classnames))
        rows = self.answers(templates, split)
        mean = torch.stack([self.readout.embed(row) for row in rows]).mean(dim=0)
        sims = F.normalize(mean, dim=-1) @ self.readout.embed(classnames).T
        return _accuracy(sims.argmax(dim=-1).cpu(), labels)


def _accuracy(preds: torch.Tensor, labels: torch.Tensor) -> float:
    # Correct / images in float64: sharded evaluation recovers the exact count from it.
    return int((preds == labels).sum()) / len(labels)


def build_scorer(
    cfg: VLMConfig,
    objective: ObjectiveConfig,
    cache_dir: str | Path,
    shared_features: object,
    model_share: object = None,
) -> GenerativeScorer:
    """The scorer of vlm.kind=generative (glov.config.kinds). `shared_features`, the
    store's image-feature cache, is a dual encoder's: answers are cached by content key;
    `model_share` holds `build://` weights, which only the CLIP kind trains."""
    return GenerativeScorer(cfg, cache_dir)
