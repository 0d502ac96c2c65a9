"""bench/bench_gpu.py at its tiny scale on the CPU: both sections, the CLI, the time guard.

The paper scale needs a GPU (issue 12); this runs the same code with tiny
configs. A one-second budget measures the first image only and skips the
optional steering variants, so the guard is exercised and the test stays short.
"""

from __future__ import annotations

import json
from pathlib import Path

from bench.bench_gpu import main


def test_tiny_scale_writes_both_sections(tmp_path: Path, smollm2) -> None:
    tokenizer_dir = tmp_path / "tokenizer"
    smollm2.tokenizer.save_pretrained(str(tokenizer_dir))
    out = tmp_path / "gpu_results.json"
    argv = ["--scale", "tiny", "--images", "2", "--time-budget-s", "1"]
    assert main([*argv, "--out", str(out), "--tokenizer", str(tokenizer_dir)]) == 0

    data = json.loads(out.read_text())
    assert data["scale"] == "tiny" and data["transformers"] and data["torch"]
    prefix = data["generative_prefix"]
    assert "error" not in prefix, prefix.get("traceback")
    assert prefix["status"] == "done"
    assert prefix["images"] == 1 and "time budget" in prefix["stopped_early"]
    assert prefix["pairs"] == 5 and prefix["prompts_per_image"] == 5
    assert prefix["identical_answers"] is True and prefix["identical_fraction"] == 1.0
    assert prefix["per_image"][0]["image_tokens"] > 0
    assert prefix["plain_generate_seconds"] > 0 and prefix["prefix_reuse_seconds"] > 0

    steering = data["steering"]
    assert "error" not in steering, steering.get("traceback")
    assert steering["status"] == "done"
    assert steering["samples"] == 10 and steering["max_new_tokens"] == 50
    assert steering["prompt_tokens"] > 400
    runs = steering["runs"]
    for name in ("unsteered_generate", "steered_exact"):
        assert runs[name]["new_tokens"] == 500 and runs[name]["tokens_per_s"] > 0
    assert runs["steered_cached"] == {"skipped": "time budget"}
    assert steering["overhead_exact_vs_unsteered"] == runs["steered_exact"]["overhead_vs_unsteered"]
