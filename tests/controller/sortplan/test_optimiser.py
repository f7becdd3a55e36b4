import random
from dataclasses import replace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from controller.errors import PlanningError
from controller.sortplan.blocks import fresh_blocks
from controller.sortplan.figures import FALLBACK, FEASIBLE, OPTIMAL, check_plan, figures
from controller.sortplan.fill import greedy_fill
from controller.sortplan.generate import fail_chutes, generate, random_instance, shift_volumes
from controller.sortplan.instance import parse_instance
from controller.sortplan.optimiser import optimise


def greedy_plan(instance):
    """The optimiser's starting point: its blocks, greedy in each."""
    blocks = fresh_blocks(instance)
    routes_of = instance.routes_of()
    plan = {}
    for truck, chutes in blocks.chutes.items():
        plan.update(greedy_fill(routes_of[truck], chutes, blocks.lower_bound))
    return plan, blocks.lower_bound


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 2**32))
def test_every_plan_keeps_the_rules_beats_the_greedy_start_and_respects_its_bound(seed):
    instance = random_instance(random.Random(seed), time_limit_s=1.0)
    try:
        result = optimise(instance)
    except PlanningError as err:
        assert set(err.problems) == {"plan"}  # no plan: one clear cause, never a crash
        return
    assert check_plan(instance, result.plan) == {}
    f = result.figures
    assert f.lower_bound <= f.busiest_load + 1e-9
    assert f.span_excess == {} and f.chutes_over_capacity == 0
    assert f.status in (OPTIMAL, FEASIBLE, FALLBACK)
    start, bound = greedy_plan(instance)
    greedy = figures(instance, start, bound, 0, FEASIBLE)  # a chute over capacity is worse
    assert (0, f.busiest_load) <= (greedy.chutes_over_capacity, greedy.busiest_load + 1e-9)
    assert (f.status == OPTIMAL) == (f.busiest_load <= f.lower_bound + 1e-9)


def test_a_balanced_block_puts_each_route_on_the_fewest_chutes():
    instance = generate("B-1000", seed=3, time_limit_s=5)
    result = optimise(instance)
    f = result.figures
    assert check_plan(instance, result.plan) == {}
    assert f.gap <= 0.02
    # Spreading every route over its truck's whole block would also balance; the plan
    # keeps most routes on one chute.
    assert f.chutes_per_route_mean < 1.5


def test_a_repair_after_failed_chutes_moves_only_what_it_must():
    instance = generate("B-1000", seed=4, time_limit_s=5)
    plan = optimise(instance).plan
    broken = fail_chutes(instance, plan, 3, random.Random(1))
    failed = {c.id for c in broken.chutes if not c.enabled}
    on_failed = {r for r, chutes in plan.items() if failed & set(chutes)}
    result = optimise(broken)
    f = result.figures
    assert check_plan(broken, result.plan) == {}
    assert f.chutes_over_capacity == 0 and f.span_excess == {}
    assert f.routes_moved <= len(on_failed) + 0.05 * len(plan)
    assert set(result.plan) == set(plan)
    assert all(failed.isdisjoint(chutes) for chutes in result.plan.values())


def test_a_volume_shift_is_repaired_without_overfilling_a_chute():
    instance = generate("B-1000", seed=5, time_limit_s=5)
    plan = optimise(instance).plan
    shifted = shift_volumes(instance, plan, 0.1, random.Random(2))
    result = optimise(shifted)
    assert check_plan(shifted, result.plan) == {}
    assert result.figures.routes_moved < len(plan) * 0.1


def test_a_current_plan_without_blocks_is_planned_afresh():
    instance = generate("A-325", time_limit_s=5)
    scattered = {r.id: (i % 300 + 1,) for i, r in enumerate(instance.routes)}
    result = optimise(replace(instance, current_plan=scattered))
    assert check_plan(instance, result.plan) == {}
    assert result.figures.routes_moved > 0


def test_the_time_limit_returns_the_greedy_plan_marked_fallback():
    instance = generate("B-1000", time_limit_s=0.01)  # blocks over the bound need CP-SAT
    result = optimise(instance)
    assert check_plan(instance, result.plan) == {}
    assert result.figures.status == FALLBACK and result.figures.gap > 0
    assert optimise(replace(instance, time_limit_s=5)).figures.status == OPTIMAL


@pytest.mark.parametrize("name", ["A-325", "A-703", "B-1000-skewed"])
def test_the_benchmark_instances_get_valid_plans(name):
    instance = generate(name, time_limit_s=10)
    result = optimise(instance)
    assert check_plan(instance, result.plan) == {}
    assert result.figures.lower_bound <= result.figures.busiest_load + 1e-9


def test_routes_without_volume_still_get_chutes_fresh_and_in_a_repair():
    """Late in a wave every route may have nothing left to come: a plan all the same."""
    chutes = [{"id": i, "position_mm": 100 * i, "capacity": 1} for i in range(1, 7)]
    base = {
        "chutes": chutes,
        "doors": [{"id": "D1", "position_mm": 100}],
        "trucks": [{"id": "T1", "door": "D1"}, {"id": "T2", "door": "D1"}],
        "routes": [
            {"id": "A", "truck": "T1", "volume": 0},
            {"id": "B", "truck": "T1", "volume": 0},
            {"id": "C", "truck": "T2", "volume": 0},
        ],
    }
    for current in (None, {"A": [1], "B": [2], "C": [3]}):
        instance = parse_instance(base if current is None else {**base, "current_plan": current})
        result = optimise(instance)
        assert check_plan(instance, result.plan) == {}
        assert set(result.plan) == {"A", "B", "C"}
        assert result.figures.busiest_load == 0
    assert result.figures.routes_moved == 0
