"""Feature caches in the run store, shared across pods, steps and runs.

On a cluster every generate/evaluate pod starts with an empty disk: the image
features of a (model, weights, split) are computed once, published to the
object store under their content key, and every later pod or run reads them
back. A local directory stays in front as the fast tier.
"""

from __future__ import annotations

import logging

import torch
from safetensors.torch import load, save

from glov.store import Store, StoreError
from glov.vlm.feature_cache import _TENSOR, FeatureCache

log = logging.getLogger(__name__)


class StoreFeatureCache:
    """`<key>.safetensors` objects in a store (atomic, checksummed by the store)."""

    def __init__(self, store: Store):
        self.store = store

    def get(self, key: str) -> torch.Tensor | None:
        name = f"{key}.safetensors"
        try:
            if not self.store.exists(name):
                return None
            return load(self.store.read_bytes(name))[_TENSOR]
        except (StoreError, OSError, ValueError) as exc:
            log.warning("shared feature cache entry %s unusable (%s); recomputing", key, exc)
            return None
        except Exception as exc:  # safetensors' own error types: a corrupt entry
            log.warning("shared feature cache entry %s unreadable (%s); recomputing", key, exc)
            return None

    def put(self, key: str, tensor: torch.Tensor, metadata: dict[str, str] | None = None) -> None:
        data = save({_TENSOR: tensor.detach().to("cpu").contiguous()}, metadata=metadata)
        # Same key = same content: a concurrent writer publishes identical bytes,
        # which the store accepts as an idempotent no-op.
        self.store.write_bytes(f"{key}.safetensors", data, overwrite=True)

    def discard(self, key: str) -> None:
        self.store.delete(f"{key}.safetensors")

    def has(self, key: str) -> bool:
        try:
            return self.store.exists(f"{key}.safetensors")
        except StoreError:
            return False


class TieredFeatureCache:
    """Local disk first, then the shared store; a shared hit is copied to local disk."""

    def __init__(self, local: FeatureCache, shared: StoreFeatureCache):
        self.local = local
        self.shared = shared

    def get(self, key: str) -> torch.Tensor | None:
        found = self.local.get(key)
        if found is not None:
            # A warm local disk still publishes, so other pods and runs can reuse it.
            if not self.shared.has(key):
                self.shared.put(key, found)
            return found
        found = self.shared.get(key)
        if found is not None:
            self.local.put(key, found)
        return found

    def put(self, key: str, tensor: torch.Tensor, metadata: dict[str, str] | None = None) -> None:
        self.local.put(key, tensor, metadata)
        self.shared.put(key, tensor, metadata)

    def discard(self, key: str) -> None:
        self.local.discard(key)
        self.shared.discard(key)
