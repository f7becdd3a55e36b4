"""A preset's driver connected to its simulator over real TCP, with a settable scan field."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

from drivers.barcode.tcp_reader import TcpReader
from plc_configs.schema import BarcodeReaderDevice
from simulators.parcels import ParcelSpec, ReaderOutcome
from simulators.readers import TCP_SIMULATORS, TcpReaderServer

PRESETS = ("cognex", "cognex-extended", "sick", "keyence", "datalogic")
"""Every TCP preset; ``cognex`` is the DataMan at its factory default (silent responses),
``cognex-extended`` the one set to ``COM.DMCC-RESPONSE 1``."""


def parcel(outcome: ReaderOutcome = ReaderOutcome.OK, barcode: str = "LS0000000042") -> ParcelSpec:
    """A parcel whose reader outcome is ``outcome``."""
    second = "LS900000001" if outcome is ReaderOutcome.MULTI_LABEL else None
    return ParcelSpec(42, barcode, "R01", 300, 200, 100, 1.0, True, outcome, second)


class ScanField:
    """What the simulated reader sees: a settable parcel."""

    def __init__(self) -> None:
        self.parcel: ParcelSpec | None = None

    def __call__(self) -> ParcelSpec | None:
        return self.parcel


def device(preset: str, **fields: Any) -> BarcodeReaderDevice:
    """A reader config of ``preset`` (``cognex-extended``: cognex with extended responses;
    the URL is replaced by the simulator's)."""
    driver, _, response = preset.partition("-")
    if response:
        fields.setdefault("response", response)
    return BarcodeReaderDevice(
        kind="barcode_reader", driver=driver, url="tcp://127.0.0.1:1", **fields
    )


@contextlib.asynccontextmanager
async def rig(
    preset: str,
    timeout_s: float = 0.1,
    late_answer_ms: float = 150,
    late_window_s: float | None = None,
    **fields: Any,
) -> AsyncIterator[tuple[TcpReader, TcpReaderServer, ScanField]]:
    """(driver, simulator, scan field), connected; closed afterwards."""
    dev = device(preset, **fields)
    scan = ScanField()
    sim = TCP_SIMULATORS[dev.driver]("reader", dev, scan, late_answer_ms=late_answer_ms)
    await sim.start()
    driver = TcpReader(
        "reader",
        sim.url,
        dev.driver,
        timeout_s,
        dev.no_read,
        dev.separator,
        dev.multiple_read,
        late_window_s=late_window_s,
        response=dev.response,
    )
    try:
        await driver.connect()
        yield driver, sim, scan
    finally:
        await driver.close()
        await sim.stop()
