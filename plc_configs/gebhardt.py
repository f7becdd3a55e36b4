"""Gebhardt-like AS/RS telegrams (``/Seq:…/…/End/``): a pure codec and a stream splitter.

Shared by the driver (:mod:`drivers.asrs.gebhardt`) and the simulator
(:mod:`simulators.asrs`); it does no I/O. ASCII, one telegram after the other::

    /Seq:001/Send:WCS/Rec:CRA-01/Time:20240501120000/Function:Store/Tord:T0000001/HU:W1-C0003/Src:IP-01/End/
    /Seq:001/Send:CRA-01/Rec:WCS/Time:20240501120000/>/End/          (the ack: same Seq)

From ``../shared/PROTOCOLS.md`` (the only source: Gebhardt's own telegram
specification is not public): the header fields ``Seq``, ``Send``, ``Rec``, ``Time``;
the ack body ``>``; a body of ``key:value`` fields (``Function:Store/HU:…/Src:…/Dest:…/
Len:600/Wid:400/Hgt:300/Wgt:5000/WgtUnit:g``); the events ``PosPass``, ``ZoneEntry``,
``Arrival``, ``TordDelete``; a lost ack means the same Seq is sent again.

LaneSort's definitions (assumed, documented here as the contract the simulator and
the driver share):

* ``Seq`` is three digits, 001 to 999 then 001 again, counted by each sender;
  ``Time`` is ``yyyyMMddHHmmss``; values never contain ``/``.
* Host → crane: ``Function:Store`` (``Tord`` order id, ``HU``, ``Src`` the in-port,
  optional ``Dest`` slot, optional dimensions) and ``Function:Retrieve`` (``Tord``,
  ``HU``, ``Dest`` the out-port).
* Crane → host events: ``Arrival`` (``Tord``, ``HU``, ``Loc``: the move is done),
  ``PosPass``/``ZoneEntry`` (``HU``, ``Loc``/``Zone``: on the way), ``TordDelete``
  (``Tord``, ``HU``, ``Code``, ``Text``: the crane deleted the order),
  ``Refused`` (``Tord``, ``HU``, ``Code``, ``Text``: the order is not executed, e.g.
  location occupied or unknown handling unit) and ``Fault`` (``Code``, ``Text``,
  ``State:On``/``Off``: a crane fault raised or cleared). Codes: :data:`ERROR_TEXTS`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from plc_configs.stream_buffer import StreamBuffer

START = b"/Seq:"
END = b"/End/"
ACK_BODY = ">"
SEQ_MAX = 999
MAX_LENGTH = 1024
"""The longest telegram the splitter accepts."""
DATE_FORMAT = "%Y%m%d%H%M%S"
HEADER_KEYS = ("Seq", "Send", "Rec", "Time")
FUNCTIONS = frozenset({"Store", "Retrieve"})
EVENTS = frozenset({"Arrival", "PosPass", "ZoneEntry", "TordDelete", "Refused", "Fault"})

CODE_CRANE_FAULT = "101"
CODE_LOCATION_OCCUPIED = "102"
CODE_UNKNOWN_HU = "103"
CODE_NO_FREE_LOCATION = "104"
CODE_ALREADY_STORED = "105"
ERROR_TEXTS = {
    CODE_CRANE_FAULT: "crane fault",
    CODE_LOCATION_OCCUPIED: "location occupied",
    CODE_UNKNOWN_HU: "unknown handling unit",
    CODE_NO_FREE_LOCATION: "no free location",
    CODE_ALREADY_STORED: "handling unit already stored",
}

_KEY = re.compile(r"[A-Za-z][A-Za-z0-9]*\Z")


class GebhardtError(ValueError):
    """A byte string that is not a valid telegram."""


def stamp(when: datetime) -> str:
    """``when`` as a ``Time`` value."""
    return when.strftime(DATE_FORMAT)


def next_seq(seq: int) -> int:
    """The sequence number after ``seq`` (999 → 1)."""
    return 1 if seq >= SEQ_MAX else seq + 1


def _check_value(key: str, value: str) -> None:
    if "/" in value or not value.isascii() or not value.isprintable():
        raise GebhardtError(f"{key}: a value is printable ASCII without '/', got {value!r}")


@dataclass(frozen=True, slots=True)
class GebhardtTelegram:
    """One telegram: header and either the ack (``ack``) or ``body`` fields in order."""

    seq: int
    sender: str
    receiver: str
    time: str
    body: tuple[tuple[str, str], ...] = ()
    ack: bool = False

    def get(self, key: str, default: str | None = None) -> str | None:
        """The value of body field ``key`` (the first, if repeated)."""
        for k, v in self.body:
            if k == key:
                return v
        return default

    @property
    def function(self) -> str | None:
        """``Function`` (host orders) or None."""
        return self.get("Function")

    @property
    def event(self) -> str | None:
        """``Event`` (crane reports) or None."""
        return self.get("Event")

    def ack_for(self, time: str) -> GebhardtTelegram:
        """The ack the receiver sends: same Seq, sender and receiver swapped."""
        return GebhardtTelegram(self.seq, self.receiver, self.sender, time, ack=True)

    def same_message(self, other: GebhardtTelegram) -> bool:
        """Same Seq, sender and content (``Time`` aside): a retransmission of ``other``."""
        return (self.seq, self.sender, self.body, self.ack) == (
            other.seq,
            other.sender,
            other.body,
            other.ack,
        )


def message(
    seq: int, sender: str, receiver: str, time: str, **fields: str | int | None
) -> GebhardtTelegram:
    """A telegram with body ``fields`` in the order given (None values are left out)."""
    body = tuple((k, str(v)) for k, v in fields.items() if v is not None)
    return GebhardtTelegram(seq, sender, receiver, time, body)


def encode(telegram: GebhardtTelegram) -> bytes:
    """The telegram's bytes; GebhardtError if a value cannot be sent."""
    if not 1 <= telegram.seq <= SEQ_MAX:
        raise GebhardtError(f"Seq must be 1 to {SEQ_MAX}, got {telegram.seq}")
    header = (("Send", telegram.sender), ("Rec", telegram.receiver), ("Time", telegram.time))
    parts = [f"Seq:{telegram.seq:03d}"]
    for key, value in header:
        if not value:
            raise GebhardtError(f"{key} is empty")
        _check_value(key, value)
        parts.append(f"{key}:{value}")
    if telegram.ack:
        parts.append(ACK_BODY)
    else:
        if not telegram.body:
            raise GebhardtError("a telegram that is not an ack needs a body")
        for key, value in telegram.body:
            if not _KEY.match(key) or key in HEADER_KEYS or key == "End":
                raise GebhardtError(f"bad body key {key!r}")
            _check_value(key, value)
            parts.append(f"{key}:{value}")
    text = "/" + "/".join(parts) + "/End/"
    if len(text) > MAX_LENGTH:
        raise GebhardtError(f"telegram of {len(text)} characters, at most {MAX_LENGTH}")
    return text.encode("ascii")


def decode(frame: bytes) -> GebhardtTelegram:
    """Parse one telegram; GebhardtError naming what is wrong."""
    try:
        text = frame.decode("ascii")
    except UnicodeDecodeError as err:
        raise GebhardtError(f"not ASCII at byte {err.start}") from None
    if not text.startswith("/Seq:") or not text.endswith("/End/"):
        raise GebhardtError(f"expected /Seq:…/End/, got {text[:40]!r}")
    if not text.isprintable():
        raise GebhardtError("control characters in the telegram")
    parts = text[1:-5].split("/")
    if len(parts) < 5:
        raise GebhardtError("expected Seq, Send, Rec, Time and a body")
    header: dict[str, str] = {}
    for want, part in zip(HEADER_KEYS, parts[:4], strict=True):
        key, colon, value = part.partition(":")
        if key != want or not colon or not value:
            raise GebhardtError(f"expected {want}:… in the header, got {part!r}")
        header[key] = value
    seq = header["Seq"]
    if len(seq) != 3 or not seq.isdigit() or not 1 <= int(seq) <= SEQ_MAX:
        raise GebhardtError(f"Seq must be three digits 001-999, got {seq!r}")
    rest = parts[4:]
    common = (int(seq), header["Send"], header["Rec"], header["Time"])
    if rest == [ACK_BODY]:
        return GebhardtTelegram(*common, ack=True)
    body = []
    for part in rest:
        key, colon, value = part.partition(":")
        if not colon or not _KEY.match(key) or key in HEADER_KEYS:
            raise GebhardtError(f"expected key:value in the body, got {part!r}")
        body.append((key, value))
    return GebhardtTelegram(*common, tuple(body))


class GebhardtSplitter(StreamBuffer):
    """Cut a byte stream into telegrams ``/Seq:`` … ``/End/`` whatever chunks it arrives
    in; bytes outside a telegram, or a run longer than :data:`MAX_LENGTH`, are skipped
    and counted. Implements the framer protocol of :mod:`drivers.transport.link`.
    """

    def __init__(self, max_length: int = MAX_LENGTH):
        super().__init__(max_length)

    def feed(self, data: bytes) -> list[bytes]:
        """Every telegram that ``data`` completes, in order."""
        self._buf += data
        frames: list[bytes] = []
        while True:
            start = self._buf.find(START)
            if start < 0:
                keep = next(
                    (n for n in range(len(START) - 1, 0, -1) if self._buf.endswith(START[:n])), 0
                )
                self._skip(len(self._buf) - keep)
                return frames
            self._skip(start)
            end = self._buf.find(END, len(START) - 1)
            restart = self._buf.find(START, 1)
            if restart >= 0 and (end < 0 or restart < end):
                self._skip(restart)  # a new telegram began before this one ended
                continue
            if end < 0:
                if len(self._buf) > self.max_length:
                    self._skip(len(self._buf) - (len(START) - 1))
                return frames
            total = end + len(END)
            if total > self.max_length:
                self._skip(total)
                continue
            frames.append(bytes(self._buf[:total]))
            del self._buf[:total]
