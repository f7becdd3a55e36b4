"""How long the PLC link waits before its next read: fast only while a request can be pending.

Reading the PLC area 2,000 times a second costs most of an idle line's CPU, yet the
handshake only needs speed at two moments: when a destination request can appear
(the answer must be in by the decision point) and while one is open. The PLC reports
every parcel in its scan ring at the scan point, before it asks for that parcel at the
request point; a parcel cannot travel faster than the belt, so its request cannot come
before ``entered_after + read budget`` (:func:`~controller.line.tunnel_binding.entered_after_bound`
is the earliest time it can have entered). The pace is fast (``poll_interval_ms``) from
then until that parcel's request is seen, while a request is open or the PLC reports
pending ones, and slow otherwise.

The slow interval is at most an eighth of the scan window (a scan seen one slow interval
late still leaves most of the window to the readers: what they return is bound only
within it, counted from the read before the scan was seen), an eighth of the slack
between the answer window and the decision deadline (a request the windows did not
foresee, e.g. after the belt stopped and restarted, is seen one slow interval late at
most, and still answered long before the decision point even when the controller then
waits the whole deadline for the readers) and :data:`IDLE_INTERVAL_S`.

**Learning the window.** The window above allows for the belt's speed tolerance
(:data:`MARGIN_FRACTION` of the read budget on each side: 16 ms each way on the demo
belt) and for not knowing when, within a poll interval, a parcel entered. A PLC that
time-stamps its scans (``register_map.plc.clock``) removes the second, and the pace
learns the first: each request seen within its parcel's configured window gives bounds
on that parcel's scan-to-request time (it appeared after the read before, and by the
read that saw it; the parcel entered between two known times), and once
:data:`LEARN_AFTER` requests are known, a new parcel's window runs from its earliest
entry plus the shortest time seen to its latest entry plus the longest, a guard either
side, over the last :data:`LEARNED_REQUESTS` requests. Learning only narrows the
configured window: where the belt's timing varies more than its configured tolerance
(the 150,000/h stress belt, whose slow interval is barely longer than the fast one),
fast reads over a wider learned window would only add reads. A request the learned window
missed (the belt slowed) is still seen within one slow interval, and widens the windows
that follow; a request later than the configured window (the belt stopped) is not
learned from. What was learned outlives a reconnect (the belt is the same). Stamped,
the demo line reads fast for about 15 ms per parcel instead of about 50 on its 2.5 m/s
belt (measured at 4.6 m/s: 14 ms, twice the 2.4 ms within which a stamped entry is
known, 1.6 ms between two reads, 3.7 ms of spread over the requests and a 2 ms guard
each side).

The same reasoning says when the line's loop must be quick to wake: :attr:`PollPace.answering`
is true while the next read can bring a request (or one is open), and the line holds its
real-time priority only then (:class:`~controller.line.realtime.LoopPriority`). A PLC that
pushes its changes (an OPC UA subscription) is not read at this pace, but its pace still
says when a request can come, and so when the loop holds that priority.
"""

from __future__ import annotations

import math
from bisect import insort
from collections import deque
from collections.abc import Iterable

TIMER_RESOLUTION_S = 0.001
"""Event loops count timers in whole milliseconds: asyncio's selector loop stretches a
0.5 ms pause to about 1.1 ms, and uvloop rounds it to none at all (measured here: 5 us),
so a 0.5 ms pace read back to back under uvloop, at about twice the rate asked for. A
pause above zero is at least this long, on either loop; zero still reads back to back."""
IDLE_INTERVAL_S = 0.02
"""The slow pace at most: 50 reads a second."""
SHARE = 8
"""The slow interval is at most this share of the scan window and of the slack."""
MARGIN_FRACTION = 0.02
"""The window opens this much of the read budget early (belt speed tolerance)."""
LEARN_AFTER = 16
"""Requests seen in their window before the learned scan-to-request times are used."""
LEARNED_REQUESTS = 64
"""The learned times are the extremes over this many of the latest requests."""


class PollPace:
    """The wait before the next read, from what the last reads showed."""

    def __init__(
        self,
        fast_s: float,
        read_budget_s: float,
        scan_window_s: float,
        slack_s: float,
        idle_s: float = IDLE_INTERVAL_S,
        learned: Iterable[tuple[float, float]] = (),
    ):
        """``slack_s``: the answer window (request point to decision point) less the
        decision deadline; ``learned``: the scan-to-request times a pace before this one
        learned (:attr:`learned_times`: the belt is the same after a reconnect)."""
        fast_s = self.fast_s = max(fast_s, TIMER_RESOLUTION_S) if fast_s > 0 else 0.0
        self.slow_s = max(fast_s, min(idle_s, scan_window_s / SHARE, slack_s / SHARE))
        self.read_budget_s = read_budget_s
        self._margin_s = max(fast_s, read_budget_s * MARGIN_FRACTION)
        self._guard_s = fast_s + TIMER_RESOLUTION_S
        self._windows: list[tuple[float, float, int]] = []
        """(opens, closes, tracking id): when a parcel's request can come, ascending."""
        self._entries: dict[int, tuple[float, float, float]] = {}
        """Tracking id -> (entered after, entered by, configured window closes) of parcels
        whose request has not been seen, in scan order."""
        self._learned: deque[tuple[float, float]] = deque(learned, maxlen=LEARNED_REQUESTS)
        """(shortest, longest) scan-to-request time each of the latest requests allows."""
        self.learned_s: tuple[float, float] | None = None
        """The scan-to-request times the windows use (shortest, longest); None until
        :data:`LEARN_AFTER` requests were seen in their windows."""
        self._relearn()
        self._busy = False
        self.answering = True
        """Whether the read after the last :meth:`wait` can bring a request, or one is open:
        the loop holds its real-time priority while this is true (see
        :class:`~controller.line.realtime.LoopPriority`); a pace that is never slow is
        always answering."""

    def on_scan(self, tracking_id: int, entered_after: float, entered_by: float) -> None:
        """A parcel entered the tunnel after ``entered_after`` and by ``entered_by`` (for
        a scan read on the wire without a time stamp: when it was seen)."""
        if entered_after == -math.inf:
            return  # a backlog entry: its request may be up already (pending_requests says)
        opens = entered_after + self.read_budget_s - self._margin_s
        closes = expires = entered_by + self.read_budget_s + self._margin_s
        learned = self.learned_s
        if learned is not None:  # learning only narrows the configured window
            narrowed = (
                max(opens, entered_after + learned[0] - self._guard_s),
                min(closes, entered_by + learned[1] + self._guard_s),
            )
            if narrowed[0] < narrowed[1]:
                opens, closes = narrowed
        insort(self._windows, (opens, closes, tracking_id))
        entries = self._entries
        while entries:  # drop parcels whose request never came in the configured window
            oldest = next(iter(entries))
            if entries[oldest][2] + self.slow_s > entered_by:
                break
            del entries[oldest]
        entries[tracking_id] = (entered_after, entered_by, expires)

    def on_request(self, tracking_id: int, appeared_after: float, seen_by: float) -> None:
        """A request first seen by ``seen_by`` that was not up at ``appeared_after`` (when
        the read before was sent): learn its parcel's scan-to-request time."""
        entry = self._entries.pop(tracking_id, None)
        if entry is None:
            return
        entered_after, entered_by, expires = entry
        if seen_by > expires + self.slow_s:
            return  # later than the belt's tolerance allows: it stopped, not a learning
        self._learned.append((appeared_after - entered_by, seen_by - entered_after))
        self._relearn()

    def _relearn(self) -> None:
        learned = self._learned
        if len(learned) >= LEARN_AFTER:
            self.learned_s = (min(lo for lo, _ in learned), max(hi for _, hi in learned))

    @property
    def learned_times(self) -> tuple[tuple[float, float], ...]:
        """What this pace learned, for the pace of the next connection (``learned``)."""
        return tuple(self._learned)

    def on_cycle(self, request_open: bool, pending_requests: int, requested: int | None) -> None:
        """After a cycle: a request still open, the PLC's pending count, the request seen."""
        if requested is not None:
            self._windows = [w for w in self._windows if w[2] != requested]
        self._busy = request_open or pending_requests > 0

    @property
    def expected(self) -> int:
        """Parcels whose request is still expected and not yet seen (for diagnostics)."""
        return len(self._entries)

    @property
    def windows(self) -> int:
        """Parcels whose request is expected (for tests and diagnostics)."""
        return len(self._windows)

    def wait(self, now: float) -> float:
        """Seconds to wait before the next read (and :attr:`answering` for that read)."""
        wait = self._wait(now)
        self.answering = wait < self.slow_s or self.slow_s <= self.fast_s
        return wait

    def _wait(self, now: float) -> float:
        if self._busy:
            return self.fast_s
        windows = self._windows
        if windows and min(w[1] for w in windows) <= now:
            # a request that did not come in its window (the belt stopped or slowed): the
            # slow pace still sees it well within the deadline
            windows = self._windows = [w for w in windows if w[1] > now]
        if not windows:
            return self.slow_s
        if any(opens <= now < closes for opens, closes, _ in windows):
            return self.fast_s
        return max(self.fast_s, min(self.slow_s, windows[0][0] - now))
