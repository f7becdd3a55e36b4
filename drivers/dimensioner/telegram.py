"""Configurable delimited telegram of dimensioning tunnels (SICK, Datalogic …).

A :class:`~plc_configs.telegram.TelegramFormat` says what the telegram looks like;
:func:`parse_telegram` turns one frame into :class:`Dimensions`, :func:`build_telegram`
(pure, for simulators and tests) makes a frame from field texts with the same rules.

Frame: ``start`` + fields joined by ``separator`` + ``end`` [+ BCC]. Strings of the
format are bytes one-to-one (latin-1).

BCC rule (``bcc == "xor"``): exactly one byte follows ``end``; it is the XOR of every
byte after ``start`` up to and including the last byte of ``end`` (all bytes from the
first when ``start`` is empty). ``start`` itself and the BCC byte are not included.
For ``\\x02AB\\x03`` the BCC is ``ord("A") ^ ord("B") ^ 0x03``. The rule is
:func:`plc_configs.telegram.bcc_xor`, shared with the simulators (which may not import
drivers); it is re-exported here.

Numbers are unsigned decimals, optionally zero or space padded; without a decimal point
the last ``decimals`` digits of a field are the fraction. Values are converted exactly
(Decimal) and never re-rounded; a garbled number raises ProtocolError naming the field
and its text.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from decimal import Decimal

from drivers.dimensioner.base import Dimensions
from drivers.dimensioner.telegram_fields import interpret_fields
from drivers.dimensioner.units import exact
from drivers.errors import ProtocolError
from drivers.transport import DelimitedFramer
from drivers.transport.device import LinkDevice
from plc_configs.telegram import TelegramFormat, bcc_xor

log = logging.getLogger(__name__)

__all__ = [
    "TelegramDimensioner",
    "bcc_xor",
    "build_telegram",
    "format_number",
    "framing",
    "parse_telegram",
]

_NUMERIC = re.compile(r"\d+(?:\.\d+)?", re.ASCII)


def framing(fmt: TelegramFormat) -> tuple[bytes, bytes, int]:
    """``(start, end, trailer)`` bytes of ``fmt``: trailer is 1 with an XOR BCC, else 0."""
    return fmt.start.encode("latin-1"), fmt.end.encode("latin-1"), 1 if fmt.bcc == "xor" else 0


def format_number(value: Decimal | int | str, decimals: int = 0, width: int | None = None) -> str:
    """``value`` as a field text with ``decimals`` implied decimals, zero padded to ``width``.

    ``format_number(Decimal("321.5"), 1, 5) == "03215"``. ValueError when the value is
    negative or has more decimals than the field (it would need rounding).
    """
    number = Decimal(value)
    if not number.is_finite() or number < 0:
        raise ValueError(f"not an unsigned number: {value!r}")
    try:
        with exact():
            scaled = number.scaleb(decimals)
    except ArithmeticError as err:
        raise ValueError(f"{value!r} does not fit a telegram field") from err
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{value!r} has more than {decimals} decimals")
    return str(int(scaled)).rjust(width or 0, "0")


def build_telegram(fmt: TelegramFormat, values: Mapping[str, str]) -> bytes:
    """The frame of ``fmt`` carrying ``values`` (field name → text; absent fields are empty).

    Numeric texts shorter than their field's width are zero padded on the left (never
    truncated); other texts are sent as given. ``values["ignore"]`` fills every ignore
    field. ValueError for unknown field names, for a text holding the separator, start
    or end, and for characters outside latin-1.
    """
    unknown = sorted(set(values) - set(fmt.field_names()))
    if unknown:
        raise ValueError(f"no such fields in the telegram format: {unknown}")
    texts = []
    for field in fmt.fields:
        text = values.get(field.name, "")
        if fmt.separator in text:
            raise ValueError(f"field {field.name}: {text!r} holds the separator")
        if field.width and _NUMERIC.fullmatch(text):
            text = text.rjust(field.width, "0")
        texts.append(text)
    body = fmt.separator.join(texts)
    for marker, what in ((fmt.start, "start"), (fmt.end, "end")):
        if marker and marker in body:
            raise ValueError(f"the fields hold the frame {what} {marker!r}: {body!r}")
    start, end, trailer = framing(fmt)
    frame = start + body.encode("latin-1") + end
    return frame + (bytes([bcc_xor(frame, start)]) if trailer else b"")


def parse_telegram(
    frame: bytes, fmt: TelegramFormat, device: str = "dimensioner", address: str = ""
) -> Dimensions:
    """The ``Dimensions`` of one frame (start, fields, end and BCC, as the framer gives it).

    ProtocolError when the frame does not follow ``fmt``: wrong start or end, BCC
    mismatch, wrong field count, garbled number or unit (naming the field and its text).
    """
    raw = frame.decode("latin-1")

    def bad(why: str) -> ProtocolError:
        return ProtocolError(device, address, f"{why} in telegram {raw!r}")

    start, end, trailer = framing(fmt)
    content_end = len(frame) - trailer
    if len(frame) < len(start) + len(end) + trailer or not frame.startswith(start):
        raise bad(f"no frame start {fmt.start!r}")
    if not frame[:content_end].endswith(end):
        raise bad(f"no frame end {fmt.end!r}" + (" before the BCC" if trailer else ""))
    if trailer:
        computed = bcc_xor(frame[:content_end], start)
        if frame[-1] != computed:
            raise bad(f"BCC mismatch: got 0x{frame[-1]:02X}, computed 0x{computed:02X}")
    texts = frame[len(start) : content_end - len(end)].decode("latin-1").split(fmt.separator)
    if len(texts) != len(fmt.fields):
        raise bad(f"{len(texts)} fields, the format has {len(fmt.fields)}")
    named = {f.name: (f, t) for f, t in zip(fmt.fields, texts, strict=True) if f.name != "ignore"}
    return interpret_fields(named, fmt, raw, bad)


class TelegramDimensioner(LinkDevice):
    """A tunnel speaking ``fmt`` at a transport URL (``tcp://H:P``, a serial path …).

    With ``fmt.trigger`` set, :meth:`measure` sends it (latin-1, as written) and parses
    the reply; without, it waits for the next telegram the device pushes. Either way,
    telegrams received before the call are discarded (counted in ``stale_frames``).
    """

    def __init__(self, name: str, url: str, fmt: TelegramFormat, timeout_s: float = 0.5):
        start, end, trailer = framing(fmt)
        super().__init__(
            name, url, DelimitedFramer(end=end, start=start, trailer=trailer), timeout_s
        )
        self.fmt = fmt
        self.stale_frames = 0

    async def measure(self) -> Dimensions:
        """Trigger (or wait for) the next telegram and parse it; DeviceTimeout if none comes."""
        stale = self.link.drain_frames()
        if stale:
            self.stale_frames += len(stale)
            log.info("%s (%s): discarded %d stale telegram(s)", self.name, self.address, len(stale))
        if self.fmt.trigger is not None:
            frame = await self.link.transact(self.fmt.trigger.encode("latin-1"), self.timeout_s)
        else:
            frame = await self.link.read_frame(self.timeout_s)
        return parse_telegram(frame, self.fmt, self.name, self.address)
