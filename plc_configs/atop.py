"""Atop ABLEPick pick-to-light over TCP: wire constants and a pure frame codec.

Shared by the driver (:mod:`drivers.ptl.atop`) and the controller simulator
(:mod:`simulators.ptl.atop`); it does no I/O.

A frame (the manual's "communication control block", CCB)::

    LEN_L LEN_H TYPE  R  R  R  SUBCMD [NODE] [DATA ...]
    0x0F  0x00  0x60 00 00 00  0x00    0x05   '   ' ' ' '1' '2' 0x00 ...

What was checked against the *ABLEPick Pick-to-light Communication Protocol User
Manual V2.4* (Atop, 2012; read as the page excerpts published on easymanua.ls and
manualslib) and what is assumed:

* **Length** (checked): ``LEN_L``/``LEN_H`` count the *whole* frame, the two length
  bytes included ("8 bytes + DATA length"): 0x0B/0x0C/0x0D returns are ``LEN = 08``,
  the 0x08 max-address command with three data bytes is ``0B``, the 0x09 status
  request (no node byte) is ``07``. ``LEN_H`` is always 0, so a frame is at most 255
  bytes; this codec accepts at most :data:`MAX_FRAME_LEN` (the longest frame it
  knows, the status return, is 43).
* **TYPE** (checked): 0x60 for controller port 1, 0x61 for port 2 (AT400 only).
* **Node** (checked): 0x01–0xFA, 0xFC broadcast; the status request has none.
* **Display data** (order checked, encoding assumed): ``DATA[0]`` is the leftmost
  (6th) digit, ``DATA[5]`` the rightmost (1st), ``DATA[6]`` the decimal-point bitmap
  (bit 0 = 1st digit). The manual points to a "display code for tags" table that was
  not readable; this codec assumes **ASCII** characters with **0x20 (space) for a
  blank digit**, a number right-aligned with blank leading digits.
* **Confirm/shortage return** (checked): sub-command 0x06/0x07 (0x24 with cycle edit,
  0x0F in stock mode) with ``DATA[0..6]`` = what the display showed, in the same
  encoding as the display command. The manual says "14 bytes" next to seven data
  bytes (15); both lengths are accepted and 15 is sent.
* **Device status** (checked): request 0x09 without node (7 bytes); the return has
  ``DATA[0..2]`` reserved and ``DATA[3..34]`` a bitmap, bit 0 of the first byte =
  node 1, **1 = not connected**.
* **Colour** (checked): sub-command 0x1F with ``DATA[0] = 0x00`` (LED colour item),
  ``DATA[1]`` 0 red, 1 green, 2 orange, 3 off (a ``DATA[2] = 0x55`` would store it in
  EEPROM; never sent).
* **Press interval** (checked): a tag takes a second press only after its delay time,
  ``0.4 s × 2`` = 0.8 s by default.
* **TCP port** (assumed): the manual does not say; :data:`DEFAULT_TCP_PORT` = 4660
  (0x1234, the usual setting of Atop's serial/TCP servers). The line config names the
  port in its URL anyway.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

DEFAULT_TCP_PORT = 4660
"""Assumed default listening port of an AT400/AT500 (not in the protocol manual)."""

MSG_TYPE_PORT1 = 0x60
MSG_TYPE_PORT2 = 0x61
MSG_TYPES = frozenset({MSG_TYPE_PORT1, MSG_TYPE_PORT2})

NODE_MIN = 0x01
NODE_MAX = 0xFA
BROADCAST = 0xFC

HEADER_LEN = 7
"""LEN_L, LEN_H, TYPE, three reserved bytes, SUBCMD; the node byte follows."""
MAX_FRAME_LEN = 64
DIGITS = 6
BLANK = 0x20
MAX_VALUE = 999_999
STATUS_BITMAP_OFFSET = 3
STATUS_BITMAP_BYTES = 32

PRESS_INTERVAL_S = 0.8
"""A tag's default delay between two valid presses (0.4 s × 2)."""

# Host -> module sub-commands.
DISPLAY = 0x00
CLEAR = 0x01
LED_ON = 0x02
LED_OFF = 0x03
BUZZER_ON = 0x04
BUZZER_OFF = 0x05
MAX_ADDRESS = 0x08
DEVICE_STATUS = 0x09
FLASH_DISPLAY = 0x10
FLASH_LED = 0x11
FLASH_INTERVAL = 0x12
SHOW_ADDRESS = 0x13
RESET = 0x14
DISABLE_SHORTAGE = 0x15
ENABLE_SHORTAGE = 0x16
EMULATE_CONFIRM = 0x17
DISABLE_CONFIRM = 0x1B
ENABLE_CONFIRM = 0x1C
EDITABLE_DIGITS = 0x1E
CONFIG = 0x1F
CONFIG_COLOUR = 0x00

# Module -> host sub-commands (0x09 answers with the same number).
CONFIRM = 0x06
SHORTAGE = 0x07
DEVICE_TIMEOUT = 0x0A
MALFUNCTION = 0x0B
ILLEGAL_COMMAND = 0x0C
BUTTONS_LOCKED = 0x0D
STOCK_QUANTITY = 0x0F
CONFIRM_CYCLE_EDIT = 0x24
RESET_OK = 0xFC

COLOUR_CODES = {"red": 0, "green": 1, "orange": 2, "off": 3}
COLOUR_NAMES = {code: name for name, code in COLOUR_CODES.items()}

FAULT_DETAILS = {
    MALFUNCTION: "malfunction",
    ILLEGAL_COMMAND: "illegal_command",
    BUTTONS_LOCKED: "buttons_locked",
}

_DISPLAY_LENS = frozenset({8 + DIGITS, 8 + DIGITS + 1})
EXPECTED_LENGTHS: dict[int, frozenset[int]] = {
    DISPLAY: _DISPLAY_LENS,
    FLASH_DISPLAY: _DISPLAY_LENS,
    CONFIRM: _DISPLAY_LENS,
    SHORTAGE: _DISPLAY_LENS,
    STOCK_QUANTITY: _DISPLAY_LENS,
    CONFIRM_CYCLE_EDIT: _DISPLAY_LENS,
    DEVICE_STATUS: frozenset({HEADER_LEN, 8 + STATUS_BITMAP_OFFSET + STATUS_BITMAP_BYTES}),
    CLEAR: frozenset({8}),
    FLASH_LED: frozenset({8}),
    DEVICE_TIMEOUT: frozenset({8}),
    MALFUNCTION: frozenset({8}),
    ILLEGAL_COMMAND: frozenset({8}),
    BUTTONS_LOCKED: frozenset({8}),
    RESET_OK: frozenset(range(8, MAX_FRAME_LEN + 1)),  # AT7xx add their detail information
    CONFIG: frozenset({10, 11}),
}
"""Frame lengths (LEN) each known sub-command may have, both directions; others: any."""


@dataclass(frozen=True, slots=True)
class Frame:
    """One decoded frame; ``node`` is None for the status request (no node byte)."""

    msg_type: int
    subcmd: int
    node: int | None
    data: bytes = b""

    def encode(self) -> bytes:
        """The frame's bytes, length prefix included."""
        return encode_frame(self.subcmd, self.node, self.data, msg_type=self.msg_type)


@dataclass(frozen=True, slots=True)
class Malformed:
    """Bytes the decoder skipped, with why (a bad header or a length its sub-command
    never has); the stream goes on after them."""

    raw: bytes
    reason: str


def encode_frame(
    subcmd: int, node: int | None, data: bytes = b"", *, msg_type: int = MSG_TYPE_PORT1
) -> bytes:
    """``[LEN_L, LEN_H, TYPE, 0, 0, 0, SUBCMD, NODE, DATA…]``; LEN counts every byte."""
    body = bytes([msg_type, 0, 0, 0, subcmd]) + (b"" if node is None else bytes([node])) + data
    length = len(body) + 2
    if length > MAX_FRAME_LEN:
        raise ValueError(f"Atop frame of {length} bytes is longer than {MAX_FRAME_LEN}")
    return bytes([length, 0]) + body


def digits_data(value: int, decimal_points: int = 0) -> bytes:
    """DATA[0..6] showing ``value`` right-aligned, blank leading digits."""
    if not 0 <= value <= MAX_VALUE:
        raise ValueError(f"a display shows 0 to {MAX_VALUE}, not {value}")
    return f"{value:>{DIGITS}}".encode("ascii") + bytes([decimal_points & 0x3F])


def parse_digits(data: bytes) -> int | None:
    """The number in DATA[0..5] (blanks ignored); None when blank or not a number."""
    text = data[:DIGITS].decode("latin-1").strip(" \x00")
    return int(text) if text.isdigit() and text.isascii() else None


def status_bitmap_data(offline: Iterable[int]) -> bytes:
    """DATA of a 0x09 return: three reserved bytes, then a bit per node (1 = not connected)."""
    bitmap = bytearray(STATUS_BITMAP_BYTES)
    for node in offline:
        if 1 <= node <= STATUS_BITMAP_BYTES * 8:
            bitmap[(node - 1) // 8] |= 1 << ((node - 1) % 8)
    return bytes(STATUS_BITMAP_OFFSET) + bytes(bitmap)


def parse_status_bitmap(data: bytes) -> frozenset[int]:
    """Nodes a 0x09 return reports as not connected."""
    bitmap = data[STATUS_BITMAP_OFFSET:]
    return frozenset(
        byte_index * 8 + bit + 1
        for byte_index, byte in enumerate(bitmap)
        for bit in range(8)
        if byte >> bit & 1
    )


class FrameDecoder:
    """Streaming decoder: feed any chunks, get complete frames in order.

    A header is plausible when ``LEN`` is 7 to :data:`MAX_FRAME_LEN`, ``LEN_H`` is 0 and
    ``TYPE`` is one of ``msg_types``. Anything else is skipped a byte at a time until a
    plausible header starts; the skipped run is reported once as :class:`Malformed`.
    A complete frame whose length its sub-command never has is reported whole as
    :class:`Malformed` too. The output depends only on the bytes, never on how they
    were chunked.
    """

    def __init__(self, msg_types: Iterable[int] = MSG_TYPES):
        self.msg_types = frozenset(msg_types)
        self._buffer = bytearray()
        self._skipped = bytearray()
        self.garbage_bytes = 0

    def reset(self) -> None:
        """Drop a partial frame and pending garbage (a new connection)."""
        self._buffer.clear()
        self._skipped.clear()

    def pending(self) -> bytes:
        """Bytes held for an incomplete frame."""
        return bytes(self._buffer)

    def _plausible(self) -> bool:
        b = self._buffer
        return HEADER_LEN <= b[0] <= MAX_FRAME_LEN and b[1] == 0 and b[2] in self.msg_types

    def _flush_skipped(self, out: list[Frame | Malformed]) -> None:
        if self._skipped:
            out.append(Malformed(bytes(self._skipped), "not a frame header"))
            self._skipped.clear()

    def feed(self, data: bytes) -> list[Frame | Malformed]:
        """Frames (and reports of skipped bytes) completed by ``data``."""
        self._buffer += data
        out: list[Frame | Malformed] = []
        while len(self._buffer) >= 3:
            if not self._plausible():
                self._skipped.append(self._buffer.pop(0))
                self.garbage_bytes += 1
                continue
            self._flush_skipped(out)
            length = self._buffer[0]
            if len(self._buffer) < length:
                break
            raw = bytes(self._buffer[:length])
            del self._buffer[:length]
            out.append(self._frame(raw))
        return out

    @staticmethod
    def _frame(raw: bytes) -> Frame | Malformed:
        length, subcmd = len(raw), raw[6]
        allowed = EXPECTED_LENGTHS.get(subcmd)
        if allowed is not None and length not in allowed:
            return Malformed(raw, f"sub-command 0x{subcmd:02X} never has {length} bytes")
        node = raw[7] if length > HEADER_LEN else None
        return Frame(raw[2], subcmd, node, raw[8:])
