"""The decoding variants the bench times: steered_generate with or without a Steer, and
the pipeline's unsteered HF generate path; the same sampling settings for all."""

from __future__ import annotations

from typing import Any

import torch

from glov.llm.steering import Steer, steered_generate

# name -> (steering mode or None for plain, exact strategy)
STEERED = {
    "exact": ("exact", "split"),
    "exact/refeed": ("exact", "refeed"),
    "cached": ("cached", "split"),
}
PLAIN = ("plain", "plain/generate")


def steered(
    llm: Any,
    ids: torch.Tensor,
    mask: torch.Tensor,
    steer: Steer | None,
    new: int,
    seed: int,
    strategy: str,
) -> tuple[torch.Tensor, int]:
    """The sequences and the tokens steered_generate counted as made (each row up to its eos)."""
    out = steered_generate(
        llm.model,
        ids,
        mask,
        steer,
        max_new_tokens=new,
        do_sample=True,
        temperature=1.0,
        top_k=50,
        top_p=0.9,
        seed=seed,
        eos_token_id=None,
        pad_token_id=llm.pad_token_id,
        exact_strategy=strategy,  # type: ignore[arg-type]
    )
    return out.sequences, out.new_tokens


def generate(
    llm: Any, ids: torch.Tensor, mask: torch.Tensor, new: int, seed: int
) -> tuple[torch.Tensor, int]:
    """The pipeline's unsteered sampling call (glov.llm.sampling), eos disabled.

    With no eos no row stops, so the tokens made are rows x generated width
    (a width short of ``new`` would show a stop).
    """
    # The unsteered path of glov.llm.sampling.sample, called below its prompt
    # rendering and eos handling so the budget is the same as the others'.
    from glov.llm.sampling import _generate as sampling_generate

    settings = dict(max_new_tokens=new, do_sample=True, temperature=1.0, top_k=50, top_p=0.9)
    with torch.inference_mode(), torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        sequences = sampling_generate(llm, ids[:1], mask[:1], ids.shape[0], True, [], settings)
    return sequences, int(sequences.shape[0] * (sequences.shape[1] - ids.shape[1]))
