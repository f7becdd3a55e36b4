import logging

import pytest

from controller.errors import RoutePlanError
from controller.routeplan.model import RoutePlan
from controller.routeplan.service import RoutePlanService
from controller.routeplan.store import RoutePlanStore
from tests.controller.routeplan.plans import DOORS, plan_body


def _service(tmp_path, doors=DOORS, constraint=None) -> RoutePlanService:
    store = RoutePlanStore(tmp_path / "route-plan.sqlite")
    return RoutePlanService(store, doors, constraint, clock=lambda: 1796364000.0)


async def test_a_plan_is_versioned_and_restored_after_a_restart(tmp_path):
    service = _service(tmp_path)
    assert "no route plan yet" in await service.load()
    assert service.active == RoutePlan.empty()
    first = await service.replace(plan_body(), "tms-1", "tms", "morning wave")
    assert first.version == 1 and service.active is first
    assert service.active.truck_of("R017") == "T01"
    second = await service.replace(plan_body(), "tms-1", "tms", expected_version=1)
    assert second.version == 2
    history = await service.history()
    assert [(v.version, v.actor, v.role, v.reason) for v in history] == [
        (2, "tms-1", "tms", None),
        (1, "tms-1", "tms", "morning wave"),
    ]
    restarted = _service(tmp_path)
    seen: list[RoutePlan] = []
    restarted.add_listener(seen.append)
    assert "version 2 (by tms-1) restored" in await restarted.load()
    assert restarted.active == second and seen == [second]


async def test_a_bad_plan_changes_nothing(tmp_path):
    service = _service(tmp_path)
    good = await service.replace(plan_body(), "tms-1", "tms")
    body = plan_body()
    body["routes"][1]["truck"] = "T99"
    with pytest.raises(RoutePlanError) as err:
        await service.replace(body, "tms-1", "tms")
    assert err.value.problems == {"routes.R017.truck": "truck T99 is not in trucks"}
    assert service.active is good
    assert [v.version for v in await service.history()] == [1]


async def test_the_constraint_refuses_with_its_problems(tmp_path):
    asked: list[RoutePlan] = []

    def one_truck_per_chute(plan: RoutePlan) -> dict[str, str]:
        asked.append(plan)
        return {"routes.R017.truck": "chute 3 would carry trucks T01 and T02"}

    service = _service(tmp_path, constraint=one_truck_per_chute)
    with pytest.raises(RoutePlanError) as err:
        await service.replace(plan_body(), "tms-1", "tms")
    assert err.value.problems == {"routes.R017.truck": "chute 3 would carry trucks T01 and T02"}
    assert asked[0].version == 1 and asked[0].truck_of("R001") == "T01"
    assert service.active.version == 0 and await service.history() == []


async def test_a_stale_expected_version_is_a_conflict(tmp_path):
    service = _service(tmp_path)
    await service.replace(plan_body(), "tms-1", "tms")
    with pytest.raises(RoutePlanError) as err:
        await service.replace(plan_body(), "tms-1", "tms", expected_version=0)
    assert set(err.value.problems) == {"expected_version"}
    assert "at version 1, not 0" in err.value.problems["expected_version"]
    assert service.active.version == 1


async def test_listeners_hear_each_new_plan_and_a_failing_one_does_not_undo_it(tmp_path, caplog):
    service = _service(tmp_path)
    seen: list[int] = []

    def broken(plan: RoutePlan) -> None:
        raise RuntimeError("listener bug")

    service.add_listener(broken)
    service.add_listener(lambda plan: seen.append(plan.version))
    with caplog.at_level(logging.ERROR):
        await service.replace(plan_body(), "tms-1", "tms")
    assert seen == [1] and service.active.version == 1
    assert "listener failed" in caplog.text


async def test_a_plan_whose_door_is_gone_is_not_restored(tmp_path, caplog):
    await _service(tmp_path).replace(plan_body(), "tms-1", "tms")
    restarted = _service(tmp_path, doors=("D01", "D02"))
    seen: list[RoutePlan] = []
    restarted.add_listener(seen.append)
    with caplog.at_level(logging.WARNING):
        message = await restarted.load()
    assert "not restored" in message and "D04" in message
    assert restarted.active.version == 0 and seen == []
    assert "not restored" in caplog.text
    body = plan_body()
    body["trucks"][1]["door"] = "D02"
    replaced = await restarted.replace(body, "tms-1", "tms", expected_version=0)
    assert replaced.version == 2 and [v.version for v in await restarted.history()] == [2, 1]
