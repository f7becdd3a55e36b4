from controller.sortplan.triggers import ReplanTriggers

PLAN = {"R1": [1], "R2": [2], "R3": [3, 4]}
VOLUMES = {"R1": 100, "R2": 100, "R3": 200}


def _triggers():
    t = ReplanTriggers(full_after_s=60, departure=0.25, min_parcels=200)
    t.reset(PLAN, VOLUMES, frozenset({9}), {"R1": 10})
    return t


def test_a_chute_taken_out_fires_once_and_only_if_it_carries_a_route():
    t = _triggers()
    none = frozenset()
    assert t.check(0, frozenset({9}), none, {}) is None  # already out at plan time
    assert t.check(0, frozenset({9, 5}), none, {}) is None  # carries nothing
    fired = t.check(1, frozenset({9, 5, 4}), none, {})
    assert fired.reason == "chute 4 out of service (it carries R3)"
    assert fired.volumes == VOLUMES
    assert t.check(2, frozenset({9, 5, 4}), none, {}) is None


def test_a_chute_full_fires_after_full_after_s_without_a_break():
    t = _triggers()
    out = frozenset({9})
    assert t.check(0, out, frozenset({2}), {}) is None
    assert t.check(59, out, frozenset({2}), {}) is None
    assert t.check(60, out, frozenset(), {}) is None  # emptied: the clock starts again
    assert t.check(61, out, frozenset({2}), {}) is None
    fired = t.check(121, out, frozenset({2}), {})
    assert fired is not None and fired.reason.startswith("chute 2 full for 60 s")
    assert t.check(500, out, frozenset({2}), {}) is None  # handled


def test_noise_does_not_fire_but_a_real_volume_shift_does_with_scaled_volumes():
    t = _triggers()
    out = frozenset({9})
    # planned shares 25/25/50 %; 199 arrivals are too few to judge
    assert t.check(0, out, frozenset(), {"R1": 10 + 100, "R2": 50, "R3": 49}) is None
    # 400 arrivals, R1 +12 % off its share: within noise and threshold
    assert t.check(0, out, frozenset(), {"R1": 10 + 112, "R2": 96, "R3": 192}) is None
    fired = t.check(0, out, frozenset(), {"R1": 10 + 160, "R2": 80, "R3": 160})
    assert fired is not None and "R1 +60%" in fired.reason
    assert fired.volumes == {"R1": 160, "R2": 100, "R3": 200}
    assert t.check(0, out, frozenset(), {"R1": 10 + 400, "R2": 80, "R3": 160}) is None


def test_a_shift_the_chutes_absorb_does_not_fire():
    """A small route quadruples, beyond noise, but its chute stays within the threshold
    of the busiest chute the plan was made for."""
    t = ReplanTriggers(full_after_s=60, departure=0.25, min_parcels=200)
    t.reset({**PLAN, "R4": [1]}, {**VOLUMES, "R4": 5}, frozenset(), {})
    # 405 arrivals: R4 expected 5, came 20 (chute 1: 100 + 20 = 120 <= 125)
    assert t.check(0, frozenset(), frozenset(), {"R1": 98, "R2": 97, "R3": 190, "R4": 20}) is None
    # R4 x8 on top of R1: chute 1 would carry 140 > 125
    fired = t.check(0, frozenset(), frozenset(), {"R1": 98, "R2": 97, "R3": 190, "R4": 40})
    assert fired is not None and "R4" in fired.reason
