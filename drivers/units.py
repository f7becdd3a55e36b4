"""Exact unit conversion for every measuring driver: never rounded, never a float.

The pound is 0.45359237 kg exactly (international yard and pound, 1959), the
avoirdupois ounce a sixteenth of it (0.028349523125 kg), the inch 25.4 mm. Every
product runs in a decimal context that raises instead of rounding, so a billed
weight is exactly what the device printed, in kilograms.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal, Inexact, localcontext

KG_PER: dict[str, Decimal] = {
    "g": Decimal("0.001"),
    "kg": Decimal(1),
    "t": Decimal(1000),
    "lb": Decimal("0.45359237"),
    "oz": Decimal("0.028349523125"),
}
"""Exact kilograms per weight unit."""

MM_PER: dict[str, Decimal] = {
    "mm": Decimal(1),
    "cm": Decimal(10),
    "m": Decimal(1000),
    "in": Decimal("25.4"),
}
"""Exact millimetres per length unit."""


@contextmanager
def exact() -> Iterator[None]:
    """A decimal context with ample precision that traps any rounding."""
    with localcontext() as ctx:
        ctx.prec = 120
        ctx.traps[Inexact] = True
        yield


def to_kg(value: Decimal, unit: str) -> Decimal:
    """``value`` in ``unit`` (g, kg, t, lb, oz; any case) as kg; KeyError for other units."""
    factor = KG_PER[unit.strip(" ").lower()]
    with exact():
        return value * factor


def to_mm(value: Decimal, unit: str) -> Decimal:
    """``value`` in ``unit`` (mm, cm, m, in) as mm; KeyError for other units."""
    factor = MM_PER[unit.strip(" ").lower()]
    with exact():
        return value * factor
