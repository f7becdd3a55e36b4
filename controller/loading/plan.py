"""A truck's load plan: its units last stop first, each with a load position. Pure.

A route is delivered in stop order, so the truck is loaded in reverse: the unit of the
last stop goes in first (deepest, at the front of the trailer, nearest the cab) and the
first stop's last (at the doors). A unit that spans several stops goes by its highest.
Ties: route, then unit id. Load positions split the order into equal zones, in loading
order: with ``("front", "middle", "back")`` the first third is ``front``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class LoadUnit:
    """Something the loader scans into the truck: a closed container, or a loose parcel."""

    id: str
    kind: str
    truck: str
    route: str
    stops: tuple[int, ...]
    parcels: tuple[str, ...]
    weight_kg: float | None = None
    volume_m3: float | None = None
    closed_at: float | None = None

    @property
    def last_stop(self) -> int:
        """The stop the unit is ordered by (its highest; -1 without stops)."""
        return max(self.stops, default=-1)


@dataclass(frozen=True, slots=True)
class LoadRow:
    """One line of the load sheet."""

    order: int
    unit_id: str
    kind: str
    route: str
    stops: tuple[int, ...]
    position: str
    parcels: int
    weight_kg: float | None
    volume_m3: float | None


@dataclass(frozen=True, slots=True)
class LoadPlan:
    """The units of one truck in loading order."""

    truck: str
    rows: tuple[LoadRow, ...]

    @property
    def parcels(self) -> int:
        """Parcels in all units."""
        return sum(r.parcels for r in self.rows)

    @property
    def weight_kg(self) -> float:
        """Known weights summed (units without a weight add nothing)."""
        return round(sum(r.weight_kg or 0.0 for r in self.rows), 3)

    def row(self, unit_id: str) -> LoadRow | None:
        """The row of a unit."""
        return next((r for r in self.rows if r.unit_id == unit_id), None)


def load_order(units: Iterable[LoadUnit]) -> list[LoadUnit]:
    """Units in loading order: the highest stop first, then route, then id."""
    return sorted(units, key=lambda u: (-u.last_stop, u.route, u.id))


def load_plan(
    truck: str, units: Iterable[LoadUnit], *, positions: Sequence[str] = ("front", "middle", "back")
) -> LoadPlan:
    """The truck's plan from its units (units of other trucks are left out)."""
    if not positions:
        raise ValueError("positions: at least one load zone")
    ordered = load_order(u for u in units if u.truck == truck)
    per_zone = max(1, math.ceil(len(ordered) / len(positions)))
    rows = tuple(
        LoadRow(
            order=i + 1,
            unit_id=u.id,
            kind=u.kind,
            route=u.route,
            stops=u.stops,
            position=positions[min(i // per_zone, len(positions) - 1)],
            parcels=len(u.parcels),
            weight_kg=u.weight_kg,
            volume_m3=u.volume_m3,
        )
        for i, u in enumerate(ordered)
    )
    return LoadPlan(truck, rows)
