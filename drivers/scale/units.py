"""Exact conversion of a printed weight to kilograms: never rounded, never a float.

The pound is 0.45359237 kg exactly (international yard and pound, 1959) and the
avoirdupois ounce a sixteenth of it, 0.028349523125 kg exactly. Every conversion
runs in a decimal context that raises instead of rounding.
"""

from __future__ import annotations

import re
from decimal import Context, Decimal, Inexact, localcontext

from drivers.errors import ProtocolError

KG_PER_UNIT: dict[str, Decimal] = {
    "g": Decimal("0.001"),
    "kg": Decimal("1"),
    "lb": Decimal("0.45359237"),
    "oz": Decimal("0.028349523125"),
}
_EXACT = Context(prec=120, traps=[Inexact])
_NUMBER = re.compile(r"([+-]?) *([0-9]+(?:\.[0-9]*)?|\.[0-9]+)")


def parse_number(text: str, device: str = "scale", address: str = "-") -> Decimal:
    """The printed number (``"  -1.25"``, ``"12345678.12"``) as an exact Decimal.

    Leading/trailing spaces and a space between sign and digits are allowed; anything
    else (exponents, ``NaN``, thousands separators) is a ProtocolError.
    """
    match = _NUMBER.fullmatch(text.strip(" "))
    if match is None:
        raise ProtocolError(device, address, f"not a weight: {text!r}")
    return Decimal(match.group(1) + match.group(2))


def to_kg(value: Decimal, unit: str, device: str = "scale", address: str = "-") -> Decimal:
    """``value`` in ``unit`` (g, kg, lb, oz; any case) as kg, exactly."""
    factor = KG_PER_UNIT.get(unit.strip(" ").lower())
    if factor is None:
        known = ", ".join(KG_PER_UNIT)
        raise ProtocolError(device, address, f"unknown unit {unit!r} (known: {known})")
    with localcontext(_EXACT):
        return value * factor
