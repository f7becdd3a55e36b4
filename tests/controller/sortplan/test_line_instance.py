import pytest

from controller.errors import PlanningError
from controller.sortplan import optimise
from controller.sortplan.figures import check_plan
from controller.sortplan.line_instance import line_instance, line_plan, wave_capacity

CHUTES = tuple((i, 1000.0 * i) for i in range(1, 9))
DOORS = (("D1", 1000.0), ("D2", 8000.0))
TRUCKS = {"T1": "D1", "T2": "D2"}
ROUTES = {"R1": "T1", "R2": "T1", "R3": "T2", "R4": "T2"}
VOLUMES = {"R1": 100, "R2": 50, "R3": 80, "R4": 30}


def test_capacity_defaults_to_headroom_over_the_mean_load():
    assert wave_capacity(VOLUMES, 8) == 41  # ceil(1.25 * 260 / 8 = 40.6)
    assert wave_capacity({}, 0) == 1


def test_a_fresh_instance_plans_every_route_plan_route_near_its_truck_door():
    instance = line_instance(CHUTES, DOORS, TRUCKS, ROUTES, VOLUMES, None)
    assert instance.current_plan is None
    assert {r.id: r.volume for r in instance.routes} == VOLUMES
    result = optimise(instance)
    assert check_plan(instance, result.plan) == {}
    t1 = {c for r in ("R1", "R2") for c in result.plan[r]}
    t2 = {c for r in ("R3", "R4") for c in result.plan[r]}
    assert not t1 & t2 and max(t1) < min(t2)  # T1 by door D1 (left), T2 by D2 (right)


def test_out_of_service_and_needed_chutes_are_not_planned_and_needed_routes_stay():
    current = {"R1": [1], "R2": [2], "R3": [7], "R4": [8], "LABEL": [4], "OLD": [5]}
    instance = line_instance(
        CHUTES, DOORS, TRUCKS, ROUTES, VOLUMES, current, out_of_service={2}, needed={"LABEL"}
    )
    disabled = {c.id for c in instance.chutes if not c.enabled}
    assert disabled == {2, 4}
    assert instance.current_plan == {"R1": (1,), "R2": (2,), "R3": (7,), "R4": (8,)}
    result = optimise(instance)
    plan = line_plan(result.plan, current, {"LABEL"})
    assert plan["LABEL"] == [4] and "OLD" not in plan  # a route the route plan dropped goes
    assert all(2 not in chutes and 4 not in chutes for r, chutes in result.plan.items())
    fresh = line_instance(
        CHUTES, DOORS, TRUCKS, ROUTES, VOLUMES, current, needed={"LABEL"}, repair=False
    )
    assert fresh.current_plan is None and not next(c for c in fresh.chutes if c.id == 4).enabled


def test_a_truck_at_an_unknown_door_is_refused_by_field():
    with pytest.raises(PlanningError) as err:
        line_instance(CHUTES, DOORS, {"T1": "D9"}, {"R1": "T1"}, {"R1": 5}, None)
    assert any("door" in field for field in err.value.problems)
