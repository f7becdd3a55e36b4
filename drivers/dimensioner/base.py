"""What a dimensioner driver offers: ``Dimensions`` in millimetres, or why there are none."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol


@dataclass(frozen=True, slots=True)
class Dimensions:
    """One measurement. Lengths in mm (exact :class:`~decimal.Decimal`), as the device
    measured them, converted exactly from its unit; ``None`` when it gave none.

    ``no_dimension_reason`` is set (and the lengths are ``None``) when the device
    answered that it could not measure (``NODIM_BOX_STACKED``, CubiScan ``C``…).
    ``flags`` carries value markers (CubiScan ``_`` low, ``-`` low precision, ``~`` over
    range) as ``length:over_range`` and the like.
    """

    length_mm: Decimal | None
    width_mm: Decimal | None
    height_mm: Decimal | None
    legal_for_trade: bool
    raw: str
    weight_kg: Decimal | None = None
    no_dimension_reason: str | None = None
    sequence: int | None = None
    barcode: str | None = None
    flags: tuple[str, ...] = ()

    @property
    def measured(self) -> bool:
        """True when all three lengths are present."""
        return None not in (self.length_mm, self.width_mm, self.height_mm)


class Dimensioner(Protocol):
    """A dimensioner. Every method raises :class:`drivers.errors.DriverError`."""

    name: str
    address: str

    async def connect(self) -> None:
        """Open the link."""

    async def close(self) -> None:
        """Close the link; safe to call twice."""

    async def measure(self) -> Dimensions:
        """Trigger a measurement (or wait for the next pushed telegram) and return it."""
