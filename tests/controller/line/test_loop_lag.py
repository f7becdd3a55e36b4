"""The event-loop lag monitor sees a blocked loop, and says so once a second."""

import asyncio
import logging
import time

from controller.line.loop_lag import LoopLagMonitor
from tests.controller.line.helpers import until


async def test_a_blocked_loop_is_measured_and_logged(caplog):
    monitor = LoopLagMonitor(period_s=0.002, warn_s=0.02)
    task = asyncio.create_task(monitor.run())
    try:
        await until(lambda: monitor.histogram.count >= 3)  # sampling
        with caplog.at_level(logging.WARNING, logger="controller.line.loop_lag"):
            time.sleep(0.06)  # noqa: ASYNC251 - the point: the loop is blocked, nothing runs
            count = monitor.histogram.count
            await until(lambda: monitor.histogram.count > count)
    finally:
        task.cancel()
    assert monitor.worst_s >= 0.05 and monitor.stalls == 1
    assert len(caplog.records) == 1 and "stalled" in caplog.records[0].getMessage()


def test_stalls_are_logged_at_most_once_a_second(caplog):
    monitor = LoopLagMonitor(warn_s=0.02)
    with caplog.at_level(logging.WARNING, logger="controller.line.loop_lag"):
        for now in (10.0, 10.5, 11.1):
            monitor.observe(0.03, now)
        monitor.observe(0.001, 11.2)
    assert monitor.stalls == 3 and len(caplog.records) == 2
    assert monitor.histogram.count == 4 and monitor.worst_s == 0.03


async def _sleep_through(monitor: LoopLagMonitor, delay_s: float, times: int) -> float:
    """Sleep ``times`` times through the monitor; the longest gap between two wake-ups."""
    longest, woke = 0.0, time.perf_counter()
    for _ in range(times):
        await monitor.sleep(delay_s)
        now = time.perf_counter()
        longest, woke = max(longest, now - woke), now
    return longest


async def test_a_task_that_sleeps_often_is_the_sampler_and_the_monitor_never_wakes():
    monitor = LoopLagMonitor(period_s=0.2)
    task = asyncio.create_task(monitor.run())
    try:
        await asyncio.sleep(0)  # the monitor arms its timer
        longest = await _sleep_through(monitor, 0.001, 300)
    finally:
        task.cancel()
    assert longest < monitor.period_s / 2  # so its timer was moved on each time before due
    assert monitor.histogram.count == 300  # every sample is a wake-up of the sleeper


async def test_a_task_that_sleeps_long_leaves_the_sampling_to_the_monitor():
    monitor = LoopLagMonitor(period_s=0.002)
    task = asyncio.create_task(monitor.run())
    try:
        await _sleep_through(monitor, 0.05, 3)
    finally:
        task.cancel()
    assert monitor.histogram.count > 3 + 20  # its own every 2 ms meanwhile


async def test_a_stall_between_two_sleeps_is_measured_by_the_monitor():
    """The stall starts while the sampler is awake (e.g. waiting for a read): no sleep of
    its own is due in it, the monitor's timer is, within a period of the stall's start."""
    monitor = LoopLagMonitor(period_s=0.005, warn_s=0.02)
    task = asyncio.create_task(monitor.run())
    try:
        await _sleep_through(monitor, 0.001, 20)
        time.sleep(0.06)  # noqa: ASYNC251 - the point: the loop is blocked, nothing runs
        await _sleep_through(monitor, 0.001, 5)  # the late timer runs before this wakes
    finally:
        task.cancel()
    assert monitor.worst_s >= 0.06 - monitor.period_s and monitor.stalls >= 1


async def test_a_stall_during_a_sleep_is_measured_by_the_sleeper():
    monitor = LoopLagMonitor(period_s=1.0, warn_s=0.02)  # its own timer is far off
    sleeper = asyncio.create_task(_sleep_through(monitor, 0.002, 1))
    await asyncio.sleep(0)  # the sleeper is asleep
    time.sleep(0.05)  # noqa: ASYNC251 - the point: the loop is blocked, nothing runs
    await sleeper
    assert monitor.histogram.count == 1 and monitor.worst_s >= 0.045
