"""A ZPL label printer on raw TCP (Zebra "port 9100" printing and its many clones).

The host writes label formats (``^XA … ^XZ``) to the socket; the printer answers only
queries. Host status ``~HS`` is answered with three strings, each
``<STX>field,field,…<ETX><CR><LF>`` (Zebra ZPL II Programming Guide, ``~HS``):

* string 1 ``aaa,b,c,dddd,eee,f,g,h,iii,j,k,l``: ``b`` paper out, ``c`` pause (1 = active)
* string 2 ``mmm,n,o,p,q,r,s,t,uuuuuuuu,v,www``: ``o`` head up (1 = head in up position)
* string 3 ``xxxx,y``: password, static RAM installed

so the defaults are paper out (1, 2), pause (1, 3), head up (2, 3), as (string, field)
from 1; other printers' emulations may differ, hence the keyword arguments. Zebra's
current guide also says some firmware does **not answer** ``~HS`` at all while the media
is out or the head is open: that arrives here as :class:`~drivers.errors.DeviceTimeout`,
which a caller must treat as "not ready" rather than "printer gone".

The connection is opened lazily and again on the next call after it dropped.
"""

from __future__ import annotations

import asyncio

from drivers.errors import ConnectionLost, DeviceTimeout, ProtocolError
from drivers.printer.base import PrinterStatus
from drivers.transport import DelimitedFramer
from drivers.transport.device import LinkDevice

STX = b"\x02"
ETX_CRLF = b"\x03\r\n"
STATUS_STRINGS = 3
HOST_STATUS = b"~HS"

Position = tuple[int, int]


class ZplTcpPrinter(LinkDevice):
    """A ZPL printer at ``tcp://HOST:PORT``; flag positions in ``~HS`` are (string, field)."""

    def __init__(
        self,
        name: str,
        url: str,
        *,
        timeout_s: float = 2.0,
        paper_out_field: Position = (1, 2),
        pause_field: Position = (1, 3),
        head_up_field: Position = (2, 3),
    ):
        super().__init__(name, url, DelimitedFramer(end=b"\r\n", max_frame=1024), timeout_s)
        self.link.connect_timeout_s = timeout_s
        for label, (string, field) in (
            ("paper_out_field", paper_out_field),
            ("pause_field", pause_field),
            ("head_up_field", head_up_field),
        ):
            if not 1 <= string <= STATUS_STRINGS or field < 1:
                raise ValueError(f"{name}: {label} must be (1..3, >=1), got {(string, field)}")
        self.paper_out_field = paper_out_field
        self.pause_field = pause_field
        self.head_up_field = head_up_field
        self.labels_sent = 0

    async def _ensure_open(self) -> None:
        if not self.link.connected:
            await self.link.open()

    async def status(self) -> PrinterStatus:
        """``~HS``: the three strings, parsed; DeviceTimeout if they do not all come in time."""
        await self._ensure_open()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timeout_s
        lines: list[bytes] = []
        try:
            lines.append(await self.link.transact(HOST_STATUS, self.timeout_s))
            while len(lines) < STATUS_STRINGS:
                lines.append(await self.link.read_frame(max(0.0, deadline - loop.time())))
        except DeviceTimeout as err:
            got = f" after {len(lines)} of 3 strings" if lines else ""
            raise DeviceTimeout(
                self.name, self.address, f"no answer to ~HS{got}: {err.detail}"
            ) from err
        return parse_host_status(
            lines,
            self.paper_out_field,
            self.pause_field,
            self.head_up_field,
            device=self.name,
            address=self.address,
        )

    async def send(self, label: str) -> None:
        """Write one label format (UTF-8); ConnectionLost on a dead link, DeviceTimeout if
        the printer does not take it within the timeout (its receive buffer is full)."""
        await self._ensure_open()
        data = label.encode("utf-8")
        try:
            async with asyncio.timeout(self.timeout_s):
                await self.link.write(data)
        except TimeoutError as err:
            await self.link.close()  # a half-written format: start clean next time
            raise DeviceTimeout(
                self.name,
                self.address,
                f"printer took no label data in {self.timeout_s * 1000:.0f} ms (buffer full?)",
            ) from err
        except ConnectionLost:
            await self.link.close()
            raise
        self.labels_sent += 1


def parse_host_status(
    lines: list[bytes],
    paper_out_field: Position = (1, 2),
    pause_field: Position = (1, 3),
    head_up_field: Position = (2, 3),
    *,
    device: str = "printer",
    address: str = "-",
) -> PrinterStatus:
    """Three ``<STX>…<ETX><CR><LF>`` lines as a :class:`PrinterStatus`; ProtocolError shows
    the bytes of any line that is not one, or a flag that is not ``0``/``1``."""
    strings: list[list[str]] = []
    raw: list[str] = []
    for line in lines:
        if not (line.startswith(STX) and line.endswith(ETX_CRLF)):
            raise ProtocolError(device, address, f"~HS string is not <STX>…<ETX><CR><LF>: {line!r}")
        body = line[1:-3]
        if STX in body or b"\x03" in body:
            raise ProtocolError(device, address, f"~HS string has a stray STX/ETX: {line!r}")
        text = body.decode("latin-1")
        raw.append(text)
        strings.append(text.split(","))

    def flag(position: Position, what: str) -> bool:
        string, field = position
        fields = strings[string - 1]
        if field > len(fields):
            raise ProtocolError(
                device,
                address,
                f"~HS string {string} has {len(fields)} fields, {what} expected in field "
                f"{field}: {lines[string - 1]!r}",
            )
        value = fields[field - 1]
        if value not in ("0", "1"):
            raise ProtocolError(
                device,
                address,
                f"~HS {what} flag (string {string}, field {field}) is {value!r}, not 0 or 1: "
                f"{lines[string - 1]!r}",
            )
        return value == "1"

    return PrinterStatus(
        paper_out=flag(paper_out_field, "paper-out"),
        paused=flag(pause_field, "pause"),
        head_up=flag(head_up_field, "head-up"),
        raw=tuple(raw),
    )
