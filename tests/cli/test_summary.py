"""The summary `glov run` prints: every report kind, including figures not evaluated.

A generative VLM has no DS-TEMP and a safety run no top-n ensemble (None in the
report); the summary says "-" for them instead of failing at the end of a run.
"""

from __future__ import annotations

from cli.common import print_summary
from glov.runs.rundir import RunDir


def _report(ds_test, top_n, safety=None) -> dict:
    report = {
        "note": None,
        "baselines": {
            "s_temp": {"template": "Describe it.", "fitness": 0.25, "test": 0.5},
            "ds_temp": {"set": None, "templates": 0, "test": ds_test, "note": "n/a"},
        },
        "arms": {
            "glov-alpha1": {
                "steps": 2,
                "best_fitness": 0.75,
                "test_best": 0.625,
                "test_top_n": top_n,
                "best_template": "Name the animal.",
                "generated": 12,
                "clean": 3,
                "repaired": 2,
                "repairs": {"prefix": 2},
                "rejected": {"score-echo": 6, "duplicate": 1},
            }
        },
    }
    if safety:
        report["safety"] = safety
    return report


def test_summary_of_a_generative_run_without_ds_temp(tmp_path, capsys):
    run, _ = RunDir.claim(f"file://{tmp_path}", "r", "new")
    print_summary(_report(None, 0.5), run)
    out = capsys.readouterr().out
    assert "S-TEMP fitness: 25.0%  test: 50.0%  DS-TEMP test: -" in out
    assert "fitness 75.0%  test best 62.5%  top-n 50.0%" in out
    # Each arm's answer quality, under its line.
    assert (
        "12 answers: 3 clean (25.0%), 2 repaired (prefix 2), 7 rejected (score-echo 6, duplicate 1)"
    ) in out
    assert f"Report: {tmp_path / 'r' / 'report.md'}" in out


def test_summary_of_a_safety_run_gives_asr_per_subset(tmp_path, capsys):
    safety = {
        "evaluated": {
            "s_temp": {
                "subsets": {
                    "unsafes": {"pairs": 4, "asr": 0.75},
                    "safe_unsafes": {"pairs": 2, "asr": 0.5},
                    "safe_safes": {"pairs": 2, "over_refusal": 0.0},
                },
                "asr": 4 / 6,
                "over_refusal": 0.0,
            }
        }
    }
    run, _ = RunDir.claim(f"file://{tmp_path}", "r", "new")
    print_summary(_report(None, None, safety), run)
    out = capsys.readouterr().out
    assert "top-n -" in out
    assert (
        "s_temp ASR unsafes 75.0%, safe_unsafes 50.0%; all unsafe 66.7%; over-refusal 0.0%" in out
    )
