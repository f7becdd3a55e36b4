"""When did a PLC variable change, in our clock? A sound lower bound from OPC UA timestamps.

A subscription delivers a change some time after it happened: up to a publishing
interval, plus however long the PLC, the network and our event loop took. A Modbus
driver bounds the time of a change by when it sent the read that first saw it; a
subscription has no such read. But every notification carries the variable's
``SourceTimestamp`` (the PLC's clock when the value changed), so

    delay_i = arrival_i (our clock) - source_i (PLC clock) = offset + transit_i

and, as every transit is >= 0, the smallest delay seen recently, ``min_delay``, is at
most ``offset`` + the fastest transit. A change at PLC time ``s`` happened in our clock
at ``s + offset >= s + min_delay - fastest transit``; with the fastest transit below
``margin_s`` (1 ms: one LAN hop), ``s + min_delay - margin_s`` is a lower bound however
late this particular notification was (a loaded CPU, a slow publish). The minimum is
kept over a sliding window so that the two clocks' drift does not build up.
"""

from __future__ import annotations

import time
from collections import deque
from datetime import datetime


class SourceClock:
    """Maps PLC ``SourceTimestamp`` values to lower bounds in our wall clock."""

    def __init__(self, margin_s: float = 0.001, bucket_s: float = 10.0, buckets: int = 6):
        self.margin_s = margin_s
        self.bucket_s = bucket_s
        self._minima: deque[tuple[float, float]] = deque(maxlen=buckets)
        """(bucket start, smallest delay in it), newest last."""

    def observe(self, source: datetime | None, arrived: float | None = None) -> None:
        """Record a notification whose value changed at ``source`` (PLC clock)."""
        if source is None:
            return
        now = time.time() if arrived is None else arrived
        delay = now - source.timestamp()
        if self._minima and now - self._minima[-1][0] < self.bucket_s:
            start, smallest = self._minima[-1]
            if delay < smallest:
                self._minima[-1] = (start, delay)
        else:
            self._minima.append((now, delay))

    @property
    def min_delay(self) -> float | None:
        """The smallest delay over the window (None before the first notification)."""
        return min(d for _, d in self._minima) if self._minima else None

    def earliest(self, source: datetime | None) -> float | None:
        """The earliest wall-clock time (``time.time()`` scale) a change at ``source`` can
        have happened here; None when nothing is known yet."""
        smallest = self.min_delay
        if source is None or smallest is None:
            return None
        return source.timestamp() + smallest - self.margin_s
