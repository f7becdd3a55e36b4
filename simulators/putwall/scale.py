"""A check scale at a put wall or a dock door: its load is whatever an operator puts on it.

The tunnel's scales weigh the parcel the twin has in the scan field (their ``lookup``);
a check scale weighs a closed container the simulated operator moved onto it
(:meth:`CheckScale.set_load`, :meth:`CheckScale.clear`). It speaks the device's own
wire, served by the same code as the tunnel's: the protocol handler of its driver
(:func:`simulators.measure.devices.make_protocol`: MT-SICS, SMA, NCI, Toledo continuous)
behind a :class:`~simulators.measure.server.DeviceServer` (TCP or a pty), or, for
``opcua-weighing``, an :class:`~simulators.opcua_scale.OpcUaScaleSimulator`.

No seam was needed in :mod:`simulators.measure`: its handlers weigh the ``weight_kg``
of the :class:`~simulators.parcels.ParcelSpec` their lookup returns, so the load is
handed to them as a spec of that weight (:func:`load_spec`, no barcode, no size). An
empty scale answers 0. The weight is stable as soon as it is set (a real scale settles
in a second or so; the controller waits for a stable reading anyway). Device faults
are off unless a :class:`~simulators.measure.faults.FaultInjector` is given.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from plc_configs.schema import ScaleDevice
from simulators.measure.devices import MeasureTiming, make_protocol
from simulators.measure.faults import FaultInjector
from simulators.measure.server import DeviceServer, parse_device_url
from simulators.parcels import ParcelSpec, ReaderOutcome

log = logging.getLogger(__name__)

CAPACITY_KG = 300.0
"""A check scale's capacity (OPC UA scales report overload above it)."""


def load_spec(kg: float) -> ParcelSpec:
    """What is on the scale, as the measuring handlers read it: only ``weight_kg`` counts."""
    return ParcelSpec(
        tracking_id=0,
        barcode="",
        route="",
        length_mm=0,
        width_mm=0,
        height_mm=0,
        weight_kg=kg,
        in_manifest=False,
        reader_outcome=ReaderOutcome.OK,
    )


class CheckScale:
    """A settable scale at ``device.url`` (or, with ``any_port``, on a free port / temp pty)."""

    def __init__(
        self,
        name: str,
        device: ScaleDevice,
        *,
        any_port: bool = False,
        timing: MeasureTiming | None = None,
        faults: FaultInjector | None = None,
    ):
        self.name = name
        self.device = device
        self.load_kg: float | None = None
        self.loads = 0
        """How many times a load was put on the scale."""
        self._tmp: Path | None = None
        self.server: DeviceServer | None = None
        self.opcua: Any = None
        if device.driver == "opcua-weighing":
            from simulators.opcua_scale import OpcUaScaleSimulator  # asyncua: import on use

            parts = urlsplit(device.url)
            self.opcua = OpcUaScaleSimulator(
                name,
                lambda: self.load_kg,
                host=parts.hostname or "127.0.0.1",
                port=0 if any_port else (parts.port or 4840),
                path=parts.path or "/",
                capacity_kg=CAPACITY_KG,
            )
            return
        url = device.url
        endpoint = parse_device_url(url)
        if any_port and endpoint.kind == "tcp":
            url = f"{endpoint.scheme}://{endpoint.host}:0"
        elif any_port:
            self._tmp = Path(tempfile.mkdtemp(prefix="lanesort-checkscale-"))
            url = f"{self._tmp}/{name}" + (f"?{endpoint.query}" if endpoint.query else "")
        timing = timing or MeasureTiming()
        self.server = DeviceServer(
            name,
            url,
            make_protocol(device, self._lookup, timing),
            faults,
            split_gap_s=timing.split_gap_s,
            pty_blackout_s=timing.pty_blackout_s,
        )

    def _lookup(self) -> ParcelSpec | None:
        return load_spec(self.load_kg) if self.load_kg is not None else None

    def set_load(self, kg: float) -> None:
        """Put ``kg`` on the scale (replacing what was there)."""
        self.load_kg = kg
        self.loads += 1

    def clear(self) -> None:
        """Take everything off: the scale reads 0."""
        self.load_kg = None

    @property
    def url(self) -> str:
        """Where the driver connects (actual port once started)."""
        if self.opcua is not None:
            return str(self.opcua.url)
        assert self.server is not None
        return self.server.url

    async def start(self) -> None:
        """Start serving."""
        if self.opcua is not None:
            await self.opcua.start()
        else:
            assert self.server is not None
            await self.server.start()

    async def stop(self) -> None:
        """Stop serving (and remove a temporary pty folder)."""
        if self.opcua is not None:
            await self.opcua.stop()
        elif self.server is not None:
            await self.server.stop()
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None
