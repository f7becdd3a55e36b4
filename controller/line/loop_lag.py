"""How late the event loop runs what is due: the controller's own stall detector.

Every parcel's answer and every tunnel binding depends on the loop running a ready
task within a millisecond or two. :class:`LoopLagMonitor` sleeps a short period over
and over and measures how much later than asked it woke: the loop's lag at that moment
(a blocking call, a long garbage collection, the process not getting a CPU). Lags go
into a histogram (``lanesort_event_loop_lag_seconds`` in ``/metrics``); a stall longer
than ``warn_s`` is logged with its length, at most once a second, so a late measurement
or answer in the journal can be matched with a stall of the controller's loop.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from controller.histogram import Histogram

log = logging.getLogger(__name__)

LAG_BUCKETS_S = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 1.0)


class LoopLagMonitor:
    """Samples the event loop's lag every ``period_s``; keeps a histogram and the worst."""

    def __init__(
        self,
        period_s: float = 0.005,
        warn_s: float = 0.02,
        clock: Callable[[], float] = time.perf_counter,
    ):
        self.period_s = period_s
        self.warn_s = warn_s
        self.clock = clock
        self.histogram = Histogram(LAG_BUCKETS_S)
        self.worst_s = 0.0
        self.stalls = 0
        """Lags longer than ``warn_s`` seen so far."""
        self._logged_at = -1.0

    def observe(self, lag_s: float, now: float) -> None:
        """Count one sample (``lag_s``: how late the wake-up was)."""
        self.histogram.observe(lag_s)
        self.worst_s = max(self.worst_s, lag_s)
        if lag_s > self.warn_s:
            self.stalls += 1
            if now - self._logged_at >= 1.0:
                self._logged_at = now
                log.warning(
                    "event loop stalled %.1f ms (%d stalls over %.0f ms so far)",
                    lag_s * 1000,
                    self.stalls,
                    self.warn_s * 1000,
                )

    async def run(self) -> None:
        """Sample until cancelled."""
        while True:
            asked = self.clock()
            await asyncio.sleep(self.period_s)
            now = self.clock()
            self.observe(max(0.0, now - asked - self.period_s), now)
