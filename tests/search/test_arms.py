"""Arms: which a run has, and which of them steer (Arm.steers, the one answer)."""

from __future__ import annotations

from glov.config import load_config
from glov.search.arms import Arm, arms_for


def test_the_alpha_sweep_steers_and_compared_methods_do_not():
    cfg = load_config(
        "smoke", ["guidance.alphas=[1.0,0.5]", "search.compare_with=[glov-noguide,llm-opt]"]
    )
    arms = {a.name: a for a in arms_for(cfg)}
    assert list(arms) == ["glov-alpha1", "glov-alpha0.5", "glov-noguide", "llm-opt"]
    assert [a.name for a in arms.values() if a.steers] == ["glov-alpha1", "glov-alpha0.5"]
    assert arms["glov-alpha0.5"].alpha == 0.5


def test_a_run_without_glov_has_no_steering_arm():
    cfg = load_config("smoke", ["search.method=llm-opt", "search.compare_with=[glov-noguide]"])
    assert not any(a.steers for a in arms_for(cfg))
    assert not Arm("glov-noguide", "glov-noguide").steers
