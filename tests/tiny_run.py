"""The `--set` overrides of a tiny, real run, for the tests that run the loop or the pipeline.

Tiny but real: the random-init tiny CLIP (glov-tiny-vit), the real SmolLM2-135M
writing a few short candidates, 3 classes of the profile's dataset. Each test
adds what it is about; overrides apply in order, so an extra one wins over the
tiny default it repeats (a generative test sets its own vlm.model).
"""

from __future__ import annotations

from pathlib import Path


def tiny_run(
    cache_dir: str | Path,
    *extra: str,
    steps: int | None = 1,
    candidates: int = 3,
    llm_tokens: int = 16,
    test_per_class: int = 2,
) -> list[str]:
    """The tiny run's overrides, then `extra`; steps None leaves search.steps to the caller."""
    overrides = [
        f"run.cache_dir={cache_dir}",
        "run.progress=false",
        "data.max_classes=3",
        f"data.test_per_class={test_per_class}",
        "vlm.model=glov-tiny-vit",
        "vlm.pretrained=null",
        f"llm.max_new_tokens={llm_tokens}",
        f"search.candidates={candidates}",
    ]
    if steps is not None:
        overrides.append(f"search.steps={steps}")
    return [*overrides, *extra]
