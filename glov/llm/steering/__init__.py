"""GLOV guidance: steering vectors (H+ - H-) and steered generation.

Split in three modules, the public names re-exported here:
- ``glov.llm.steering.vector``: decoder-layer discovery, ``resolve_layer`` (the
  one place a config's layer value, an index or a depth fraction, becomes an
  index), ``check_layer_index``, the reusable ``steering_hook`` and
  ``compute_steering_vector``.
- ``glov.llm.steering.decode``: ``Steer`` and ``steered_generate`` with the
  "reference", "exact" (same outputs with a KV cache) and "cached" modes.
- ``glov.llm.steering.steppers``: the per-mode decoding loops behind
  ``steered_generate`` (internal, not re-exported).
"""

from glov.llm.steering.decode import (
    ExactStrategy,
    Mode,
    Steer,
    SteeredOutput,
    filter_logits,
    steered_generate,
)
from glov.llm.steering.vector import (
    Pooling,
    SteeringVector,
    check_layer_index,
    compute_steering_vector,
    decoder_layers,
    resolve_layer,
    steering_hook,
)

__all__ = [
    "ExactStrategy",
    "Mode",
    "Pooling",
    "Steer",
    "SteeredOutput",
    "SteeringVector",
    "check_layer_index",
    "compute_steering_vector",
    "decoder_layers",
    "filter_logits",
    "resolve_layer",
    "steered_generate",
    "steering_hook",
]
