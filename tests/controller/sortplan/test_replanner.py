import asyncio
import contextlib

import pytest

from controller.alarms import AlarmBoard
from controller.errors import PlanningError, SortPlanError
from controller.parcels.decision import SortPlan
from controller.sortplan import SortPlanService, SortPlanStore, optimise
from controller.sortplan.replanner import APPLIED, DISCARDED, UNCHANGED, LineState, Replanner
from plc_configs.replanning import ReplanningSection

CHUTES = tuple((i, 1000.0 * i) for i in range(1, 13))
REJECT = 20
ROUTES = {"R1": "T1", "R2": "T1", "R3": "T2", "R4": "T2", "R5": "T3"}
VOLUMES = {"R1": 120, "R2": 60, "R3": 90, "R4": 40, "R5": 70}


class InThreadWorker:
    """The optimiser called directly (the worker process is tested in test_worker.py),
    with OR-Tools loaded first as the worker does: its first import takes a second or
    two, which would otherwise count against the plan's time limit."""

    def __init__(self):
        from ortools.sat.python import cp_model  # noqa: F401

    async def plan(self, instance):
        return optimise(instance)

    async def close(self):
        pass


class Line:
    def __init__(self):
        self.out: frozenset[int] = frozenset()
        self.full: frozenset[int] = frozenset()
        self.arrived: dict[str, int] = {}
        self.routes = dict(ROUTES)
        self.version = 1

    def state(self) -> LineState:
        return LineState(
            CHUTES,
            (("D1", 1000.0), ("D2", 12000.0)),
            {"T1": "D1", "T2": "D2", "T3": "D2"},
            self.routes,
            self.version,
            self.out,
            self.full,
            self.arrived,
        )


async def _replanner(tmp_path, policy="manual", clock=lambda: 0.0):
    config_plan = {"LABEL": [12], "R1": [1]}
    plan = SortPlan(config_plan, REJECT)
    service = SortPlanService(
        plan,
        SortPlanStore(tmp_path / "sort-plan.sqlite"),
        config_plan,
        [c for c, _ in CHUTES],
        {"LABEL": "labels.route_rules.0"},
        trucks=lambda: ROUTES,
    )
    await service.load()
    line = Line()

    async def volumes():
        return VOLUMES

    alarms = AlarmBoard()
    settings = ReplanningSection(policy=policy, full_after_s=30)
    replanner = Replanner(
        settings, service, line.state, volumes, alarms, InThreadWorker(), clock=clock
    )
    return replanner, line, service, alarms


async def test_a_new_route_plan_gives_a_fresh_proposal_that_a_supervisor_applies(tmp_path):
    replanner, _, service, _ = await _replanner(tmp_path)
    replanner.route_plan_changed()
    proposal = await replanner.check()
    assert proposal.mode == "fresh" and proposal.trigger == "route plan version 1"
    assert proposal.plan["LABEL"] == [12]  # a label rule's route keeps its chute
    assert set(proposal.plan) == {"LABEL", *ROUTES}
    assert all(12 not in proposal.plan[r] for r in ROUTES)
    assert proposal.figures["status"] in ("optimal", "feasible")
    assert proposal.moves["R1"]["before"] == [1]
    assert service.plan.version == 1  # manual: nothing applied yet
    version = await replanner.apply(proposal.id, "sam", "supervisor")
    assert service.plan.version == version.version == 2
    assert service.plan.as_dict() == proposal.plan
    assert version.actor == "sam" and "fresh: route plan version 1" in version.reason
    assert replanner.proposal.state == APPLIED and replanner.proposal.version == 2
    with pytest.raises(SortPlanError):
        await replanner.apply(proposal.id, "sam", "supervisor")  # not pending any more


async def test_a_chute_out_is_repaired_moving_only_its_routes_and_auto_applies(tmp_path):
    replanner, line, service, _ = await _replanner(tmp_path, policy="auto")
    replanner.route_plan_changed()
    await replanner.check()
    before = service.plan.as_dict()
    failed = before["R3"][0]
    line.out = frozenset({failed})
    proposal = await replanner.check()
    assert proposal.mode == "repair" and f"chute {failed} out of service" in proposal.trigger
    assert proposal.state == APPLIED and proposal.decided_by == "replanner"
    after = service.plan.as_dict()
    assert all(failed not in chutes for chutes in after.values())
    on_failed = {r for r, chutes in before.items() if failed in chutes}
    assert set(proposal.moves) <= on_failed | {"R4"}  # its truck's block may shift
    assert await replanner.check() is None  # handled


async def test_a_stale_or_discarded_proposal_cannot_be_applied(tmp_path):
    replanner, _, service, _ = await _replanner(tmp_path)
    replanner.route_plan_changed()
    proposal = await replanner.check()
    await service.patch({"R9": [11]}, "erp", "tms")  # the plan moved on
    with pytest.raises(SortPlanError) as err:
        await replanner.apply(proposal.id, "sam", "supervisor")
    assert "propose again" in err.value.problems["proposal"]
    again = await replanner.propose("requested by sam")
    assert replanner.discard(again.id, "sam").state == DISCARDED
    with pytest.raises(SortPlanError):
        await replanner.apply(again.id, "sam", "supervisor")


async def test_no_plan_raises_the_alarm_with_the_cause_and_a_plan_clears_it(tmp_path):
    replanner, line, _, alarms = await _replanner(tmp_path)
    line.out = frozenset(range(1, 11))  # 1 chute left (12 is the label route's) for 3 trucks
    with pytest.raises(PlanningError):
        await replanner.propose("requested")
    assert alarms.is_active("replan")
    assert "no plan" in replanner.error
    line.out = frozenset()
    await replanner.propose("requested")
    assert replanner.error is None
    assert not alarms.get("replan").condition_active


async def test_without_a_route_plan_nothing_is_proposed(tmp_path):
    replanner, line, _, _ = await _replanner(tmp_path)
    line.routes = {}
    with pytest.raises(PlanningError) as err:
        await replanner.propose("requested")
    assert "no route plan" in err.value.problems["route_plan"]


async def test_after_a_restart_a_replanned_plan_is_kept_and_watched_not_proposed_again(tmp_path):
    replanner, _, service, _ = await _replanner(tmp_path, policy="auto")
    replanner.route_plan_changed()
    await replanner.check()
    applied = service.plan.as_dict()
    # a restart: a new service and replanner over the same sort-plan history
    again, line2, service2, _ = await _replanner(tmp_path, policy="auto")
    assert service2.plan.as_dict() == applied and service2.action == "replan"
    again.route_plan_changed()  # the route plan service tells of the restored route plan
    await again.restored(line2.version)
    assert await again.check() is None  # no fresh plan for the same route plan
    failed = applied["R5"][0]
    line2.out = frozenset({failed})
    proposal = await again.check()  # its triggers watch it
    assert proposal is not None and f"chute {failed}" in proposal.trigger


async def test_a_config_plan_after_a_restart_is_replaced_by_a_fresh_proposal(tmp_path):
    replanner, line, _, _ = await _replanner(tmp_path)
    replanner.route_plan_changed()
    await replanner.restored(line.version)  # the active plan is the config's: not restored
    proposal = await replanner.check()
    assert proposal is not None and proposal.mode == "fresh"


async def test_with_repairs_off_only_a_route_plan_gives_a_plan(tmp_path):
    replanner, line, service, _ = await _replanner(tmp_path, policy="auto")
    replanner.settings = replanner.settings.model_copy(update={"repairs": False})
    replanner.route_plan_changed()
    assert (await replanner.check()).mode == "fresh"
    line.out = frozenset({service.plan.as_dict()["R5"][0]})
    assert await replanner.check() is None


async def test_a_repair_that_moves_nothing_is_not_a_new_version(tmp_path):
    replanner, _, service, _ = await _replanner(tmp_path, policy="auto")
    replanner.route_plan_changed()
    await replanner.check()
    assert service.plan.version == 2
    proposal = await replanner.propose("requested by sam", fresh=False)
    assert proposal.mode == "repair" and proposal.moves == {}
    assert proposal.state == UNCHANGED and proposal.version is None
    assert service.plan.version == 2
    with pytest.raises(SortPlanError):
        await replanner.apply(proposal.id, "sam", "supervisor")


async def test_a_chute_full_too_long_is_planned_without(tmp_path):
    now = [0.0]
    replanner, line, service, _ = await _replanner(tmp_path, policy="auto", clock=lambda: now[0])
    replanner.route_plan_changed()
    await replanner.check()
    before = service.plan.as_dict()
    full = before["R1"][0]
    line.full = frozenset({full})
    assert await replanner.check() is None  # full since now
    now[0] = 31.0
    proposal = await replanner.check()
    assert proposal.trigger.startswith(f"chute {full} full for 31 s")
    assert proposal.state == APPLIED
    assert all(full not in chutes for chutes in service.plan.as_dict().values())


async def test_a_failing_check_raises_the_alarm_and_the_loop_goes_on(tmp_path):
    replanner, _, _, alarms = await _replanner(tmp_path)
    replanner.settings = replanner.settings.model_copy(update={"check_interval_s": 0.01})
    calls = []
    state = replanner.state

    def broken_once():
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("a defect")
        return state()

    replanner.state = broken_once
    replanner.route_plan_changed()
    task = asyncio.create_task(replanner.run())
    try:
        for _ in range(200):
            await asyncio.sleep(0.01)
            if len(calls) > 3:
                break
        assert len(calls) > 3  # still checking after the failure
        assert replanner.error == "re-planning failed: RuntimeError: a defect"
        assert alarms.is_active("replan")
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_the_loop_stops_when_cancelled_as_a_new_route_plan_wakes_it(tmp_path):
    """A cancel that lands in the same loop iteration as the wake-up ends the loop.

    Python 3.11's ``asyncio.wait_for`` returned the result there and dropped the cancel:
    the loop ran on, and the line's TaskGroup waited for it for ever (a CI run hung in a
    line's shutdown that way).
    """
    replanner, _, _, _ = await _replanner(tmp_path)
    replanner.settings = replanner.settings.model_copy(update={"check_interval_s": 60})
    task = asyncio.create_task(replanner.run())
    await asyncio.sleep(0.05)  # the first check (in this thread) done: the loop waits
    replanner.route_plan_changed()
    task.cancel()
    done, _ = await asyncio.wait({task}, timeout=2)
    assert done == {task} and task.cancelled()
