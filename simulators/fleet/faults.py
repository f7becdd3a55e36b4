"""Faults of the simulated fleet: blocked lanes and the timed faults of the settings.

:class:`BlockedLanes` is shared by every vehicle of a fleet (a lane is blocked for all of
them). :func:`timed_faults` turns ``FleetSimulation.drop_off``, ``low_battery`` and
``blocked_edges`` into ``(at_s, what)`` steps that :class:`~simulators.fleet.fleet.
SimulatedFleet` runs from its start. Rates (``reject_rate``, ``action_fail_rate``) are
drawn from each vehicle's seeded random generator in the model.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from plc_configs.fleet import FleetSimulation, LayoutEdge


class BlockedLanes:
    """Lanes blocked until a moment (``time.monotonic``); both directions of a lane."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._until: dict[str, float] = {}
        self._clock = clock

    def block(self, edge_id: str, for_s: float) -> None:
        """Block the lane ``start-end`` (either spelling) for ``for_s`` seconds."""
        self._until[edge_id] = self._clock() + for_s

    def clear(self, edge_id: str) -> None:
        """Open the lane again now."""
        self._until.pop(edge_id, None)

    def __call__(self, lane: LayoutEdge) -> bool:
        """Whether ``lane`` is blocked now."""
        now = self._clock()
        keys = (lane.id, f"{lane.end}-{lane.start}")
        return any(self._until.get(key, 0.0) > now for key in keys)


@dataclass(frozen=True)
class TimedFault:
    """One fault of the settings, ``at_s`` after the fleet started."""

    at_s: float
    kind: str  # "drop_off", "low_battery", "block"
    target: str  # a serial number or an edge id
    for_s: float = 0.0


def timed_faults(settings: FleetSimulation) -> list[TimedFault]:
    """The settings' timed faults, earliest first."""
    out = [TimedFault(at, "drop_off", serial, for_s) for serial, at, for_s in settings.drop_off]
    out += [TimedFault(at, "low_battery", serial) for serial, at in settings.low_battery]
    out += [TimedFault(at, "block", edge, for_s) for edge, at, for_s in settings.blocked_edges]
    return sorted(out, key=lambda f: f.at_s)
