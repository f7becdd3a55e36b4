import math
import os
from dataclasses import replace

import pytest

from controller.errors import PlanningError
from controller.sortplan.figures import check_plan
from controller.sortplan.generate import generate
from controller.sortplan.worker import PlanningWorker, worker_pid


async def test_a_plan_is_made_in_another_process_and_comes_back_whole():
    worker = PlanningWorker()
    try:
        instance = generate("B-1000", time_limit_s=5)
        result = await worker.plan(instance)
        assert check_plan(instance, result.plan) == {}
        assert result.figures.status == "optimal"
        pid = await worker.run(worker_pid)
        assert pid != os.getpid()
        assert await worker.run(worker_pid) == pid  # one worker, kept
    finally:
        await worker.close()


async def test_no_plan_crosses_the_process_boundary_with_its_cause():
    worker = PlanningWorker()
    instance = generate("A-325")
    tiny = replace(instance, chutes=instance.chutes[:5])
    try:
        with pytest.raises(PlanningError) as caught:
            await worker.plan(tiny)
        total = sum(r.volume for r in tiny.routes)
        held = sum(c.capacity for c in tiny.chutes)
        assert f"the routes carry {total} parcels; the 5 enabled chutes hold {held}" in str(
            caught.value
        )
        assert set(caught.value.problems) == {"plan"}
    finally:
        await worker.close()


async def test_a_worker_that_dies_is_an_error_and_the_next_plan_gets_a_new_one():
    worker = PlanningWorker()
    try:
        pid = await worker.run(worker_pid)
        with pytest.raises(PlanningError, match="the planning worker process died"):
            await worker.run(os._exit, 3)
        assert await worker.run(worker_pid) != pid
    finally:
        await worker.close()


async def test_a_defect_in_the_worker_is_a_planning_error_not_a_crash():
    worker = PlanningWorker()
    try:
        with pytest.raises(PlanningError) as caught:
            await worker.run(math.sqrt, -1.0)
        assert caught.value.problems == {
            "plan": "the optimiser failed: ValueError: math domain error"
        }
        assert await worker.run(math.sqrt, 4.0) == 2.0  # the worker serves on
    finally:
        await worker.close()
