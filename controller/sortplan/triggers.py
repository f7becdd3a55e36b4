"""When the line should re-plan: chutes taken out, chutes full too long, volumes shifted. Pure.

:class:`ReplanTriggers` is reset with what a plan was made for (the chutes out of
service, the parcels each route was expected to bring, the arrivals counted so far)
and then asked, every second or so, whether the line now departs from it:

- a chute carrying a route is out of service (a supervisor took it out, or the PLC
  reports it disabled: a jam) and was not when the plan was made;
- a chute carrying a route has reported full for ``full_after_s`` without a break;
- a route's share of the parcels arrived since the plan departs from its planned
  share by more than ``departure`` of it, and by more than three standard deviations
  of a Poisson count (so a small route's noise is not a shift); judged once at least
  ``min_parcels`` arrived; and only when, with the shifted volumes, a chute of the plan
  would carry more than ``departure`` above the busiest chute the plan was made for (a
  small route tripling on a chute with room is not worth moving routes for).

A trigger fires once: after it the watch counts it as handled until the next reset
(a discarded proposal is not proposed again for the same cause).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Trigger:
    """Why a re-plan is proposed, and the volumes to plan with (route -> parcels)."""

    reason: str
    volumes: dict[str, int]


@dataclass
class ReplanTriggers:
    """The re-planning triggers of the plan in force (see the module docstring)."""

    full_after_s: float
    departure: float
    min_parcels: int
    plan: dict[str, list[int]] = field(default_factory=dict)
    volumes: dict[str, int] = field(default_factory=dict)
    _out: frozenset[int] = frozenset()
    _base: dict[str, int] = field(default_factory=dict)
    _full_since: dict[int, float] = field(default_factory=dict)
    _handled_full: set[int] = field(default_factory=set)
    _volume_fired: bool = False

    def reset(
        self,
        plan: Mapping[str, Sequence[int]],
        volumes: Mapping[str, int],
        out: frozenset[int],
        arrived: Mapping[str, int],
    ) -> None:
        """A new plan is in force, made for ``volumes`` with ``out`` out of service."""
        self.plan = {r: list(c) for r, c in plan.items()}
        self.volumes = {r: v for r, v in volumes.items() if r in plan}
        self._out = out
        self._base = dict(arrived)
        self._full_since.clear()
        self._handled_full.clear()
        self._volume_fired = False

    def _loads(self, volumes: Mapping[str, float]) -> dict[int, float]:
        """Each chute's load under the plan in force (a route split evenly over its chutes)."""
        loads: dict[int, float] = {}
        for route, chutes in self.plan.items():
            for chute in chutes:
                loads[chute] = loads.get(chute, 0.0) + volumes.get(route, 0) / len(chutes)
        return loads

    def _overloads(self, shifted: Mapping[str, int]) -> bool:
        """Whether the shifted volumes would load a chute more than ``departure`` above
        the busiest chute the plan was made for (a shift the chutes absorb is no cause)."""
        busiest = max(self._loads(self.volumes).values(), default=0.0)
        after = self._loads({**self.volumes, **shifted})
        return max(after.values(), default=0.0) > busiest * (1 + self.departure)

    def _routes_on(self, chute: int) -> list[str]:
        return [r for r, chutes in self.plan.items() if chute in chutes]

    def check(
        self, now: float, out: frozenset[int], full: frozenset[int], arrived: Mapping[str, int]
    ) -> Trigger | None:
        """The first trigger that fires now, or None."""
        for chute in sorted(out - self._out):
            self._out = self._out | {chute}
            if routes := self._routes_on(chute):
                return Trigger(
                    f"chute {chute} out of service (it carries {', '.join(routes)})",
                    dict(self.volumes),
                )
        for chute in list(self._full_since):
            if chute not in full:
                del self._full_since[chute]
        for chute in sorted(full):
            since = self._full_since.setdefault(chute, now)
            if chute in self._handled_full or now - since < self.full_after_s:
                continue
            self._handled_full.add(chute)
            if routes := self._routes_on(chute):
                return Trigger(
                    f"chute {chute} full for {now - since:.0f} s (it carries {', '.join(routes)})",
                    dict(self.volumes),
                )
        return None if self._volume_fired else self._volume_shift(arrived)

    def _volume_shift(self, arrived: Mapping[str, int]) -> Trigger | None:
        counts = {r: arrived.get(r, 0) - self._base.get(r, 0) for r in self.volumes}
        total_arrived = sum(counts.values())
        total_planned = sum(self.volumes.values())
        if total_arrived < self.min_parcels or total_planned <= 0:
            return None
        shifted: dict[str, int] = {}
        for route, planned in self.volumes.items():
            expected = total_arrived * planned / total_planned
            off = counts[route] - expected
            if abs(off) > self.departure * expected and abs(off) > 3 * math.sqrt(
                max(expected, 1.0)
            ):
                shifted[route] = round(planned * counts[route] / max(expected, 1e-9))
        if not shifted or not self._overloads(shifted):
            return None
        self._volume_fired = True
        biggest = max(shifted, key=lambda r: abs(shifted[r] - self.volumes[r]))
        change = shifted[biggest] / max(1, self.volumes[biggest]) - 1
        return Trigger(
            f"volume shift on {len(shifted)} route(s) after {total_arrived} parcels "
            f"(largest: {biggest} {change:+.0%})",
            {**self.volumes, **shifted},
        )
