"""GLOV guidance: steering vectors (H+ - H-) and steered generation.

Split in two modules, re-exported here:
- ``glov.llm.steering_vector``: decoder-layer discovery, ``resolve_layer``, the
  reusable ``steering_hook`` and ``compute_steering_vector``.
- ``glov.llm.steered_decode``: ``Steer`` and ``steered_generate`` with the
  "reference", "exact" (same outputs with a KV cache) and "cached" modes.
"""

from glov.llm.steered_decode import (
    ExactStrategy,
    Mode,
    Steer,
    SteeredOutput,
    filter_logits,
    steered_generate,
)
from glov.llm.steering_vector import (
    OffsetFn,
    Pooling,
    SteeringVector,
    compute_steering_vector,
    decoder_layers,
    last_position_offset,
    resolve_layer,
    steering_hook,
)

__all__ = [
    "ExactStrategy",
    "Mode",
    "OffsetFn",
    "Pooling",
    "Steer",
    "SteeredOutput",
    "SteeringVector",
    "compute_steering_vector",
    "decoder_layers",
    "filter_logits",
    "last_position_offset",
    "resolve_layer",
    "steered_generate",
    "steering_hook",
]
