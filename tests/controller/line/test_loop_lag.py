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
