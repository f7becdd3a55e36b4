"""A truck's ledger: every manifest parcel of its routes, loaded or accounted for. Pure.

Outcomes: ``loaded``; ``rejected`` (at the sorter, with its reason); ``short`` (missing or
damaged at the wall); ``exception`` (to the exception cage at the wall); ``not_arrived``
(set when the truck is closed and the parcel has no other outcome). Rules: ``loaded`` is
final; any other outcome may be replaced by a later one (a rejected parcel that came
back through rework and was loaded is loaded). A truck is accounted for when every
expected parcel has an outcome.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import Any

from controller.errors import ControllerError

OUTCOMES = ("loaded", "rejected", "short", "exception", "not_arrived")


class LedgerError(ControllerError):
    """A parcel the truck does not carry, or an outcome that does not exist."""


class TruckLedger:
    """The expected parcels of one truck (parcel id -> stop) and their outcomes."""

    def __init__(self, truck: str, expected: Mapping[str, int]):
        self.truck = truck
        self.expected = dict(expected)
        self.outcomes: dict[str, tuple[str, str]] = {}

    def mark(self, parcel_id: str, outcome: str, reason: str = "") -> bool:
        """Record an outcome; False when it changes nothing (or ``loaded`` already)."""
        if outcome not in OUTCOMES:
            raise LedgerError(f"unknown outcome {outcome!r}; known: {', '.join(OUTCOMES)}")
        if parcel_id not in self.expected:
            raise LedgerError(f"parcel {parcel_id} is not on truck {self.truck}")
        current = self.outcomes.get(parcel_id)
        if current is not None and (current[0] == "loaded" or current == (outcome, reason)):
            return False
        self.outcomes[parcel_id] = (outcome, reason)
        return True

    def accounted(self) -> bool:
        """True when every expected parcel has an outcome."""
        return all(p in self.outcomes for p in self.expected)

    def close(self, reason: str) -> int:
        """The truck leaves: parcels without an outcome did not arrive; how many."""
        missing = [p for p in self.expected if p not in self.outcomes]
        for parcel_id in missing:
            self.outcomes[parcel_id] = ("not_arrived", reason)
        return len(missing)

    def counts(self) -> dict[str, int]:
        """Parcels per outcome (parcels without one are not counted)."""
        return dict(Counter(outcome for outcome, _ in self.outcomes.values()))

    def not_loaded(self) -> list[dict[str, Any]]:
        """Expected parcels not loaded, with their stop, outcome (or none yet) and reason."""
        items = []
        for parcel_id, stop in sorted(self.expected.items(), key=lambda kv: (kv[1], kv[0])):
            outcome, reason = self.outcomes.get(parcel_id, ("", "no outcome yet"))
            if outcome != "loaded":
                items.append(
                    {"parcel_id": parcel_id, "stop": stop, "outcome": outcome, "reason": reason}
                )
        return items

    def summary(
        self,
        weights_kg: Mapping[str, float | None],
        volumes_m3: Mapping[str, float | None],
    ) -> dict[str, Any]:
        """The ``truck.loaded`` figures: outcomes, not loaded and why, stops, measured kg
        and m³ of the loaded parcels (a parcel without a measurement is listed, never
        guessed)."""
        loaded = [p for p, (o, _) in self.outcomes.items() if o == "loaded"]
        no_weight = sorted(p for p in loaded if weights_kg.get(p) is None)
        no_volume = sorted(p for p in loaded if volumes_m3.get(p) is None)
        stops = set(self.expected.values())
        stops_loaded = {
            s for s in stops if all(
                self.outcomes.get(p, ("",))[0] == "loaded"
                for p, ps in self.expected.items() if ps == s
            )
        }  # fmt: skip
        return {
            "expected": len(self.expected),
            "outcomes": self.counts(),
            "not_loaded": self.not_loaded(),
            "stops": len(stops),
            "stops_fully_loaded": len(stops_loaded),
            "weight_kg": round(sum(weights_kg.get(p) or 0.0 for p in loaded), 3),
            "volume_m3": round(sum(volumes_m3.get(p) or 0.0 for p in loaded), 4),
            "unmeasured_weight": no_weight,
            "unmeasured_volume": no_volume,
        }
