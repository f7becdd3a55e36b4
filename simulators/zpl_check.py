"""ZPL as a printer reads it: the host's byte stream cut into formats and control
commands (:class:`ZplStream`), and each format checked field by field (:func:`check_label`).

The checks (stricter than a printer, which prints a wrong format wrong rather than
refusing it, so that a composer's mistake fails a test): a format starts ``^XA`` and
ends ``^XZ``; every ``^FD`` has a ``^FO`` before it and ends with ``^FS``; every field
origin is inside the label; a ``^BC`` barcode gets its ``^FD``; ``^A`` fonts, ``^BC``,
``^BY``, ``^PQ`` parameters are well-formed; any other command is unknown and rejects
the label. ``^FH`` hexadecimal escapes are decoded (UTF-8 under ``^CI28``), and a Code
128 start code (``>9`` A, ``>:`` B, ``>;`` C) is taken off the barcode's data.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import NamedTuple

MAX_FORMAT = 256 * 1024
START_CODES = {">9": "A", ">:": "B", ">;": "C"}
_INT = re.compile(r"^\d+$")
_HEX = re.compile(r"[0-9A-Fa-f]{2}")


@dataclass(frozen=True, slots=True)
class Field:
    """A printed field: origin in dots, ``text`` or ``code128``, and its decoded data.

    For ``code128`` the data is what the symbol encodes (the start code is in
    ``start_code``: ``A``, ``B``, ``C`` or empty when none was given, i.e. B).
    """

    x: int
    y: int
    kind: str
    data: str
    start_code: str = ""


@dataclass(frozen=True, slots=True)
class PrintedLabel:
    """A label that passed the checks."""

    fields: list[Field]
    quantity: int
    raw: str

    def texts(self) -> list[str]:
        """The data of the text fields, top to bottom, left to right."""
        ordered = sorted(self.fields, key=lambda f: (f.y, f.x))
        return [f.data for f in ordered if f.kind == "text"]

    def barcodes(self) -> list[str]:
        """The data of the Code 128 fields."""
        return [f.data for f in self.fields if f.kind == "code128"]


@dataclass(frozen=True, slots=True)
class RejectedLabel:
    """Bytes that did not make a label, and why."""

    raw: str
    reasons: list[str]


@dataclass
class _State:
    """Where the checker is inside one format."""

    width: int
    height: int
    reasons: list[str] = field(default_factory=list)
    fields: list[Field] = field(default_factory=list)
    origin: tuple[int, int] | None = None
    barcode: bool = False
    hex_indicator: str | None = None
    open_field: Field | None = None
    utf8: bool = False
    quantity: int = 1


def _ints(params: str, count: int) -> list[int] | None:
    parts = params.split(",")[:count]
    if len(parts) < count or not all(_INT.match(p) for p in parts):
        return None
    return [int(p) for p in parts]


def _decode(data: str, st: _State) -> str:
    raw = data
    if st.hex_indicator is not None:
        out, i, ind = [], 0, st.hex_indicator
        while i < len(data):
            if data[i] == ind:
                if not _HEX.fullmatch(data[i + 1 : i + 3]):
                    st.reasons.append(f"^FH: {ind!r} not followed by two hex digits in {data!r}")
                    return data
                out.append(chr(int(data[i + 1 : i + 3], 16)))
                i += 3
            else:
                out.append(data[i])
                i += 1
        raw = "".join(out)
    if st.utf8:
        try:
            return raw.encode("latin-1").decode("utf-8")
        except UnicodeDecodeError:
            st.reasons.append(f"^FD {data!r} is not UTF-8 although ^CI28 is set")
    return raw


def _field_data(params: str, st: _State) -> None:
    if st.open_field is not None:
        st.reasons.append(f"^FD {st.open_field.data!r} without ^FS")
    if st.origin is None:
        st.reasons.append(f"^FD {params!r} without a ^FO before it")
        return
    data, start = _decode(params, st), ""
    if st.barcode:
        start = START_CODES.get(data[:2], "")
        data = data[2:] if start else data
        if not data:
            st.reasons.append("^BC without data in its ^FD")
    kind = "code128" if st.barcode else "text"
    st.open_field = Field(st.origin[0], st.origin[1], kind, data, start)


def _field_separator(st: _State) -> None:
    if st.open_field is not None:
        st.fields.append(st.open_field)
    elif st.barcode:
        st.reasons.append("^BC without a ^FD before ^FS")
    st.origin, st.barcode, st.hex_indicator, st.open_field = None, False, None, None


def _command(name: str, params: str, st: _State) -> None:
    if st.open_field is not None and name != "FS":
        st.reasons.append(f"^FD {st.open_field.data!r} without ^FS (next came ^{name})")
        st.open_field = None
    if name == "FD":
        _field_data(params, st)
        return
    params = params.strip("\r\n")
    if name == "FS":
        _field_separator(st)
    elif name == "FO":
        xy = _ints(params, 2)
        if xy is None:
            st.reasons.append(f"^FO{params}: x,y must be whole dots")
        elif xy[0] >= st.width or xy[1] >= st.height:
            st.reasons.append(
                f"^FO{xy[0]},{xy[1]}: field origin outside the label ({st.width}x{st.height} dots)"
            )
        else:
            st.origin = (xy[0], xy[1])
    elif name == "BC":
        p = params.split(",") + [""] * 6
        if p[0] not in ("N", "R", "I", "B", "") or (p[1] and not _INT.match(p[1])):
            st.reasons.append(f"^BC{params}: orientation N/R/I/B and height in dots expected")
        if any(v not in ("Y", "N", "") for v in p[2:5]) or p[5] not in ("N", "U", "A", "D", ""):
            st.reasons.append(f"^BC{params}: f,g,e must be Y/N and mode N/U/A/D")
        st.barcode = True
    elif name[0] == "A":  # ^Afo,h,w: font f (^A0 the scalable one)
        p = params.split(",")
        sizes = [v for v in p[1:3] if v]
        if (
            len(p) < 2
            or p[0] not in ("N", "R", "I", "B")
            or not all(_INT.match(v) and 10 <= int(v) <= 32000 for v in sizes)
            or not sizes
        ):
            st.reasons.append(f"^{name}{params}: expected ^{name}o,h,w (o N/R/I/B, 10-32000 dots)")
    elif name == "BY":
        w = params.split(",")[0]
        if not (_INT.match(w) and 1 <= int(w) <= 10):
            st.reasons.append(f"^BY{params}: module width must be 1-10 dots")
    elif name == "FH":
        st.hex_indicator = params[:1] or "_"
    elif name == "CI":
        st.utf8 = params.split(",")[0] == "28"
    elif name == "PQ":
        q = _ints(params, 1)
        if q is None or q[0] < 1:
            st.reasons.append(f"^PQ{params}: quantity must be a positive number")
        else:
            st.quantity = q[0]
    elif name in ("PW", "LL", "LH", "GB"):
        if _ints(params, 1 if name != "LH" else 2) is None:
            st.reasons.append(f"^{name}{params}: whole dots expected")
    else:
        st.reasons.append(f"unknown command ^{name}")


def check_label(raw: str, width_dots: int, height_dots: int) -> PrintedLabel | RejectedLabel:
    """Check one format (text as received, one character per byte) for a label of
    ``width_dots`` x ``height_dots``; what a printer would print, or why not."""
    st = _State(width_dots, height_dots)
    body = raw.strip("\r\n ")
    if not body.startswith("^XA"):
        st.reasons.append("does not start with ^XA")
    if not body.endswith("^XZ"):
        st.reasons.append("does not end with ^XZ")
    pieces = body.split("^")[1:]
    for i, piece in enumerate(pieces):
        name, params = piece[:2].upper(), piece[2:]
        if name == "XA":
            if i != 0:
                st.reasons.append("^XA inside a format")
        elif name == "XZ":
            if i != len(pieces) - 1:
                st.reasons.append("^XZ before the end of the format")
            if st.open_field is not None:
                st.reasons.append(f"^FD {st.open_field.data!r} without ^FS")
            elif st.barcode:
                st.reasons.append("^BC without a ^FD")
        else:
            _command(name, params, st)
    if st.reasons:
        return RejectedLabel(raw, st.reasons)
    return PrintedLabel(st.fields, st.quantity, raw)


class StreamEvent(NamedTuple):
    """A piece of the host's stream: a ``label`` format, a ``control`` command (its two
    letters, e.g. ``HS``) or ``garbage`` (bytes that make no format, and why)."""

    kind: str
    text: str
    reason: str = ""


class ZplStream:
    """Cuts a host's byte stream into :class:`StreamEvent` values, whatever chunks it
    arrives in."""

    def __init__(self) -> None:
        self._buf = ""
        self._label: str | None = None

    def feed(self, data: bytes) -> list[StreamEvent]:
        """Events completed by ``data``."""
        self._buf += data.decode("latin-1")
        events: list[StreamEvent] = []
        while True:
            buf = self._buf
            inside = self._label is not None
            hits = [
                i
                for i in (buf.find("~"), buf.find("^XA"), buf.find("^XZ") if inside else -1)
                if i >= 0
            ]
            if not hits:  # keep a tail that may be the start of ^XA, ^XZ or ~XX
                keep = 2 if buf[-2:-1] in ("^", "~") else 1 if buf[-1:] in ("^", "~") else 0
                self._take(buf[: len(buf) - keep], events)
                self._buf = buf[len(buf) - keep :]
                return events
            first = min(hits)
            self._take(buf[:first], events)
            rest = buf[first:]
            if rest[0] == "~":
                if len(rest) < 3:
                    self._buf = rest
                    return events
                events.append(StreamEvent("control", rest[1:3].upper()))
            elif rest.startswith("^XZ"):
                if self._label is not None:
                    events.append(StreamEvent("label", self._label + "^XZ"))
                self._label = None
            else:
                if self._label is not None:
                    events.append(StreamEvent("garbage", self._label, "no ^XZ before the next ^XA"))
                self._label = "^XA"
            self._buf = rest[3:]

    def _take(self, text: str, events: list[StreamEvent]) -> None:
        if self._label is not None:
            self._label += text
            if len(self._label) > MAX_FORMAT:
                events.append(StreamEvent("garbage", self._label, f"no ^XZ in {MAX_FORMAT} bytes"))
                self._label = None
        elif text.strip():
            events.append(StreamEvent("garbage", text, "data outside ^XA … ^XZ"))

    def close(self) -> list[StreamEvent]:
        """The connection closed: a format without its ^XZ is garbage."""
        events: list[StreamEvent] = []
        self._take(self._buf, events)
        self._buf = ""
        if self._label is not None and self._label.strip():
            events.append(StreamEvent("garbage", self._label, "connection closed before ^XZ"))
        self._label = None
        return events
