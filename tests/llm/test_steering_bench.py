"""The steering bench at a tiny shape: its plain row, ratios, token counts and checks.

Speed is not asserted (targets live in bench/results.json); what is asserted
is that the bench measures what docs/benchmarks.md says it does.
"""

from __future__ import annotations

from bench.bench_steering import run
from bench.steering.decoding import PLAIN, STEERED
from bench.steering.profiling import PROFILE_KINDS


def test_bench_reports_plain_ratios_tokens_and_reference_equality(tiny_llama):
    samples, new, repeats = 3, 4, 2
    result = run(
        tiny_llama,
        new_tokens=(new,),
        samples=samples,
        repeats=repeats,
        layer=2,
        reference_new_tokens=3,
        profile_steps=2,
        profile_repeats=1,
    )
    runs = result["runs"][str(new)]
    assert runs["plain_is"] in PLAIN
    assert set(runs["variants"]) == set(PLAIN) | set(STEERED)
    for variant in runs["variants"].values():
        # eos is off: every repeat of every variant made the whole budget.
        assert variant["new_tokens"] == [samples * new] * repeats
        assert len(variant["seconds"]) == len(variant["cpu_seconds"]) == repeats
        assert all(cpu > 0 for cpu in variant["cpu_seconds"])
        low, high = variant["tokens_per_s_min_max"]
        assert low <= variant["tokens_per_s_median"] <= high
    for name in STEERED:
        for clock in ("speed_vs_plain", "cpu_speed_vs_plain"):
            ratio = runs[clock][f"{name} / plain"]
            assert len(ratio["per_repeat"]) == repeats
            assert 0 < ratio["min"] <= ratio["median"] <= ratio["max"]
    assert set(runs["rows_that_emitted_eos"]) == set(PLAIN) | set(STEERED)
    assert runs["exact_equals_refeed"] is True
    assert result["reference"]["new_tokens"] == samples * 3
    assert result["reference"]["exact_first_tokens_equal_reference"] == {str(new): True}
    for kinds in result["profile_ms_per_step"].values():
        assert set(kinds) == {*PROFILE_KINDS, "other", "step total"}
