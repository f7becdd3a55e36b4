"""What the screens and SCADA derive from a :class:`~controller.line.LineSnapshot`, defined once.

The HMI (:mod:`hmi.feed`) and the OPC UA server (:mod:`controller.opcua`) show the same
chute states, fill and throughput; both compute them here, so they never disagree.
"""

from __future__ import annotations

from collections import deque
from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from controller.line.snapshot import LineSnapshot
    from controller.parcels.decision import SortPlan
    from plc_configs.sections import Chute


class ChuteState(StrEnum):
    """What a chute shows: each has its own colour, outline, icon and word."""

    NORMAL = "normal"
    FULL = "full"
    DISABLED = "disabled"
    JAMMED = "jammed"

    @property
    def word(self) -> str:
        """The short word on a chute tile (and OPC UA's ``State``): OK, FULL, OFF, JAM."""
        return _WORDS[self]


_WORDS = {
    ChuteState.NORMAL: "OK",
    ChuteState.FULL: "FULL",
    ChuteState.DISABLED: "OFF",
    ChuteState.JAMMED: "JAM",
}


def chute_state(chute: int, snap: LineSnapshot, disabled_by_host: frozenset[int]) -> ChuteState:
    """The state of ``chute``: taken out by a supervisor, by the PLC (jam), full, or normal."""
    if chute in disabled_by_host:
        return ChuteState.DISABLED
    if chute in snap.chute_disabled:
        return ChuteState.JAMMED  # the PLC took it out: jam or local fault
    if chute in snap.chute_full:
        return ChuteState.FULL
    return ChuteState.NORMAL


def chute_fill(chute: Chute, snap: LineSnapshot) -> float:
    """0..1: the parcels landed since the chute's container was swapped over its capacity."""
    return min(1.0, snap.chute_fill.get(chute.id, 0) / max(1, chute.capacity))


def chute_routes(plan: SortPlan) -> dict[int, list[str]]:
    """The routes bound to each chute by the active sort plan."""
    routes: dict[int, list[str]] = {}
    for route, chutes in plan.as_dict().items():
        for chute in chutes:
            routes.setdefault(chute, []).append(route)
    return routes


def terminal_count(snap: LineSnapshot) -> int:
    """Parcels that reached a terminal state (sorted, rejected or lost) this session."""
    counts = snap.counts
    return counts.get("sorted", 0) + counts.get("rejected", 0) + counts.get("lost", 0)


class ThroughputMeter:
    """Parcels per hour finished over the last ``window_s`` (or since the first sample).

    Feed it the terminal count at each sample (:meth:`add`); it keeps enough samples
    for two windows at the sampling interval.
    """

    def __init__(self, interval_s: float, window_s: float = 60.0):
        self.window_s = window_s
        self._samples: deque[tuple[float, int]] = deque(maxlen=int(2 * window_s / interval_s) + 2)

    def add(self, now: float, terminal: int) -> float:
        """Record ``terminal`` at ``now``; the throughput in parcels per hour (0 for < 1 s)."""
        self._samples.append((now, terminal))
        oldest = next(((t, n) for t, n in self._samples if now - t <= self.window_s), None)
        if oldest is None or now - oldest[0] < 1.0:
            return 0.0
        return (terminal - oldest[1]) * 3600 / (now - oldest[0])
