"""(b) Llama-3-8B's shapes: steered generation (exact mode) against unsteered generate."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import torch

from bench.gpu.measure import (
    Recorder,
    allocated_gib,
    peak_gib,
    reset_peak,
    timed,
)
from bench.gpu.scales import Scale
from bench.random_models import param_count, random_decoder, token_ids, vocab_rows


def build_llm(tokenizer: Any, scale: Scale, device: torch.device) -> Any:
    from transformers import GenerationConfig

    s = scale.llm
    model = random_decoder(
        "llama",
        seed=1,
        device=device,
        dtype=scale.dtype,
        hidden_size=s.hidden,
        intermediate_size=s.intermediate,
        num_hidden_layers=s.layers,
        num_attention_heads=s.heads,
        num_key_value_heads=s.kv_heads,
        vocab_size=vocab_rows(s.vocab, tokenizer),
        max_position_embeddings=s.context,
        rope_theta=500000.0,
        tie_word_embeddings=False,
        **token_ids(tokenizer),
    )
    # No eos: every run makes exactly max_new_tokens per sample.
    model.generation_config = GenerationConfig(pad_token_id=tokenizer.pad_token_id)
    return model


def bench_steering(rec: Recorder, tokenizer: Any, scale: Scale, budget: float) -> None:
    from bench.steering.meta_prompt import meta_prompt_messages
    from glov.llm.steering import Steer, steered_generate

    device = torch.device(scale.device)
    out: dict[str, Any] = {"status": "building"}
    rec.data["steering"] = out
    reset_peak(device)
    build_s, model = timed(device, build_llm, tokenizer, scale, device)
    config = model.config
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    text = tokenizer.apply_chat_template(
        meta_prompt_messages(), tokenize=False, add_generation_prompt=True
    )
    ids = tokenizer(text, add_special_tokens=False, return_tensors="pt")["input_ids"]
    ids = ids.repeat(scale.samples, 1).to(device)
    mask = torch.ones_like(ids)
    gen = torch.Generator().manual_seed(2)
    vector = torch.randn(config.hidden_size, generator=gen)
    layer, alpha, new, samples = scale.steer_layer, 1.0, scale.new_tokens, scale.samples
    sampling = dict(do_sample=True, temperature=1.0, top_k=50, top_p=0.9)
    out.update(
        model=f"random-weight Llama ({config.num_hidden_layers}x{config.hidden_size}, "
        f"{config.num_attention_heads} heads, {config.num_key_value_heads} KV heads)",
        shape=asdict(scale.llm),
        vocab_size=config.vocab_size,
        parameters=param_count(model),
        dtype=str(scale.dtype).removeprefix("torch."),
        attn_implementation=getattr(config, "_attn_implementation", None),
        build_seconds=round(build_s, 2),
        weights_gib=allocated_gib(device),
        prompt_tokens=int(ids.shape[1]),
        samples=samples,
        max_new_tokens=new,
        layer=layer,
        alpha=alpha,
        vector="random normal, seed 2",
        sampling=sampling,
        status="warming up",
    )
    rec.save()

    def unsteered(n: int) -> int:
        torch.manual_seed(0)
        seqs = model.generate(
            input_ids=ids, attention_mask=mask, max_new_tokens=n, pad_token_id=pad, **sampling
        )
        made = (seqs.shape[1] - ids.shape[1]) * seqs.shape[0]
        assert made == samples * n, made
        return made

    def steered(n: int, mode: str | None = "exact", strategy: str = "split") -> int:
        # mode None: no steering, through the same loop (the like-for-like baseline).
        steer = None if mode is None else Steer(vector, layer, alpha, mode)  # type: ignore[arg-type]
        result = steered_generate(
            model,
            ids,
            mask,
            steer,
            max_new_tokens=n,
            seed=0,
            eos_token_id=None,
            pad_token_id=pad,
            exact_strategy=strategy,  # type: ignore[arg-type]
            **sampling,  # type: ignore[arg-type]
        )
        assert result.new_tokens == samples * n, result.new_tokens
        return result.new_tokens

    warm_s = sum(timed(device, fn, 2)[0] for fn in (unsteered, steered))
    out["warmup_seconds"] = round(warm_s, 2)
    out["status"] = "measuring"
    runs: dict[str, Any] = {}
    out["runs"] = runs
    variants = [
        ("unsteered_generate", unsteered, {}),
        ("unsteered_loop", steered, {"mode": None}),
        ("steered_exact", steered, {}),
        # Extras, while time remains: the fallback exact strategy and the approximate mode.
        ("steered_exact_refeed", steered, {"strategy": "refeed"}),
        ("steered_cached", steered, {"mode": "cached"}),
    ]
    last = 0.0
    for name, fn, kwargs in variants:
        if (
            name.startswith("steered_")
            and name != "steered_exact"
            and (rec.elapsed() + 1.5 * last > budget)
        ):
            runs[name] = {"skipped": "time budget"}
            continue
        reset_peak(device)
        seconds, made = timed(device, fn, new, **kwargs)
        last = seconds
        runs[name] = {
            "seconds": round(seconds, 3),
            "new_tokens": made,
            "tokens_per_s": round(made / seconds, 2),
            "peak_gib": peak_gib(device),
        }
        rec.save()
    # Against the faster of the two unsteered paths.
    base = min(runs[name]["seconds"] for name in ("unsteered_generate", "unsteered_loop"))
    for name, run in runs.items():
        if name.startswith("steered_") and "seconds" in run:
            run["overhead_vs_unsteered"] = round(run["seconds"] / base - 1, 3)
    out["overhead_exact_vs_unsteered"] = runs["steered_exact"]["overhead_vs_unsteered"]
    out["status"] = "done"
    out["max_memory_allocated_gib"] = peak_gib(device)
    rec.save()
