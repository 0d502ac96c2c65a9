"""Draw K answers to one meta-prompt in a single batched, seeded generate call."""

from __future__ import annotations

import inspect
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import torch

from glov.config import LLMConfig
from glov.llm.loader import LoadedLLM
from glov.llm.metaprompt import Message, render_chat

if TYPE_CHECKING:
    # Type-only: importing glov.llm.steering pulls in transformers, which
    # plain (unsteered) sampling does not need at import time.
    from transformers import Cache

    from glov.llm.steering.decode import Steer


@dataclass
class GenerationResult:
    texts: list[str]
    # Generated tokens up to and including each answer's first eos (padding after
    # it excluded), summed over the samples: the LLM work this call cost.
    new_tokens: int
    seconds: float
    prompt_tokens: int
    # Per answer: it hit max_new_tokens before an eos, so its text may be cut off.
    truncated: list[bool] = field(default_factory=list)


def _answer_lengths(generated: torch.Tensor, eos_ids: list[int]) -> list[int | None]:
    """Per row, the number of tokens up to and including the first eos; None: no eos."""
    lengths: list[int | None] = []
    is_eos = torch.isin(generated, torch.tensor(eos_ids, device=generated.device))
    for row in is_eos:
        hits = row.nonzero()
        lengths.append(int(hits[0]) + 1 if len(hits) else None)
    return lengths


def _prefill_once(
    llm: LoadedLLM, input_ids: torch.Tensor, attention_mask: torch.Tensor, n: int
) -> Cache | None:
    """The prompt's KV cache (all but its last token), computed once and repeated n times.

    HF generate with num_return_sequences=n copies the prompt n times and runs
    the prefill on every copy; on CPU that prefill dominates (a ~300-token
    meta-prompt vs ~50 new tokens). Returns None where the model's cache cannot
    be repeated, and generate then does the usual n-fold prefill.
    """
    model = llm.model
    kwargs: dict[str, Any] = {}
    if "logits_to_keep" in inspect.signature(model.forward).parameters:
        kwargs["logits_to_keep"] = 1  # only the cache is needed, not 300 x vocab logits
    out = model(
        input_ids=input_ids[:, :-1],
        attention_mask=attention_mask[:, :-1],
        use_cache=True,
        **kwargs,
    )
    cache = getattr(out, "past_key_values", None)
    if cache is None or not hasattr(cache, "batch_repeat_interleave"):
        return None
    cache.batch_repeat_interleave(n)
    return cache


def _generate(
    llm: LoadedLLM,
    input_ids: torch.Tensor,
    attention_mask: torch.Tensor,
    n: int,
    share_prefix: bool,
    eos_ids: list[int],
    settings: dict[str, Any],
) -> torch.Tensor:
    """One batched generate call for n samples; returns [n, prompt_len + new] token ids."""
    common = dict(eos_token_id=eos_ids, pad_token_id=llm.pad_token_id, **settings)
    cache = None
    if share_prefix and n > 1 and input_ids.shape[1] > 1:
        cache = _prefill_once(llm, input_ids, attention_mask, n)
    if cache is None:
        return llm.model.generate(
            input_ids=input_ids, attention_mask=attention_mask, num_return_sequences=n, **common
        )
    # generate sees n copies of the prompt and a cache covering all but the last
    # token, so it feeds only that token: the same distribution, one prefill.
    return llm.model.generate(
        input_ids=input_ids.repeat(n, 1),
        attention_mask=attention_mask.repeat(n, 1),
        past_key_values=cache,
        **common,
    )


def sample(
    llm: LoadedLLM,
    messages: list[Message],
    n: int,
    cfg: LLMConfig,
    seed: int,
    steer: Steer | None = None,
    share_prefix: bool = True,
) -> GenerationResult:
    """Sample n answers to `messages`; the same seed gives the same texts (on one device).

    With `steer` (a glov.llm.steering.decode.Steer, its layer already resolved),
    decoding goes through steered_generate instead of HF generate, with the
    same sampling settings.
    `share_prefix=False` turns off the shared prompt prefill (see _generate);
    the texts are the same either way.
    """
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    tok = llm.tokenizer
    prompt = render_chat(tok, messages)
    # The chat template already wrote any BOS the model needs.
    enc = tok(prompt, return_tensors="pt", add_special_tokens=False)
    input_ids = enc["input_ids"].to(llm.device)
    attention_mask = enc["attention_mask"].to(llm.device)
    prompt_len = int(input_ids.shape[1])
    eos_ids = llm.eos_token_ids
    settings: dict[str, Any] = dict(
        max_new_tokens=cfg.max_new_tokens,
        do_sample=True,
        temperature=cfg.temperature,
        top_k=cfg.top_k,
        top_p=cfg.top_p,
    )
    start = time.perf_counter()
    with torch.inference_mode():
        if steer is None:
            # fork_rng: seeding must not change the caller's global RNG stream.
            devices = [torch.device(llm.device)] if llm.device.startswith("cuda") else []
            with torch.random.fork_rng(devices=devices):
                torch.manual_seed(seed)
                sequences = _generate(
                    llm, input_ids, attention_mask, n, share_prefix, eos_ids, settings
                )
        else:
            from glov.llm.steering.decode import steered_generate

            out = steered_generate(
                llm.model,
                input_ids.repeat(n, 1),
                attention_mask.repeat(n, 1),
                steer,
                seed=seed,
                eos_token_id=eos_ids,
                pad_token_id=llm.pad_token_id,
                **settings,
            )
            # Same layout as HF generate's output: the prompt, then the answer.
            sequences = out.sequences
    seconds = time.perf_counter() - start
    generated = sequences[:, prompt_len:]
    # A row without eos ran into max_new_tokens (generation stops at the first
    # of: every row has its eos, or the limit).
    ends = _answer_lengths(generated, eos_ids)
    lengths = [int(generated.shape[1]) if end is None else end for end in ends]
    texts = [
        tok.decode(row[:length], skip_special_tokens=True).strip()
        for row, length in zip(generated, lengths, strict=True)
    ]
    return GenerationResult(
        texts=texts,
        new_tokens=sum(lengths),
        seconds=seconds,
        prompt_tokens=prompt_len,
        truncated=[end is None for end in ends],
    )


def greedy(llm: LoadedLLM, messages: list[Message], max_new_tokens: int) -> str:
    """One greedy answer to `messages` (a judge's verdict), decoded without special tokens."""
    tok = llm.tokenizer
    enc = tok(render_chat(tok, messages), return_tensors="pt", add_special_tokens=False)
    input_ids = enc["input_ids"].to(llm.device)
    with torch.inference_mode():
        out = llm.model.generate(
            input_ids=input_ids,
            attention_mask=enc["attention_mask"].to(llm.device),
            max_new_tokens=max_new_tokens,
            do_sample=False,
            eos_token_id=llm.eos_token_ids,
            pad_token_id=llm.pad_token_id,
        )
    generated = out[0, input_ids.shape[1] :]
    length = _answer_lengths(generated[None], llm.eos_token_ids)[0]
    return tok.decode(generated[:length], skip_special_tokens=True).strip()
