"""GLOV steering vectors: finding the decoder layers, hooking them, and H+ - H-.

Layers: a config names the steered layer as an int index or a float depth
fraction. ``resolve_layer`` is the one place that interprets that value; every
function here and in ``glov.llm.steering.decode`` takes the resolved int index
and only checks it against the model (``check_layer_index``).

The steering vector is the difference of the mean-pooled outputs of one decoder
layer for the best template (p+) and a worse one (p-), both tokenized as plain
text (no chat template), exactly as given: glov.search.steering passes them as
the LLM reads them in its meta-prompt (``<category>`` placeholder).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import torch
from torch import Tensor, nn
from torch.utils.hooks import RemovableHandle

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

# Given the layer output [B, T, H], returns an additive offset broadcastable to
# it, or None to leave the output untouched.
OffsetFn = Callable[[Tensor], Tensor | None]

Pooling = Literal["masked", "padded"]


def decoder_layers(model: nn.Module) -> nn.ModuleList:
    """The decoder-layer list of an HF decoder-only model, found without knowing its class.

    Llama, Qwen2, Gemma, Mistral and SmolLM keep them at ``model.model.layers``
    (which ``get_decoder()`` returns); GPT-2 style models use ``transformer.h``.
    """
    roots: list[nn.Module] = []
    get_decoder = getattr(model, "get_decoder", None)
    if callable(get_decoder):
        decoder = get_decoder()
        if isinstance(decoder, nn.Module):
            roots.append(decoder)
    for name in ("model", "transformer", "gpt_neox"):
        sub = getattr(model, name, None)
        if isinstance(sub, nn.Module):
            roots.append(sub)
    roots.append(model)
    for root in roots:
        for attr in ("layers", "h"):
            layers = getattr(root, attr, None)
            if isinstance(layers, nn.ModuleList) and len(layers) > 0:
                return layers
    raise ValueError(
        f"cannot find the decoder layers of {type(model).__name__}: looked for "
        "get_decoder().layers, model.layers, transformer.h and gpt_neox.layers. Steering needs "
        "a decoder-only model whose layers are an nn.ModuleList that forward hooks can attach to."
    )


def resolve_layer(layer: int | float, num_layers: int) -> int:
    """A decoder-layer index from a config value: an index or a depth fraction.

    The only function that interprets the config value; everything downstream
    takes the int it returns. An int is an index in [0, num_layers) (negative
    ints are rejected, so a typo cannot silently pick a layer counted from the
    end). A float in (0, 1) is a depth fraction, floor(fraction * num_layers):
    0.55 of Llama-3-8B's 32 layers is layer 17, the paper's choice.
    """
    if num_layers <= 0:
        raise ValueError(f"num_layers must be positive, got {num_layers}")
    if isinstance(layer, bool):
        raise TypeError("layer must be an int index or a float depth fraction, not a bool")
    if isinstance(layer, numbers.Integral):
        return check_layer_index(layer, num_layers)
    if isinstance(layer, numbers.Real):
        layer = float(layer)
        if not 0.0 < layer < 1.0:
            raise ValueError(f"a layer fraction must lie in (0, 1), got {layer}")
        return min(int(math.floor(layer * num_layers)), num_layers - 1)
    raise TypeError(f"layer must be int or float, got {type(layer).__name__}")


def require_layer_index(layer: object) -> int:
    """``layer`` as an int, or a TypeError when it is not an already-resolved index.

    Floats (depth fractions) and bools are config values, not indices: they go
    through ``resolve_layer`` first.
    """
    if isinstance(layer, bool) or not isinstance(layer, numbers.Integral):
        raise TypeError(
            f"layer must be a resolved int index, got {type(layer).__name__} {layer!r}; "
            "call resolve_layer(value, num_layers) first to turn a config value "
            "(an index or a depth fraction) into one"
        )
    return int(layer)


def check_layer_index(layer: int, num_layers: int) -> int:
    """Check that ``layer`` is a valid decoder-layer index of a model with ``num_layers``.

    Returns it as a plain int. Raises TypeError for anything but an int (see
    ``require_layer_index``) and ValueError for an index outside [0, num_layers).
    """
    index = require_layer_index(layer)
    if not 0 <= index < num_layers:
        raise ValueError(
            f"layer index {index} is out of range for a model with {num_layers} decoder "
            f"layers (valid indices: 0 to {num_layers - 1})"
        )
    return index


def layer_hidden(output: Any) -> Tensor:
    """The hidden state in a decoder layer's output.

    Decoder layers return a tensor (transformers >= 5) or a tuple whose first
    item is the hidden state (older versions, some remote-code models).
    """
    return output[0] if isinstance(output, tuple) else output


def with_layer_hidden(output: Any, hidden: Tensor) -> Any:
    """``output`` with its hidden state replaced by ``hidden``, in the same form."""
    return (hidden, *output[1:]) if isinstance(output, tuple) else hidden


@contextmanager
def steering_hook(model: nn.Module, layer: int, offset_fn: OffsetFn) -> Iterator[RemovableHandle]:
    """Add ``offset_fn(hidden)`` to the output of decoder layer ``layer`` while inside.

    ``layer`` is a resolved index (see ``resolve_layer``). The hook is removed
    on exit, also when the body raises, so a failed generation never leaves a
    steered model behind.
    """
    layers = decoder_layers(model)
    module = layers[check_layer_index(layer, len(layers))]

    def hook(_module: nn.Module, _args: Any, output: Any) -> Any:
        hidden = layer_hidden(output)
        offset = offset_fn(hidden)
        if offset is None:
            return None
        return with_layer_hidden(output, hidden + offset)

    handle = module.register_forward_hook(hook)
    try:
        yield handle
    finally:
        handle.remove()


@contextmanager
def _capture_layer(model: nn.Module, layer: int) -> Iterator[list[Tensor]]:
    """Collect the outputs of decoder layer ``layer`` while inside (hook removed on exit)."""
    captured: list[Tensor] = []
    layers = decoder_layers(model)
    module = layers[check_layer_index(layer, len(layers))]

    def hook(_module: nn.Module, _args: Any, output: Any) -> None:
        captured.append(layer_hidden(output).detach())

    handle = module.register_forward_hook(hook)
    try:
        yield captured
    finally:
        handle.remove()


@dataclass(frozen=True)
class SteeringVector:
    """H+ - H- at one layer, with the numbers needed to judge whether it is sane."""

    vector: Tensor  # [hidden], float32, cpu
    layer: int
    norm: float
    # Typical per-token norm of the layer output on these inputs (median over
    # the kept positions of both texts): alpha * ratio says how hard a step
    # pushes relative to the state it is added to.
    residual_norm: float
    ratio: float
    # Positions (token indices) dropped from both means as attention sinks.
    dropped_positions: tuple[int, ...] = field(default_factory=tuple)


def compute_steering_vector(
    model: nn.Module,
    tokenizer: PreTrainedTokenizerBase,
    positive: str,
    negative: str,
    layer: int,
    *,
    pooling: Pooling = "masked",
    sink_factor: float = 10.0,
    add_special_tokens: bool = True,
) -> SteeringVector:
    """GLOV's H+ - H-: mean-pooled output of decoder layer ``layer`` for p+ minus p-.

    ``layer`` is a resolved index (see ``resolve_layer``).
    Both texts are tokenized as they are (no chat template) and run as one batch
    RIGHT-padded to equal length, so token i of each text sits at position i
    (position 0, the BOS where the tokenizer adds one, lines up in both).

    ``pooling``:
      - "masked" (default): mean over each text's real tokens only, via the
        attention mask. The pad token's hidden states carry no meaning of the
        template, and averaging them in would add a component that depends
        only on the length difference of p+ and p-.
      - "padded": mean over the padded length, pad positions included (a
        plain ``hidden.mean(dim=1)`` over the padded batch). Shared positions
        then cancel exactly because both means divide by the same length.

    Attention sinks: a position whose hidden-state norm exceeds ``sink_factor``
    times the median norm of its text dominates a mean of a few tokens. Such a
    position is dropped from both means and reported in ``dropped_positions``.
    When the token there differs between p+ and p- it would otherwise swamp the
    difference; when it is shared (a BOS) it only cancels under "padded"
    pooling, so it is dropped in either case.
    """
    if pooling not in ("masked", "padded"):
        raise ValueError(f"pooling must be 'masked' or 'padded', got {pooling!r}")
    layer = check_layer_index(layer, len(decoder_layers(model)))
    ids, mask = _encode_pair(tokenizer, positive, negative, add_special_tokens)
    device = _model_device(model)
    ids, mask = ids.to(device), mask.to(device)
    # Right padding: real tokens sit at positions 0..n-1 under the default
    # position ids, exactly as when each text runs alone.
    with torch.inference_mode(), _capture_layer(model, layer) as captured:
        model(input_ids=ids, attention_mask=mask, use_cache=False)
    hidden = captured[0].float().cpu()  # [2, T, H]
    real = mask.bool().cpu()

    norms = hidden.norm(dim=-1)  # [2, T]
    keep = torch.ones(ids.shape[1], dtype=torch.bool)
    for row in range(2):
        row_norms = norms[row][real[row]]
        median = row_norms.median()
        sinks = real[row] & (norms[row] > sink_factor * median)
        keep &= ~sinks
    dropped = tuple(int(i) for i in torch.nonzero(~keep).flatten())

    weights = (real if pooling == "masked" else torch.ones_like(real)) & keep
    means = []
    for row in range(2):
        w = weights[row].float()
        if w.sum() == 0:
            raise ValueError("every position of a text was dropped as an attention sink")
        means.append((hidden[row] * w[:, None]).sum(0) / w.sum())
    vector = (means[0] - means[1]).contiguous()

    kept_norms = norms[real & keep[None, :]]
    residual_norm = float(kept_norms.median()) if kept_norms.numel() else float("nan")
    norm = float(vector.norm())
    ratio = norm / residual_norm if residual_norm > 0 else float("inf")
    return SteeringVector(
        vector=vector,
        layer=layer,
        norm=norm,
        residual_norm=residual_norm,
        ratio=ratio,
        dropped_positions=dropped,
    )


def _encode_pair(
    tokenizer: PreTrainedTokenizerBase, positive: str, negative: str, add_special_tokens: bool
) -> tuple[Tensor, Tensor]:
    # Encode each text alone and right-pad by hand: the tokenizer's own padding
    # side and pad token vary between checkpoints and some have no pad token.
    encoded = [
        tokenizer(text, add_special_tokens=add_special_tokens)["input_ids"]
        for text in (positive, negative)
    ]
    if any(len(e) == 0 for e in encoded):
        raise ValueError("p+ and p- must each encode to at least one token")
    pad_id = tokenizer.pad_token_id
    if pad_id is None:
        pad_id = tokenizer.eos_token_id if tokenizer.eos_token_id is not None else 0
    length = max(len(e) for e in encoded)
    ids = torch.full((2, length), int(pad_id), dtype=torch.long)
    mask = torch.zeros((2, length), dtype=torch.long)
    for row, tokens in enumerate(encoded):
        ids[row, : len(tokens)] = torch.tensor(tokens, dtype=torch.long)
        mask[row, : len(tokens)] = 1
    return ids, mask


def _model_device(model: nn.Module) -> torch.device:
    return next(model.parameters()).device
