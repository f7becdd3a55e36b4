"""``ends_when_cancelled`` and ``start_guarded``: a task that swallowed a cancel is cancelled
again until it ends."""

import asyncio
import logging

import pytest

from drivers.cancelling import ends_when_cancelled, start_guarded


async def _swallows_cancels(times: int, ended: list[str]) -> None:
    """Loops on a call that drops the cancel ``times`` times, as Python 3.11's
    ``asyncio.wait_for`` does when the result lands with the cancel."""
    dropped = 0
    while True:
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            if dropped == times:
                ended.append("cancelled")
                raise
            dropped += 1


async def test_a_part_that_swallows_the_cancel_is_cancelled_again_and_named(caplog):
    ended: list[str] = []
    task = asyncio.create_task(
        ends_when_cancelled(_swallows_cancels(2, ended), "stubborn", recancel_s=0.05)
    )
    await asyncio.sleep(0.01)
    with caplog.at_level(logging.WARNING, logger="drivers.cancelling"):
        task.cancel()
        done, _ = await asyncio.wait({task}, timeout=2)
    assert done == {task} and task.cancelled()
    assert ended == ["cancelled"]
    warnings = [r.getMessage() for r in caplog.records]
    assert warnings == ["stubborn did not end when cancelled: cancelling it again"] * 2


async def test_the_result_and_the_error_of_a_part_pass_through():
    async def answer() -> int:
        await asyncio.sleep(0)
        return 42

    async def broken() -> None:
        await asyncio.sleep(0)
        raise ValueError("a defect")

    assert await ends_when_cancelled(answer(), "answer") == 42
    with pytest.raises(ValueError, match="a defect"):
        await ends_when_cancelled(broken(), "broken")


async def test_a_part_that_ends_at_once_when_cancelled_is_cancelled_once(caplog):
    ended: list[str] = []
    task = asyncio.create_task(ends_when_cancelled(_swallows_cancels(0, ended), "polite"))
    await asyncio.sleep(0.01)
    with caplog.at_level(logging.WARNING, logger="drivers.cancelling"):
        task.cancel()
        done, _ = await asyncio.wait({task}, timeout=2)
    assert done == {task} and task.cancelled() and ended == ["cancelled"]
    assert caplog.records == []


async def test_a_task_group_whose_child_swallows_its_cancel_still_ends():
    """A TaskGroup cancels its children once; cancelling its owner again does not reach a
    child that swallowed that cancel (Python 3.11): start_guarded cancels it again."""
    ended: list[str] = []

    async def owner() -> None:
        async with asyncio.TaskGroup() as group:
            start_guarded(group, _swallows_cancels(1, ended), "publisher", recancel_s=0.05)

    task = asyncio.create_task(owner())
    await asyncio.sleep(0.01)
    task.cancel()
    done, _ = await asyncio.wait({task}, timeout=2)
    assert done == {task} and task.cancelled() and ended == ["cancelled"]
