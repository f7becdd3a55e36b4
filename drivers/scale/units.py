"""Exact conversion of a printed weight to kilograms: never rounded, never a float.

The pound is 0.45359237 kg exactly (international yard and pound, 1959) and the
avoirdupois ounce a sixteenth of it, 0.028349523125 kg exactly. Every conversion
runs in a decimal context that raises instead of rounding.
"""

from __future__ import annotations

import re
from decimal import Decimal

from drivers.errors import ProtocolError
from drivers.units import KG_PER
from drivers.units import to_kg as exact_to_kg

KG_PER_UNIT = KG_PER
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
    try:
        return exact_to_kg(value, unit)
    except KeyError:
        known = ", ".join(KG_PER)
        raise ProtocolError(device, address, f"unknown unit {unit!r} (known: {known})") from None
