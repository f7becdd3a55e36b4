"""Helpers for the measuring-device simulator tests."""

from __future__ import annotations

from simulators.measure.faults import Draw, Fault
from simulators.parcels import ParcelSpec, ReaderOutcome


def parcel(
    weight_kg: float = 1.234,
    dims: tuple[int, int, int] = (200, 100, 300),
    barcode: str = "LS0000012345",
    outcome: ReaderOutcome = ReaderOutcome.OK,
) -> ParcelSpec:
    return ParcelSpec(1, barcode, "A", *dims, weight_kg, True, outcome)


class OnScale:
    """A settable lookup: the parcel on the platform now."""

    def __init__(self, spec: ParcelSpec | None = None):
        self.parcel = spec

    def __call__(self) -> ParcelSpec | None:
        return self.parcel


def draw(*faults: Fault) -> Draw:
    return Draw(frozenset(faults))
