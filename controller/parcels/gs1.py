"""GS1 element strings (GS1-128, GS1 DataMatrix, GS1 QR): Application Identifiers.

Decoded data arrives as ``]C1``/``]d2``/``]Q3`` + element string, with FNC1 as ASCII 29
(GS) after every variable-length field that is not last. The human-readable form
``(00)340123450000000018(420)10115`` is accepted too. Check digits are verified where
the AI has one (SSCC, GTIN, GLN); a wrong one is an error, never a guess.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

GS = "\x1d"
GS1_SYMBOLOGIES = ("]C1", "]d2", "]Q3", "]e0", "]J1")

#: Predefined-length AIs (GS1 General Specifications, figure 5.10.1-2): prefix -> total
#: length of AI plus data. Any AI starting with these digits has that length.
_PREDEFINED = {
    "00": 20,
    "01": 16,
    "02": 16,
    "03": 16,
    "04": 18,
    "11": 8,
    "12": 8,
    "13": 8,
    "14": 8,
    "15": 8,
    "16": 8,
    "17": 8,
    "18": 8,
    "19": 8,
    "20": 4,
    "31": 10,
    "32": 10,
    "33": 10,
    "34": 10,
    "35": 10,
    "36": 10,
    "41": 16,
}
#: AI lengths of the variable-length AIs this module knows (AI -> maximum data length).
_VARIABLE = {
    "10": 20,
    "21": 20,
    "22": 20,
    "30": 8,
    "37": 8,
    "240": 30,
    "241": 30,
    "250": 30,
    "251": 30,
    "400": 30,
    "401": 30,
    "402": 17,
    "403": 30,
    "420": 20,
    "421": 12,
    "422": 3,
    "423": 15,
    "424": 3,
    "425": 15,
    "426": 3,
    "90": 30,
    "91": 90,
    "92": 90,
    "93": 90,
    "94": 90,
    "95": 90,
    "96": 90,
    "97": 90,
    "98": 90,
    "99": 90,
}
_CHECKED = {"00", "01", "02", "410", "411", "412", "413", "414", "415"}
NAMES = {
    "00": "SSCC",
    "01": "GTIN",
    "401": "consignment (GINC)",
    "402": "shipment (GSIN)",
    "403": "routing code",
    "420": "ship-to postal code",
    "421": "ship-to postal code with ISO country code",
}


class Gs1Error(ValueError):
    """The data is not a valid GS1 element string; the message says where and why."""


@dataclass(frozen=True, slots=True)
class Gs1Label:
    """The Application Identifiers of one GS1 symbol, in order."""

    elements: tuple[tuple[str, str], ...]

    def get(self, ai: str) -> str | None:
        """The value of ``ai``, or None."""
        return next((value for key, value in self.elements if key == ai), None)

    @property
    def postal_code(self) -> str | None:
        """Ship-to postal code: AI 420, or AI 421 without its 3-digit country code."""
        if (code := self.get("420")) is not None:
            return code
        if (code := self.get("421")) is not None:
            return code[3:]
        return None

    def as_dict(self) -> dict[str, str]:
        """AI -> value (for the journal and ``lanesort probe``)."""
        return dict(self.elements)


def gs1_check_digit(digits: str) -> int:
    """The GS1 mod-10 check digit for ``digits`` (without the check digit)."""
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(digits)))
    return (10 - total % 10) % 10


def _ai_at(text: str, pos: int) -> tuple[str, int | None, int | None]:
    """(ai, fixed total length or None, max data length for variable AIs)."""
    two = text[pos : pos + 2]
    if two in _PREDEFINED:
        fixed = _PREDEFINED[two]
        ai_len = 4 if two[0] == "3" else (3 if two == "41" else 2)
        return text[pos : pos + ai_len], fixed, None
    for size in (4, 3, 2):
        ai = text[pos : pos + size]
        if ai in _VARIABLE:
            return ai, None, _VARIABLE[ai]
    raise Gs1Error(f"unknown Application Identifier at position {pos}: {text[pos : pos + 4]!r}")


_BRACKETED = re.compile(r"\((\d{2,4})\)([^(]*)")


def parse_gs1(data: str) -> Gs1Label:
    """Parse a GS1 element string (with or without its AIM prefix) into its AIs."""
    for prefix in GS1_SYMBOLOGIES:
        if data.startswith(prefix):
            data = data[len(prefix) :]
            break
    data = data.lstrip(GS)
    if data.startswith("("):
        pairs = _BRACKETED.findall(data)
        if not pairs or "".join(f"({a}){v}" for a, v in pairs) != data:
            raise Gs1Error(f"not a bracketed element string: {data!r}")
        text = GS.join(a + v for a, v in pairs)
    else:
        text = data
    elements: list[tuple[str, str]] = []
    pos = 0
    while pos < len(text):
        ai, fixed, maximum = _ai_at(text, pos)
        start = pos + len(ai)
        if fixed is not None:
            end = pos + fixed
            if end > len(text):
                raise Gs1Error(f"AI {ai} needs {fixed - len(ai)} characters, the data ends first")
            value = text[start:end]
            if GS in value:
                raise Gs1Error(f"AI {ai} needs {fixed - len(ai)} characters, an FNC1 comes first")
            pos = end + (1 if text[end : end + 1] == GS else 0)
        else:
            sep = text.find(GS, start)
            end = len(text) if sep < 0 else sep
            value = text[start:end]
            if not value or (maximum is not None and len(value) > maximum):
                raise Gs1Error(f"AI {ai}: {len(value)} characters, expected 1 to {maximum}")
            pos = end + 1
        checked = ai in _CHECKED or ai.startswith("41")
        digits = value.isascii() and value.isdigit()  # isdigit() alone takes U+00B2, U+0661…
        if checked and (not digits or gs1_check_digit(value[:-1]) != int(value[-1])):
            raise Gs1Error(f"AI {ai} {value}: wrong check digit")
        elements.append((ai, value))
    if not elements:
        raise Gs1Error("empty element string")
    return Gs1Label(tuple(elements))
