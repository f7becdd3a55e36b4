"""Simulated barcode readers: one per TCP preset, Cognex push mode, and OPC UA AutoID.

:func:`make_reader_simulator` builds the one a device config names (``driver`` and
``push``; the Cognex one answers in the device's DMCC ``response`` mode, silent by
default like the device); every simulator has ``start``/``stop``, ``url``, ``triggers`` and
``invalid_commands``.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from urllib.parse import urlsplit

from plc_configs.schema import BarcodeReaderDevice
from simulators.parcels import ParcelSpec
from simulators.readers.autoid import AutoIdReaderSimulator
from simulators.readers.base import TcpReaderServer
from simulators.readers.cognex import ReaderSimulator
from simulators.readers.cognex_push import CognexPushSimulator
from simulators.readers.datalogic import DatalogicReaderSimulator
from simulators.readers.keyence import KeyenceReaderSimulator
from simulators.readers.sick import SickReaderSimulator

TCP_SIMULATORS: dict[str, type[TcpReaderServer]] = {
    "cognex": ReaderSimulator,
    "sick": SickReaderSimulator,
    "keyence": KeyenceReaderSimulator,
    "datalogic": DatalogicReaderSimulator,
}

AnyReaderSimulator = TcpReaderServer | CognexPushSimulator | AutoIdReaderSimulator


def _free_port(host: str) -> int:
    with socket.socket() as s:
        s.bind((host if host not in ("", "0.0.0.0") else "127.0.0.1", 0))
        return s.getsockname()[1]


def make_reader_simulator(
    name: str,
    device: BarcodeReaderDevice,
    lookup: Callable[[], ParcelSpec | None],
    *,
    any_port: bool = False,
    late_answer_ms: float = 300.0,
) -> AnyReaderSimulator:
    """The simulator for ``device``; with ``any_port`` on a free port (push: a free port
    the controller is to listen on)."""
    parts = urlsplit(device.url)
    host = parts.hostname or "127.0.0.1"
    if device.driver == "autoid":
        return AutoIdReaderSimulator(
            name,
            lookup,
            host=host,
            port=0 if any_port else (parts.port or 4840),
            path=parts.path or "/",
            late_answer_ms=late_answer_ms,
        )
    assert parts.port is not None
    if device.push:
        port = _free_port(host) if any_port else parts.port
        return CognexPushSimulator(
            name, device, host=host, port=port, late_answer_ms=late_answer_ms
        )
    return TCP_SIMULATORS[device.driver](
        name,
        device,
        lookup,
        host=host,
        port=0 if any_port else parts.port,
        late_answer_ms=late_answer_ms,
    )


__all__ = [
    "TCP_SIMULATORS",
    "AnyReaderSimulator",
    "AutoIdReaderSimulator",
    "CognexPushSimulator",
    "DatalogicReaderSimulator",
    "KeyenceReaderSimulator",
    "ReaderSimulator",
    "SickReaderSimulator",
    "make_reader_simulator",
]
