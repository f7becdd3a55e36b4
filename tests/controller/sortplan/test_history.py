import pytest

from controller.errors import SortPlanError
from controller.parcels.decision import SortPlan
from controller.sortplan.history import SortPlanService, SortPlanStore

CHUTES = range(1, 9)
REJECT = 9


def _service(tmp_path, config_plan=None):
    config_plan = config_plan or {"R1": [1], "R2": [2]}
    plan = SortPlan(config_plan, REJECT)
    store = SortPlanStore(tmp_path / "sort-plan.sqlite")
    return plan, SortPlanService(plan, store, config_plan, CHUTES)


async def test_a_change_is_validated_versioned_audited_and_survives_a_restart(tmp_path):
    plan, service = _service(tmp_path)
    assert "from the line config" in await service.load()
    assert plan.version == 1
    version = await service.patch({"R2": [3, 4]}, "erp", "tms", "truck 7 is late")
    assert plan.version == 2 and plan.chutes_of("R2") == (3, 4)
    assert version.change == {"R2": {"before": [2], "after": [3, 4]}}
    with pytest.raises(SortPlanError) as err:
        await service.patch({"R1": [3]}, "erp", "tms")
    assert "already bound to route R2" in err.value.problems["routes.R1.0"]
    assert plan.chutes_of("R1") == (1,) and plan.version == 2  # nothing changed
    history = await service.history()
    assert [(v.version, v.actor, v.reason) for v in history] == [
        (2, "erp", "truck 7 is late"),
        (1, "config", "the line config's sort_plan"),
    ]
    restarted, service2 = _service(tmp_path)
    assert "version 2 (by erp) restored" in await service2.load()
    assert restarted.chutes_of("R2") == (3, 4)


async def test_a_changed_config_plan_wins_over_the_stored_one(tmp_path):
    _, service = _service(tmp_path)
    await service.load()
    await service.patch({"R2": [3]}, "erp", "tms")
    plan, service2 = _service(tmp_path, {"R1": [5], "R2": [6]})
    assert "version 3 from the line config" in await service2.load()
    assert plan.chutes_of("R1") == (5,)


async def test_expected_version_guards_against_lost_updates(tmp_path):
    _, service = _service(tmp_path)
    await service.load()
    await service.patch({"R2": [3]}, "a", "tms", expected_version=1)
    with pytest.raises(SortPlanError) as err:
        await service.patch({"R2": [4]}, "b", "tms", expected_version=1)
    assert "version 2, not 1" in err.value.problems["expected_version"]


async def test_routes_of_one_truck_share_a_chute_and_a_route_plan_may_not_split_them(tmp_path):
    trucks = {"R1": "T1", "R2": "T1"}
    config_plan = {"R1": [1], "R2": [2]}
    plan = SortPlan(config_plan, REJECT)
    service = SortPlanService(
        plan, SortPlanStore(tmp_path / "p.sqlite"), config_plan, CHUTES, trucks=lambda: trucks
    )
    await service.load()
    await service.patch({"R2": [1, 2]}, "planner", "tms", "R2 grew")
    assert plan.chutes_of("R2") == (1, 2)
    assert service.route_plan_problems({"R1": "T1", "R2": "T1"}) == {}
    problems = service.route_plan_problems({"R1": "T1", "R2": "T2"})
    assert problems == {
        "routes.R1.truck": "chute 1 carries R1, R2 in the active sort plan (version 2); "
        "with this route plan they are not on one truck (R1: T1, R2: T2)"
    }
    trucks["R2"] = "T2"  # the route plan changed under the plan: a new change must fix it
    with pytest.raises(SortPlanError) as err:
        await service.patch({"R3": [5]}, "erp", "tms")
    assert "never mixes trucks" in err.value.problems["routes.R2.0"]
