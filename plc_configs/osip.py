"""OpenWMS OSIP telegrams (AS/RS, conveyor PLCs): a pure codec and a stream splitter.

Shared by the driver (:mod:`drivers.asrs.osip`) and the simulator
(:mod:`simulators.asrs`); it does no I/O.

A telegram is fixed length (default 160 characters), ASCII, right-padded with ``*``
and followed by CRLF::

    ###00160SPS03MFC__00001REQ_000000000S0000004711FGINIPNT000100000000???…0000009020131123225959***…\\r\\n
    ^^^ LEN  SEND RECV SEQ  TYPE barcode 20        actual 20           target 20  err 8  date 14

Checked against ``../shared/PROTOCOLS.md`` ("AS/RS telegrams") and OpenWMS
``org.openwms.common.comm`` (``ResponseMessageSerializer``: RES_ = header with the
REQ_'s SEQ + 1, then barcode, actual, target, target location group, error code, date;
the whole string right-padded with the filler to the configured length):

* header 23 = ``###`` + LEN 5 + SEND 5 + RECV 5 + SEQ 5 (ids right-padded with ``_``);
* payload widths per type (:data:`LAYOUTS`); a location is 20 characters, five
  4-character parts (shown here as ``FGIN/IPNT/0001/0000/0000``); a field of only
  ``?`` or ``*`` means "none"; dates ``yyyyMMddHHmmss``; ``00000010`` = unknown type.

Assumed (not in the sources read): a barcode is right-aligned and left-padded with
``0`` to 20 (as in the PROTOCOLS.md example), so ids that begin with ``0`` lose those
zeros on decoding (compare with :func:`barcode_key`); a location group is
left-aligned and right-padded with ``*``; SEQ wraps from 99999 to 0. Newer OpenWMS
versions also know an ``ACK_`` telegram; PROTOCOLS.md says OSIP has none, and this
codec does not speak it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from plc_configs.stream_buffer import StreamBuffer

SYNC_FIELD = "###"
HEADER_LEN = 23
TYPE_LEN = 4
DEFAULT_LENGTH = 160
FILLER = "*"
CRLF = b"\r\n"
ID_LEN = 5
ID_PAD = "_"
SEQ_MOD = 100_000
NO_ERROR = "00000000"
DATE_FORMAT = "%Y%m%d%H%M%S"
MAX_LENGTH = 9999
"""The longest telegram the splitter accepts (LEN is 5 digits; nobody sends more)."""

LAYOUTS: dict[str, tuple[tuple[str, int], ...]] = {
    "REQ_": (("barcode", 20), ("actual", 20), ("target", 20), ("error", 8), ("date", 14)),
    "RES_": (
        ("barcode", 20),
        ("actual", 20),
        ("target", 20),
        ("target_group", 20),
        ("error", 8),
        ("date", 14),
    ),
    "UPD_": (("barcode", 20), ("actual", 20), ("error", 8), ("date", 14)),
    "LOCU": (("group", 20), ("location", 20), ("error", 8), ("date", 14)),
    "SYSU": (("group", 20), ("error", 8), ("date", 14)),
    "ERR_": (("group", 20), ("error", 8), ("date", 14)),
    "SYNQ": (("date", 14),),
    "SYNC": (("date", 14),),
}
"""Payload fields after TYPE, in order, with their widths."""

LOCATIONS = frozenset({"actual", "target", "location"})
GROUPS = frozenset({"target_group", "group"})

# Error codes: 00000010 is OSIP's; the others are LaneSort's AS/RS codes (assumed).
ERR_UNKNOWN_TYPE = "00000010"
ERR_CRANE_FAULT = "00000101"
ERR_LOCATION_OCCUPIED = "00000102"
ERR_UNKNOWN_HU = "00000103"
ERR_NO_FREE_LOCATION = "00000104"
ERR_ALREADY_STORED = "00000105"
ERROR_TEXTS = {
    ERR_UNKNOWN_TYPE: "unknown message type",
    ERR_CRANE_FAULT: "crane fault",
    ERR_LOCATION_OCCUPIED: "location occupied",
    ERR_UNKNOWN_HU: "unknown handling unit",
    ERR_NO_FREE_LOCATION: "no free location",
    ERR_ALREADY_STORED: "handling unit already stored",
}


class OsipError(ValueError):
    """A byte string that is not a valid OSIP telegram."""


class OsipUnknownType(OsipError):
    """A well-formed header with a TYPE this codec does not know (answer with ERR_)."""

    def __init__(self, message: str, sender: str, receiver: str, seq: int, kind: str):
        super().__init__(message)
        self.sender, self.receiver, self.seq, self.kind = sender, receiver, seq, kind


def error_text(code: str) -> str:
    """A readable text for an error code (the code itself when unknown)."""
    return ERROR_TEXTS.get(code, f"error {code}")


def stamp(when: datetime) -> str:
    """``when`` as an OSIP date, ``yyyyMMddHHmmss``."""
    return when.strftime(DATE_FORMAT)


def pad_id(ident: str) -> str:
    """A sender/receiver id right-padded with ``_`` to 5 (``MFC`` → ``MFC__``)."""
    if not 0 < len(ident) <= ID_LEN or not ident.isascii() or not ident.isprintable():
        raise OsipError(f"an id is 1 to 5 printable ASCII characters, got {ident!r}")
    return ident.ljust(ID_LEN, ID_PAD)


def barcode_key(hu: str) -> str:
    """What survives a round trip of ``hu`` through the barcode field (for comparing)."""
    return hu.lstrip("0")


def location_field(location: str | None) -> str:
    """A location as its 20-character field: ``None`` → ``?`` × 20; ``A/B/C/D/E`` or 20
    characters (each of the five parts 4 characters)."""
    if location is None:
        return "?" * 20
    parts = (
        location.split("/") if "/" in location else [location[i : i + 4] for i in (0, 4, 8, 12, 16)]
    )
    text = "".join(parts)
    if len(parts) != 5 or any(len(p) != 4 for p in parts) or len(text) != 20:
        raise OsipError(f"a location is five 4-character parts, got {location!r}")
    _check_text(text, "location")
    return text


def normalise_location(location: str | None) -> str | None:
    """``location`` in the decoded form ``AAAA/BBBB/CCCC/DDDD/EEEE`` (None stays None)."""
    return None if location is None else _decode_location(location_field(location))


def _decode_location(field: str) -> str | None:
    if _is_none(field):
        return None
    return "/".join(field[i : i + 4] for i in (0, 4, 8, 12, 16))


def _is_none(field: str) -> bool:
    return set(field) <= {"?"} or set(field) <= {"*"}


def _check_text(text: str, what: str) -> None:
    if not text.isascii() or not text.isprintable():
        raise OsipError(f"{what} must be printable ASCII, got {text!r}")


def _encode_field(name: str, width: int, value: str | None) -> str:
    if name in LOCATIONS:
        return location_field(value)
    if value is None:
        return ("?" if name == "barcode" else "*") * width
    _check_text(value, name)
    if name == "barcode":
        if not value or len(value) > width:
            raise OsipError(f"barcode is 1 to {width} characters, got {value!r}")
        return value.rjust(width, "0")
    if name in GROUPS:
        if len(value) > width or FILLER in value:
            raise OsipError(f"{name} is up to {width} characters without '*', got {value!r}")
        return value.ljust(width, FILLER)
    if len(value) != width or not value.isdigit():
        raise OsipError(f"{name} must be {width} digits, got {value!r}")
    return value


def _decode_field(name: str, field: str) -> str | None:
    if name in LOCATIONS:
        return _decode_location(field)
    if name == "barcode":
        return None if _is_none(field) else (field.lstrip("0") or "0")
    if name in GROUPS:
        return None if _is_none(field) else field.rstrip(FILLER)
    if not field.isdigit():
        raise OsipError(f"{name} must be digits, got {field!r}")
    return field


@dataclass(frozen=True, slots=True)
class OsipTelegram:
    """One OSIP telegram; fields a type does not carry stay None (see :data:`LAYOUTS`).

    ``barcode`` is the handling unit id without its padding; locations are
    ``AAAA/BBBB/CCCC/DDDD/EEEE`` or None (none); ``error`` 8 digits; ``date``
    ``yyyyMMddHHmmss``; ``sender``/``receiver`` the padded 5-character ids.
    """

    type: str
    sender: str
    receiver: str
    seq: int
    date: str
    barcode: str | None = None
    actual: str | None = None
    target: str | None = None
    target_group: str | None = None
    group: str | None = None
    location: str | None = None
    error: str = NO_ERROR

    @property
    def ok(self) -> bool:
        """True when the error code is all zeros."""
        return self.error == NO_ERROR


def encode(telegram: OsipTelegram, length: int = DEFAULT_LENGTH) -> bytes:
    """The telegram as ``length`` characters plus CRLF; OsipError if it cannot be."""
    layout = LAYOUTS.get(telegram.type)
    if layout is None:
        raise OsipError(f"unknown telegram type {telegram.type!r}")
    if not 0 <= telegram.seq < SEQ_MOD:
        raise OsipError(f"SEQ must be 0 to {SEQ_MOD - 1}, got {telegram.seq}")
    header = (
        f"{SYNC_FIELD}{length:05d}{pad_id(telegram.sender)}{pad_id(telegram.receiver)}"
        f"{telegram.seq:05d}"
    )
    body = "".join(_encode_field(name, width, getattr(telegram, name)) for name, width in layout)
    text = header + telegram.type + body
    if len(text) > length or length > MAX_LENGTH:
        raise OsipError(
            f"a {telegram.type} telegram needs {len(text)} characters, length is {length}"
        )
    return text.ljust(length, FILLER).encode("ascii") + CRLF


def decode(frame: bytes, length: int | None = None) -> OsipTelegram:
    """Parse one telegram (CRLF optional); OsipError naming what is wrong.

    ``length``: the configured telegram length the LEN field must equal (None: any).
    """
    if frame.endswith(CRLF):
        frame = frame[:-2]
    try:
        text = frame.decode("ascii")
    except UnicodeDecodeError as err:
        raise OsipError(f"not ASCII at byte {err.start}") from None
    if not text.startswith(SYNC_FIELD) or len(text) < HEADER_LEN + TYPE_LEN:
        raise OsipError(f"expected '###' and a 27-character header, got {text[:27]!r}")
    length_field, sender, receiver, seq_field = text[3:8], text[8:13], text[13:18], text[18:23]
    if not length_field.isdigit() or int(length_field) != len(text):
        raise OsipError(f"LEN {length_field!r} does not match the telegram length {len(text)}")
    if length is not None and len(text) != length:
        raise OsipError(f"telegram length {len(text)}, configured {length}")
    if not seq_field.isdigit():
        raise OsipError(f"SEQ must be 5 digits, got {seq_field!r}")
    _check_text(sender + receiver, "SEND/RECV")
    kind = text[23:27]
    layout = LAYOUTS.get(kind)
    if layout is None:
        raise OsipUnknownType(
            f"unknown telegram type {kind!r}", sender, receiver, int(seq_field), kind
        )
    fields: dict[str, str | None] = {}
    pos = HEADER_LEN + TYPE_LEN
    for name, width in layout:
        field = text[pos : pos + width]
        if len(field) != width:
            raise OsipError(f"{kind} ends inside field {name}")
        fields[name] = _decode_field(name, field)
        pos += width
    if set(text[pos:]) - {FILLER}:
        raise OsipError(
            f"expected '*' filler after the {kind} payload, got {text[pos : pos + 20]!r}"
        )
    date = fields.pop("date")
    assert date is not None
    error = fields.pop("error", NO_ERROR) or NO_ERROR
    return OsipTelegram(kind, sender, receiver, int(seq_field), date, error=error, **fields)


class OsipSplitter(StreamBuffer):
    """Cut a byte stream into telegrams (``###`` … LEN characters … CRLF), whatever chunks
    it arrives in; bytes that cannot be a telegram are skipped and counted.

    Implements the framer protocol of :mod:`drivers.transport.link`; frames are returned
    with their CRLF. ``length`` set: only telegrams whose LEN is exactly that are taken
    (a false ``###`` in garbage then cannot hold back a real telegram).
    """

    def __init__(self, length: int | None = None, max_length: int = MAX_LENGTH):
        super().__init__(max_length)
        self.length = length

    def _plausible(self, length_field: bytes) -> bool:
        if not length_field.isdigit():
            return False
        n = int(length_field)
        if self.length is not None:
            return n == self.length
        return HEADER_LEN + TYPE_LEN <= n <= self.max_length

    def feed(self, data: bytes) -> list[bytes]:
        """Every telegram that ``data`` completes, in order."""
        self._buf += data
        frames: list[bytes] = []
        while True:
            start = self._buf.find(b"###")
            if start < 0:
                keep = 2 if self._buf.endswith(b"##") else 1 if self._buf.endswith(b"#") else 0
                self._skip(len(self._buf) - keep)
                return frames
            self._skip(start)
            if len(self._buf) < 8:
                return frames
            length_field = bytes(self._buf[3:8])
            if not self._plausible(length_field):
                self._skip(1)
                continue
            total = int(length_field) + 2
            if len(self._buf) < total:
                return frames
            if bytes(self._buf[total - 2 : total]) != CRLF:
                self._skip(1)
                continue
            frames.append(bytes(self._buf[:total]))
            del self._buf[:total]
