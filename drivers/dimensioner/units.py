"""Exact unit conversion for dimensioners: device numbers to mm and kg, never re-rounded.

Numbers are parsed from the device's text into :class:`~decimal.Decimal` and
multiplied by exact factors (1 in = 25.4 mm, 1 lb = 0.45359237 kg, 1 oz = 1/16 lb)
in a context with enough precision that no product is ever rounded; a product that
would need rounding raises instead (it cannot happen for numbers within
:data:`MAX_DIGITS`).
"""

from __future__ import annotations

import re
from decimal import Decimal

from drivers.units import KG_PER, MM_PER, exact, to_kg, to_mm

__all__ = ["KG_PER", "MAX_DIGITS", "MM_PER", "BadNumber", "exact", "parse_number", "to_kg", "to_mm"]

MAX_DIGITS = 20
"""Longest number (digits, not counting the point) a device field may carry."""

_NUMBER = re.compile(r"(\d+)(?:\.(\d+))?", re.ASCII)


class BadNumber(ValueError):
    """The text is not an unsigned decimal number the device could have meant."""


def parse_number(text: str, decimals: int = 0) -> Decimal:
    """``text`` (unsigned, optionally space padded) as an exact Decimal.

    Without a decimal point the last ``decimals`` digits are the fraction
    (``"03210"`` with 1 → ``321.0``); with a point the text is taken as written.
    """
    stripped = text.strip(" ")
    match = _NUMBER.fullmatch(stripped)
    if match is None:
        raise BadNumber(f"not a number: {text!r}")
    digits = len(match.group(1)) + len(match.group(2) or "")
    if digits > MAX_DIGITS:
        raise BadNumber(f"more than {MAX_DIGITS} digits: {text!r}")
    value = Decimal(stripped)
    if match.group(2) is None and decimals:
        with exact():
            value = value.scaleb(-decimals)
    return value
