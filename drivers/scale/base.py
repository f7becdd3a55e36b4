"""What a scale driver offers, whatever the protocol: a ``Weight`` in kg, exactly.

Legal for trade (OIML R76, NTEP, MID): accept only stable readings for billing,
keep the device's own printed text next to the parsed value, never re-round, and
flag what the device says is not legal. ``kg`` is a :class:`~decimal.Decimal`
converted exactly from the device's unit (g, kg, lb, oz); ``raw`` is the frame as
the device sent it (decoded latin-1).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Protocol


class WeightMode(StrEnum):
    """Which weight the device reported."""

    GROSS = "gross"
    NET = "net"
    TARE = "tare"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class Weight:
    """One weighing result.

    ``value``/``unit`` are the device's number and unit exactly as printed (``"100.00"``,
    ``"g"``); ``kg`` is the same quantity in kilograms, converted exactly.
    """

    kg: Decimal
    value: Decimal
    unit: str
    stable: bool
    mode: WeightMode
    legal_for_trade: bool
    raw: str
    tare_kg: Decimal | None = None
    flags: tuple[str, ...] = ()
    """What the device said besides the value: ``motion``, ``center_of_zero``, ``net`` …"""


class Scale(Protocol):
    """A weigh scale. Every method raises :class:`drivers.errors.DriverError`.

    Overload, underload, busy and error replies raise
    :class:`~drivers.errors.DeviceFault` with the device's reply in the message;
    unparseable bytes raise :class:`~drivers.errors.ProtocolError` naming them.
    """

    name: str
    address: str

    async def connect(self) -> None:
        """Open the link."""

    async def close(self) -> None:
        """Close the link; safe to call twice."""

    async def read_stable(self) -> Weight:
        """A stable weight (the device waits for stability, or the driver does)."""

    async def read_now(self) -> Weight:
        """The weight now, stable or not (``stable`` says which)."""

    async def zero(self) -> None:
        """Zero the scale."""

    async def tare(self) -> Weight:
        """Tare the scale; returns the tare weight."""
