"""A ZPL network label printer on raw TCP: it checks every label and records what it printed.

The host's byte stream is cut (whatever chunks it comes in) into label formats
``^XA … ^XZ`` and control commands ``~XX``; like a real printer, a control command is
acted on as soon as it arrives, even in the middle of a format, and ``~HS`` is answered
with three ``<STX>…<ETX><CR><LF>`` strings built from the fault flags (string 1 field 2
paper out, field 3 pause; string 2 field 3 head up: the Zebra ZPL II guide's layout).

Each format is checked by :func:`check_label` (stricter than a printer: it rejects what a
printer would silently print wrong, so a composer's mistake fails a test) and lands in
:attr:`ZplPrinterSimulator.printed` or :attr:`ZplPrinterSimulator.rejected`.

What the fault flags model:

* ``paper_out`` / ``head_up``: a format received now is **lost** (kept in
  :attr:`ZplPrinterSimulator.lost_while_out`, never printed). A real Zebra keeps it in its
  buffer and prints it after the media is reloaded, unless the operator cancels the
  buffer or power-cycles the printer to clear the error, which is what usually happens
  on a line; the simulator models that worst case, so the host must not send while
  the status says the printer is not ready.
* ``paused``: formats are held in the buffer (``~HS`` string 1 field 5 counts them) and
  printed, in order, when the pause is lifted.
* ``silent_when_faulted``: no answer to ``~HS`` while the paper is out or the head is up
  (Zebra's guide says some firmware behaves so).
* ``status_reply``: answer ``~HS`` with these bytes instead (a garbled answer).
* :meth:`ZplPrinterSimulator.offline` stops listening and drops every connection;
  :meth:`ZplPrinterSimulator.online` listens again on the same port.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from dataclasses import dataclass, field

log = logging.getLogger(__name__)

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


class ZplStream:
    """Cuts a host's byte stream into ``("label", text)``, ``("control", "HS")`` and
    ``("garbage", text)`` events, whatever chunks it arrives in."""

    def __init__(self) -> None:
        self._buf = ""
        self._label: str | None = None

    def feed(self, data: bytes) -> list[tuple[str, str]]:
        """Events completed by ``data``."""
        self._buf += data.decode("latin-1")
        events: list[tuple[str, str]] = []
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
                events.append(("control", rest[1:3].upper()))
            elif rest.startswith("^XZ"):
                if self._label is not None:
                    events.append(("label", self._label + "^XZ"))
                self._label = None
            else:
                if self._label is not None:
                    events.append(("garbage", self._label + "\0no ^XZ before the next ^XA"))
                self._label = "^XA"
            self._buf = rest[3:]

    def _take(self, text: str, events: list[tuple[str, str]]) -> None:
        if self._label is not None:
            self._label += text
            if len(self._label) > MAX_FORMAT:
                events.append(("garbage", self._label + f"\0no ^XZ in {MAX_FORMAT} bytes"))
                self._label = None
        elif text.strip():
            events.append(("garbage", text + "\0data outside ^XA … ^XZ"))

    def close(self) -> list[tuple[str, str]]:
        """The connection closed: a format without its ^XZ is garbage."""
        events: list[tuple[str, str]] = []
        self._take(self._buf, events)
        self._buf = ""
        if self._label is not None and self._label.strip():
            events.append(("garbage", self._label + "\0connection closed before ^XZ"))
        self._label = None
        return events


class ZplPrinterSimulator:
    """A label printer listening on TCP (port 0: a free one) for ZPL."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        dpi: int = 203,
        width_mm: float = 100,
        height_mm: float = 150,
        silent_when_faulted: bool = False,
    ):
        self.host = host
        self._port = port
        self.dpi = dpi
        self.width_dots = round(width_mm / 25.4 * dpi)
        self.height_dots = round(height_mm / 25.4 * dpi)
        self.silent_when_faulted = silent_when_faulted
        self.status_reply: bytes | None = None
        self.paper_out = False
        self.head_up = False
        self._paused = False
        self.printed: list[PrintedLabel] = []
        self.rejected: list[RejectedLabel] = []
        self.lost_while_out: list[PrintedLabel] = []
        self.held: list[PrintedLabel] = []
        self.unknown_controls: list[str] = []
        self.status_queries = 0
        self.connections = 0
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._sessions: set[asyncio.Task[object]] = set()

    @property
    def port(self) -> int:
        """The TCP port listened on (kept across :meth:`offline`/:meth:`online`)."""
        return self._port

    @property
    def url(self) -> str:
        """Where the driver connects."""
        return f"tcp://{self.host}:{self._port}"

    @property
    def paused(self) -> bool:
        """Paused: formats are held; un-pausing prints them in order."""
        return self._paused

    @paused.setter
    def paused(self, value: bool) -> None:
        self._paused = value
        if not value:
            self.printed.extend(self.held)
            self.held.clear()

    async def start(self) -> None:
        """Start listening."""
        self._server = await asyncio.start_server(self._serve, self.host, self._port)
        self._port = self._server.sockets[0].getsockname()[1]
        log.info("label printer listening on %s", self.url)

    async def stop(self) -> None:
        """Stop listening and drop every connection."""
        await self.offline()

    async def offline(self) -> None:
        """Fault: the printer leaves the network (no listener, connections dropped)."""
        server, self._server = self._server, None
        if server is not None:
            server.close()
        for writer in list(self._writers):
            writer.close()
        sessions = list(self._sessions)
        if sessions:
            _, pending = await asyncio.wait(sessions, timeout=1.0)
            for task in pending:
                task.cancel()
        if server is not None:
            await server.wait_closed()

    async def online(self) -> None:
        """Back on the network, on the same port."""
        if self._server is None:
            await self.start()

    def host_status(self) -> bytes:
        """The three ``~HS`` strings for the current flags."""
        p, c, h = (int(v) for v in (self.paper_out, self._paused, self.head_up))
        s1 = f"030,{p},{c},{self.height_dots:04d},{len(self.held):03d},0,0,0,000,0,0,0"
        s2 = f"001,0,{h},0,0,2,6,0,00000000,1,000"
        return b"".join(b"\x02" + s.encode() + b"\x03\r\n" for s in (s1, s2, "1234,0"))

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        self.connections += 1
        session = asyncio.current_task()
        if session is not None:
            self._sessions.add(session)
        stream = ZplStream()
        try:
            while data := await reader.read(4096):
                self._handle(stream.feed(data), writer)
        except (ConnectionError, OSError) as err:
            log.info("label printer: client gone (%s)", err)
        finally:
            self._handle(stream.close(), writer)
            if session is not None:
                self._sessions.discard(session)
            self._writers.discard(writer)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    def _handle(self, events: list[tuple[str, str]], writer: asyncio.StreamWriter) -> None:
        for kind, text in events:
            if kind == "control":
                self._control(text, writer)
            elif kind == "garbage":
                raw, _, reason = text.partition("\0")
                self.rejected.append(RejectedLabel(raw, [reason]))
            else:
                self._label(text)

    def _control(self, command: str, writer: asyncio.StreamWriter) -> None:
        if command != "HS":
            self.unknown_controls.append(command)
            return
        self.status_queries += 1
        if self.silent_when_faulted and (self.paper_out or self.head_up):
            return
        if not writer.is_closing():
            writer.write(self.status_reply if self.status_reply is not None else self.host_status())

    def _label(self, raw: str) -> None:
        result = check_label(raw, self.width_dots, self.height_dots)
        if isinstance(result, RejectedLabel):
            log.warning("label printer: rejected a label: %s", "; ".join(result.reasons))
            self.rejected.append(result)
        elif self.paper_out or self.head_up:
            self.lost_while_out.append(result)
        elif self._paused:
            self.held.append(result)
        else:
            self.printed.append(result)
