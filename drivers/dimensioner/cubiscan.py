"""CubiScan dimensioner: the same STX … ETX CR LF frames over serial and TCP.

Measure ``<STX>M<ETX><CR><LF>``; success reply
``<STX>MAC004600,L020.0,W010.0,H030.0,M,K500.50,D510.50,M,F0010,I<ETX><CR><LF>``:
``M`` echo, ``A`` ack, origin ``C``/``H``, 6-char location, L/W/H, dimension unit
(``E`` inches, ``M`` centimetres), ``K`` weight, ``D`` dimensional weight, weight unit
(``E`` lb, ``M`` kg), ``F`` factor (4 digits), ``D``/``I`` domestic/international.

A value may carry a marker before its digits: ``_`` low, ``-`` low precision, ``~``
over range. The number is kept, a flag such as ``length:over_range`` is added and the
measurement is not legal for trade.

``<STX>MN[origin]<reason><ETX><CR><LF>`` (``MNC``, ``MNCZ``: the last letter counts) is
an explicit no-dimension result, not an exception: ``C`` corner sensor, ``M`` measure
error, ``Z`` zeroing. ``<STX>?N<ETX><CR><LF>`` (unknown command) raises DeviceFault.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from decimal import Decimal

from drivers.dimensioner.base import Dimensions
from drivers.dimensioner.units import BadNumber, parse_number, to_kg, to_mm
from drivers.errors import DeviceFault, ProtocolError
from drivers.transport import DelimitedFramer
from drivers.transport.device import LinkDevice

log = logging.getLogger(__name__)

STX = b"\x02"
END = b"\x03\r\n"
MEASURE = STX + b"M" + END
"""The measure command."""

NO_DIMENSION_REASONS = {"C": "corner_sensor", "M": "measure_error", "Z": "zeroing"}
"""Nack reason letter → ``Dimensions.no_dimension_reason``."""

MARKERS = {"_": "low", "-": "low_precision", "~": "over_range"}
"""Value prefix → flag suffix (``length:low`` …)."""

_LENGTH_UNITS = {"E": "in", "M": "cm"}
_WEIGHT_UNITS = {"E": "lb", "M": "kg"}
_NACK = re.compile(r"MN([CH]?)([A-Z])")
_HEAD = re.compile(r"MA([CH])(.{6})")
_VALUE = re.compile(r"([_~-]?)(\d{1,4}(?:\.\d{1,3})?)", re.ASCII)
_Bad = Callable[[str], ProtocolError]


def parse_cubiscan_reply(frame: bytes, device: str = "cubiscan", address: str = "") -> Dimensions:
    """The ``Dimensions`` of one reply frame (STX … ETX CR LF, as the framer returns it).

    Raises DeviceFault for ``?N`` (unknown command) and ProtocolError for anything
    that is not a measure reply, naming the part that is wrong.
    """
    raw = frame.decode("latin-1")

    def bad(why: str) -> ProtocolError:
        return ProtocolError(device, address, f"{why} in CubiScan reply {raw!r}")

    if not (frame.startswith(STX) and frame.endswith(END)) or len(frame) < len(STX + END):
        raise bad("not an STX … ETX CR LF frame")
    try:
        body = frame[len(STX) : -len(END)].decode("ascii")
    except UnicodeDecodeError:
        raise bad("non-ASCII byte") from None
    if body == "?N":
        raise DeviceFault(device, address, f"unknown command (reply {raw!r})")
    nack = _NACK.fullmatch(body)
    if nack is not None:
        reason = NO_DIMENSION_REASONS.get(nack.group(2))
        if reason is None:
            raise bad(f"unknown nack reason {nack.group(2)!r}")
        return Dimensions(
            None, None, None, legal_for_trade=False, raw=raw, no_dimension_reason=reason
        )
    return _parse_ack(body, raw, bad)


def _parse_ack(body: str, raw: str, bad: _Bad) -> Dimensions:
    parts = body.split(",")
    if len(parts) != 10:
        raise bad(f"expected 10 comma separated parts, got {len(parts)}")
    head, length, width, height, dim_unit, weight, dim_weight, weight_unit, factor, zone = parts
    if _HEAD.fullmatch(head) is None:
        raise bad(f"bad header {head!r} (want MA, origin C/H, 6-char location)")
    if dim_unit not in _LENGTH_UNITS:
        raise bad(f"bad dimension unit {dim_unit!r}")
    if weight_unit not in _WEIGHT_UNITS:
        raise bad(f"bad weight unit {weight_unit!r}")
    if re.fullmatch(r"F\d{4}", factor) is None:
        raise bad(f"bad factor {factor!r}")
    if zone not in ("D", "I"):
        raise bad(f"bad domestic/international flag {zone!r}")
    flags: list[str] = []
    lengths = [
        to_mm(_value(text, letter, name, flags, bad), _LENGTH_UNITS[dim_unit])
        for text, letter, name in (
            (length, "L", "length"),
            (width, "W", "width"),
            (height, "H", "height"),
        )
    ]
    kg = to_kg(_value(weight, "K", "weight", flags, bad), _WEIGHT_UNITS[weight_unit])
    _value(dim_weight, "D", "dim_weight", flags, bad)
    return Dimensions(
        lengths[0],
        lengths[1],
        lengths[2],
        legal_for_trade=not flags,
        raw=raw,
        weight_kg=kg,
        flags=tuple(flags),
    )


def _value(text: str, letter: str, name: str, flags: list[str], bad: _Bad) -> Decimal:
    """The number of ``<letter>[marker]<digits>``; a marker appends ``name:<marker>``."""
    match = _VALUE.fullmatch(text[1:]) if text[:1] == letter else None
    if match is None:
        raise bad(f"bad {name} {text!r} (want {letter} then a number)")
    if match.group(1):
        flags.append(f"{name}:{MARKERS[match.group(1)]}")
    try:
        return parse_number(match.group(2))
    except BadNumber as err:
        raise bad(f"bad {name} {text!r}: {err}") from None


class CubiScanDimensioner(LinkDevice):
    """A CubiScan at a transport URL (``tcp://H:P``, ``/dev/ttyUSB0?baud=9600`` …)."""

    def __init__(self, name: str, url: str, timeout_s: float = 0.5):
        super().__init__(name, url, DelimitedFramer(end=END, start=STX), timeout_s)

    async def measure(self) -> Dimensions:
        """Send ``M`` and parse the reply; replies left over from earlier are discarded."""
        stale = self.link.drain_frames()
        if stale:
            log.info("%s (%s): discarded %d stale frame(s)", self.name, self.address, len(stale))
        reply = await self.link.transact(MEASURE, self.timeout_s)
        return parse_cubiscan_reply(reply, self.name, self.address)
