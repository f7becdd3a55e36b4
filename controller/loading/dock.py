"""The check at a dock door: is this scan this truck's, and does it come in sequence? Pure.

A scan is a unit id (a container's label) or a parcel id. Verdicts:

* ``ok`` — loaded, in sequence;
* ``out_of_sequence`` — loaded with a warning: a unit of a later stop (which should be
  deeper in the truck) is not loaded yet; the verdict names it;
* ``duplicate`` — already loaded: nothing recorded twice;
* ``wrong_truck`` — refused: it belongs to another truck (named);
* ``held`` — refused: the unit is held by its weight check (or not weighed yet);
* ``in_container`` — refused: a parcel of a closed container: scan the container;
* ``unknown`` — refused: nothing of this truck has this code.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field

from controller.loading.plan import LoadPlan, LoadRow

#: Verdicts that load the unit.
LOADS = frozenset({"ok", "out_of_sequence"})


@dataclass(frozen=True, slots=True)
class DockVerdict:
    """What a scan at the door means."""

    kind: str
    unit_id: str | None = None
    reason: str = ""
    position: str | None = None

    @property
    def loads(self) -> bool:
        """True when the unit goes into the truck."""
        return self.kind in LOADS


@dataclass
class DockCheck:
    """The loading of one truck against its plan."""

    truck: str
    plan: LoadPlan
    parcel_units: Mapping[str, str] = field(default_factory=dict)
    """Parcel id -> the unit (container) it is in."""
    other_trucks: Mapping[str, str] = field(default_factory=dict)
    """Unit or parcel id of another truck -> that truck."""
    held: Collection[str] = ()
    loaded: list[str] = field(default_factory=list)

    def scan(self, code: str) -> DockVerdict:
        """Judge one scan; a loading verdict records the unit as loaded."""
        row = self.plan.row(code)
        if row is None:
            if code in self.parcel_units:
                unit = self.parcel_units[code]
                return DockVerdict("in_container", unit, f"{code} is in container {unit}")
            if code in self.other_trucks:
                truck = self.other_trucks[code]
                return DockVerdict("wrong_truck", code, f"belongs to truck {truck}")
            return DockVerdict("unknown", None, f"{code} is not a unit of truck {self.truck}")
        if code in self.loaded:
            return DockVerdict("duplicate", code, "already loaded", row.position)
        if code in self.held:
            return DockVerdict("held", code, "held by its weight check", row.position)
        later = [r for r in self._pending() if r.unit_id != code and max(r.stops, default=-1)
                 > max(row.stops, default=-1)]  # fmt: skip
        self.loaded.append(code)
        if later:
            names = ", ".join(r.unit_id for r in later[:3])
            return DockVerdict(
                "out_of_sequence",
                code,
                f"later stops not loaded yet: {names}" + (" …" if len(later) > 3 else ""),
                row.position,
            )
        return DockVerdict("ok", code, "", row.position)

    def _pending(self) -> list[LoadRow]:
        return [
            r for r in self.plan.rows if r.unit_id not in self.loaded and r.unit_id not in self.held
        ]

    def remaining(self) -> list[str]:
        """Units of the plan not loaded yet, in loading order."""
        return [r.unit_id for r in self.plan.rows if r.unit_id not in self.loaded]

    def inversions(self) -> list[tuple[str, str]]:
        """Pairs (loaded earlier, loaded later) where the later one has the later stop."""
        stop = {r.unit_id: max(r.stops, default=-1) for r in self.plan.rows}
        pairs = []
        for i, first in enumerate(self.loaded):
            for second in self.loaded[i + 1 :]:
                if stop.get(second, -1) > stop.get(first, -1):
                    pairs.append((first, second))
        return pairs

    @property
    def in_sequence(self) -> bool:
        """True when the truck was loaded last stop first (no inversion)."""
        return not self.inversions()
