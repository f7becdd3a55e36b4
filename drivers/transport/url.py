"""Link addresses: which transport a URL names, and the serial line settings it carries.

``tcp://HOST:PORT`` is a raw TCP socket (asyncio streams). ``socket://HOST:PORT``,
``rfc2217://HOST:PORT``, ``loop://`` and absolute device paths go through pyserial;
query parameters ``baud`` (default 9600), ``parity`` N/E/O (N), ``bytesize`` 7/8 (8)
and ``stopbits`` 1/2 (1) set the line, e.g. ``/dev/ttyUSB0?baud=9600&parity=E&bytesize=7``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal
from urllib.parse import parse_qsl, urlsplit

PARITIES = ("N", "E", "O")
URL_HELP = (
    "tcp://HOST:PORT, socket://HOST:PORT, rfc2217://HOST:PORT, loop:// or an absolute "
    "device path such as /dev/ttyUSB0?baud=9600&parity=E&bytesize=7&stopbits=1"
)


@dataclass(frozen=True, slots=True)
class LinkTarget:
    """A parsed link URL: ``kind`` tcp (asyncio streams) or serial (pyserial URL)."""

    kind: Literal["tcp", "serial"]
    url: str
    host: str | None = None
    port: int | None = None
    baudrate: int = 9600
    parity: str = "N"
    bytesize: int = 8
    stopbits: int = 1


def _serial_target(
    url: str, query: str, host: str | None = None, port: int | None = None
) -> LinkTarget:
    """A serial target for pyserial ``url`` with the line settings in ``query``."""
    settings = {"baud": "9600", "parity": "N", "bytesize": "8", "stopbits": "1"}
    seen: set[str] = set()
    for key, value in parse_qsl(query, keep_blank_values=True):
        if key not in settings:
            raise ValueError(
                f"unknown parameter {key!r}; allowed: baud, parity (N/E/O), bytesize (7/8), "
                "stopbits (1/2)"
            )
        if key in seen:
            raise ValueError(f"parameter {key!r} given twice")
        seen.add(key)
        settings[key] = value
    baud, parity = settings["baud"], settings["parity"].upper()
    if not baud.isdigit() or not 0 < int(baud) <= 4_000_000:
        raise ValueError(f"baud must be a positive integer such as 9600, got {baud!r}")
    if parity not in PARITIES:
        raise ValueError(f"parity must be one of N, E, O, got {settings['parity']!r}")
    if settings["bytesize"] not in ("7", "8"):
        raise ValueError(f"bytesize must be 7 or 8, got {settings['bytesize']!r}")
    if settings["stopbits"] not in ("1", "2"):
        raise ValueError(f"stopbits must be 1 or 2, got {settings['stopbits']!r}")
    return LinkTarget(
        "serial",
        url,
        host=host,
        port=port,
        baudrate=int(baud),
        parity=parity,
        bytesize=int(settings["bytesize"]),
        stopbits=int(settings["stopbits"]),
    )


def parse_link_url(url: str) -> LinkTarget:
    """Where and how to connect; ``ValueError`` naming what is wrong."""
    if url.startswith("/"):
        path, _, query = url.partition("?")
        return _serial_target(path, query)
    parts = urlsplit(url)
    if parts.scheme == "loop":
        return _serial_target("loop://", parts.query)
    if parts.scheme not in ("tcp", "socket", "rfc2217"):
        raise ValueError(f"unsupported address {url!r}; expected {URL_HELP}")
    try:
        port = parts.port
    except ValueError as err:
        raise ValueError(f"bad port in {url!r}: {err}") from None
    if not parts.hostname or port is None:
        raise ValueError(f"{url!r} needs a host and a port: {parts.scheme}://HOST:PORT")
    if parts.scheme == "tcp":
        if parts.query:
            raise ValueError(f"tcp:// takes no parameters, got {parts.query!r}")
        return LinkTarget("tcp", url, host=parts.hostname, port=port)
    serial_url = f"{parts.scheme}://{parts.netloc}"
    return _serial_target(serial_url, parts.query, parts.hostname, port)
