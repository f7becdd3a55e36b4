"""How late the event loop runs what is due: the controller's own stall detector.

Every parcel's answer and every tunnel binding depends on the loop running a ready
task within a millisecond or two. :class:`LoopLagMonitor` measures how much later than
asked a timer fires: the loop's lag at that moment (a blocking call, a long garbage
collection, the process not getting a CPU). Lags go into a histogram
(``lanesort_event_loop_lag_seconds`` in ``/metrics``); a stall longer than ``warn_s`` is
logged with its length, at most once a second, so a late measurement or answer in the
journal can be matched with a stall of the controller's loop.

**Samples without wake-ups of their own.** A stall of length L is measured by the first
timer due within it, as L less the time from the stall's start to that timer: within
``period_s`` of L when a timer is due at least every period. The monitor keeps one timer
of its own due ``period_s`` after the latest sample, and a task that sleeps often anyway
(the PLC link, between its reads) sleeps through :meth:`LoopLagMonitor.sleep`, which
samples at each wake-up and moves that timer on. While that task sleeps less than a
period at a time the monitor's timer never fires, and the loop is not woken for it: at
150,000 parcels/h a 5 ms timer of its own cost 4.8 wake-ups of an otherwise idle loop
per parcel (about 0.15 ms of CPU per parcel here). When the task sleeps longer, or not at
all (the link is down), the monitor samples on its own every period, as before.
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
    """Samples the event loop's lag at least every ``period_s``; keeps a histogram and the worst."""

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
        self._timer: asyncio.TimerHandle | None = None
        self._due = 0.0
        """When the monitor's own timer is due (``clock``)."""

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

    async def sleep(self, delay_s: float) -> None:
        """``asyncio.sleep(delay_s)``, sampling the loop's lag when it wakes (see the module)."""
        asked = self.clock()
        await asyncio.sleep(delay_s)
        now = self.clock()
        self.observe(max(0.0, now - asked - delay_s), now)
        timer = self._timer
        if timer is not None and self._due - now < self.period_s / 2:
            # moved only once half a period of it is gone: a stall is still seen by a timer
            # due within a period of its start
            timer.cancel()
            self._arm(now)

    def _arm(self, now: float) -> None:
        self._due = now + self.period_s
        self._timer = asyncio.get_running_loop().call_later(self.period_s, self._tick)

    def _tick(self) -> None:
        now = self.clock()
        self.observe(max(0.0, now - self._due), now)
        self._arm(now)

    async def run(self) -> None:
        """Sample until cancelled."""
        self._arm(self.clock())
        try:
            await asyncio.Future()
        finally:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
