from glov.search.guidance import GuidanceState, update_guidance
from glov.search.history import History, Scored


def test_history_ranks_by_fitness_with_stable_ties():
    h = History([Scored("a {}", 0.5, 0), Scored("b {}", 0.7, 1), Scored("c {}", 0.5, 1)])
    assert [e.template for e in h.ranked] == ["b {}", "a {}", "c {}"]
    h.add(Scored("d {}", 0.5, 2))
    assert [e.template for e in h.ranked] == ["b {}", "a {}", "c {}", "d {}"]
    assert h.best().template == "b {}"
    assert "b {}" in h.known() and "B  {}".lower().replace("  ", " ") in h.known()


def _guide(history, state, seed, step, negative="second-best"):
    return update_guidance(state, history, seed, step, negative)


def test_guidance_off_until_the_seed_is_beaten():
    h = History([Scored("seed {}", 0.4, 0)])
    state = _guide(h, GuidanceState(), 0.4, 0)
    assert not state.active
    h.extend([Scored("x {}", 0.3, 1), Scored("y {}", 0.4, 1)])  # a tie is no improvement
    state = _guide(h, state, 0.4, 1)
    assert not state.active


def test_p_plus_p_minus_change_only_on_new_global_best():
    h = History([Scored("seed {}", 0.4, 0)])
    state = _guide(h, GuidanceState(), 0.4, 0)
    h.add(Scored("good {}", 0.6, 1))
    state = _guide(h, state, 0.4, 1)
    assert state.active and (state.positive, state.negative) == ("good {}", "seed {}")
    # A new second-best does not move p- while the best stays the same.
    h.add(Scored("second {}", 0.5, 2))
    assert _guide(h, state, 0.4, 2) == state
    h.add(Scored("best {}", 0.8, 3))
    state = _guide(h, state, 0.4, 3)
    assert (state.positive, state.negative, state.updated_step) == ("best {}", "good {}", 3)


def test_negative_can_be_the_worst():
    h = History([Scored("seed {}", 0.4, 0), Scored("bad {}", 0.1, 1), Scored("top {}", 0.9, 1)])
    state = _guide(h, GuidanceState(best_fitness=0.4), 0.4, 1, negative="worst")
    assert (state.positive, state.negative) == ("top {}", "bad {}")


def test_p_minus_is_strictly_below_p_plus_when_the_top_ties():
    # 1-shot accuracies tie at the top: a tied p- would make H+ - H- noise.
    h = History([Scored("seed {}", 0.2, 0)])
    state = _guide(h, GuidanceState(), 0.2, 0)
    h.extend([Scored("a {}", 0.6, 1), Scored("b {}", 0.6, 1), Scored("c {}", 0.4, 1)])
    state = _guide(h, state, 0.2, 1)
    assert state.active and (state.positive, state.negative) == ("a {}", "c {}")
    # The worst option still picks the very worst, never a tie of p+.
    worst = _guide(h, GuidanceState(best_fitness=0.2), 0.2, 1, negative="worst")
    assert (worst.positive, worst.negative) == ("a {}", "seed {}")


def test_no_template_strictly_below_keeps_the_previous_pair():
    # Only reachable from an odd history (the seed entry itself is missing):
    # every entry ties at the top, so there is no direction to steer along.
    tied = History([Scored("a {}", 0.6, 1), Scored("b {}", 0.6, 1)])
    assert not _guide(tied, GuidanceState(), 0.2, 1).active
    previous = GuidanceState(True, "old {}", "older {}", 0.5, 1)
    assert _guide(tied, previous, 0.2, 2) == previous
