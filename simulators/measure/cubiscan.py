"""CubiScan dimensioner (the same frames over serial and TCP).

Measure ``<STX>M<ETX><CR><LF>`` ->
``<STX>MAC004600,L020.0,W010.0,H030.0,M,K001.23,D001.20,M,F5000,I<ETX><CR><LF>``:
``A`` ack, ``C`` origin, 6-character location, L/W/H in cm (5 characters, one decimal;
inches with units ``E``), dimension unit, ``K`` weight (6 characters, kg or lb),
``D`` dimensional weight (L x W x H / factor), weight unit, ``F`` factor (4 digits:
5000 cm3/kg metric, 0166 in3/lb English), ``I`` international. A dimension below
``min_mm`` is marked ``_`` (low). Nothing in the field: all values zero.
Failure ``<STX>MN<C|M|Z><ETX><CR><LF>`` (corner sensor, measure error, zeroing);
``Z`` (zero) -> ``<STX>ZA<ETX><CR><LF>``; anything else -> ``<STX>?N<ETX><CR><LF>``.
Faults: error -> a failure reply, unstable -> ``-`` (low precision) before the weight,
overload -> ``~`` (over range) before the weight.
"""

from __future__ import annotations

from typing import Literal

from simulators.measure.base import KG_PER_LB, MM_PER_INCH, Lookup, MeasureProtocol, Reply
from simulators.measure.faults import Draw, Fault

STX, ETX, TAIL = b"\x02", b"\x03", b"\x03\r\n"
MAX_DIM = 999.9


def frame(body: str) -> bytes:
    """``STX body ETX CR LF``."""
    return STX + body.encode("ascii") + TAIL


class CubiScan(MeasureProtocol):
    """A CubiScan 125/150 style dimensioner with a scale."""

    terminator = ETX

    def __init__(
        self,
        lookup: Lookup,
        *,
        units: Literal["M", "E"] = "M",
        location: str = "004600",
        min_mm: float = 25.0,
    ):
        super().__init__(lookup)
        if len(location) != 6:
            raise ValueError("the CubiScan location code has 6 characters")
        self.units = units
        self.location = location
        self.min_mm = min_mm
        self.factor = 5000 if units == "M" else 166

    def requests(self, buffer: bytearray) -> list[bytes]:
        """Commands are ``STX … ETX`` (the CR LF after ETX and bytes before STX are dropped)."""
        out = []
        for raw in super().requests(buffer):
            start = raw.rfind(STX)
            out.append(raw[start + 1 :] if start >= 0 else b"\x00" + raw.strip(b"\r\n"))
        return out

    def reply(self, request: bytes, draw: Draw) -> Reply | None:
        """The answer to one command."""
        if request == b"M":
            return Reply(self.measure(draw))
        if request == b"Z":
            return Reply(frame("ZA"))
        return Reply(frame("?N"))

    def _dim(self, letter: str, mm: float) -> str:
        value = mm / 10 if self.units == "M" else mm / MM_PER_INCH
        marker = "_" if 0 < mm < self.min_mm else ""
        if value > MAX_DIM:
            value, marker = MAX_DIM, "~"
        return f"{letter}{marker}{value:05.1f}"

    def measure(self, draw: Draw) -> bytes:
        """The reply to ``M`` for the parcel in the field now."""
        if Fault.ERROR in draw:
            return frame("MN" + draw.rng.choice("CMZ"))
        parcel = self.lookup()
        dims = (0, 0, 0)
        kg = 0.0
        if parcel is not None:
            dims = (parcel.length_mm, parcel.width_mm, parcel.height_mm)
            kg = parcel.weight_kg
        if self.units == "M":
            weight = kg
            dim_weight = dims[0] * dims[1] * dims[2] / 1000 / self.factor
        else:
            weight = kg / KG_PER_LB
            dim_weight = dims[0] * dims[1] * dims[2] / MM_PER_INCH**3 / self.factor
        marker = "~" if Fault.OVERLOAD in draw else "-" if Fault.UNSTABLE in draw else ""
        fields = [
            f"MAC{self.location}",
            self._dim("L", dims[0]),
            self._dim("W", dims[1]),
            self._dim("H", dims[2]),
            self.units,
            f"K{marker}{min(weight, 999.99):06.2f}",
            f"D{min(dim_weight, 999.99):06.2f}",
            self.units,
            f"F{self.factor:04d}",
            "I",
        ]
        return frame(",".join(fields))
