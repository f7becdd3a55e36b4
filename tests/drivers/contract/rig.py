"""A driver connected to its simulator over the real wire (TCP or a pty), with fault switches.

One :class:`Rig` is one device: the simulator's :class:`DeviceServer` built from the
device config by :func:`simulators.measure.devices.make_protocol`, and the driver built
from the same config by :mod:`drivers.registry`, connected to the server's actual
address (``tcp://127.0.0.1:<port>`` or the pty symlink path, which the driver opens as a
serial port). Faults are switched on with :meth:`Rig.faults` (rate 1.0 each).
"""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path
from typing import Any

from drivers.dimensioner.base import Dimensions
from drivers.registry import create_dimensioner, create_scale
from drivers.scale.base import Weight
from drivers.scale.units import to_kg
from plc_configs.schema import DimensionerDevice, ScaleDevice
from simulators.measure.devices import MeasureTiming, make_protocol
from simulators.measure.faults import Fault, FaultInjector, fixed_rates
from simulators.measure.server import DeviceServer
from simulators.parcels import ParcelSpec, ReaderOutcome

SCALES = ("mt-sics", "sma", "nci", "toledo-continuous")
DIMENSIONERS = ("cubiscan", "sick", "datalogic")
PROTOCOLS = SCALES + DIMENSIONERS
TRANSPORTS = ("tcp", "pty")
PUSHED = ("sick", "datalogic")
"""Presets without a trigger: the tunnel pushes one telegram per scanned parcel."""
STREAMING = ("toledo-continuous",)

FAST = MeasureTiming(
    sma_reply_delay_s=0.002,
    stability_timeout_s=0.03,
    toledo_period_s=0.01,
    split_gap_s=0.003,
    pty_blackout_s=0.15,
)
TIMEOUT_MS = 200
"""Driver timeout: one request to its answer (and read_stable as a whole)."""

PARCEL = ParcelSpec(7, "LS0000004711", "A", 321, 150, 87, 3.4567, True, ReaderOutcome.OK)
"""On the platter / in the tunnel. 3.4567 kg is not a whole number of any printed division."""
EMPTY_FIELD = ParcelSpec(8, "LS0000004712", "A", 0, 0, 0, 0.0, True, ReaderOutcome.NO_READ)
"""What a tunnel reports when it measured nothing (zero dimensions, no weight, no read)."""


class Platter:
    """The simulator's lookup: the parcel on the platter / in the field now."""

    def __init__(self, parcel: ParcelSpec | None):
        self.parcel = parcel

    def __call__(self) -> ParcelSpec | None:
        return self.parcel


def device_config(protocol: str, url: str, timeout_ms: int) -> ScaleDevice | DimensionerDevice:
    """The line config's device section for ``protocol`` at ``url``."""
    if protocol in SCALES:
        return ScaleDevice(kind="scale", driver=protocol, url=url, timeout_ms=timeout_ms)
    return DimensionerDevice(kind="dimensioner", driver=protocol, url=url, timeout_ms=timeout_ms)


def half_division_kg(weight: Weight) -> Decimal:
    """Half the division the device printed the weight with, in kg (``0.001 kg`` → 0.0005)."""
    exponent = weight.value.as_tuple().exponent
    assert isinstance(exponent, int)
    return to_kg(Decimal(1).scaleb(exponent), weight.unit) / 2


class Rig:
    """One simulator and its driver, connected."""

    def __init__(
        self,
        protocol: str,
        transport: str,
        server: DeviceServer,
        device: ScaleDevice | DimensionerDevice,
        platter: Platter,
    ):
        self.protocol = protocol
        self.transport = transport
        self.server = server
        self.device = device
        self.platter = platter
        self.name = server.name
        self.url = server.url
        self.driver: Any = (
            create_scale(self.name, device)  # type: ignore[arg-type]
            if isinstance(device, ScaleDevice)
            else create_dimensioner(self.name, device)
        )

    @property
    def is_scale(self) -> bool:
        """A scale (else a dimensioner)."""
        return self.protocol in SCALES

    async def faults(self, *faults: Fault) -> None:
        """Switch ``faults`` on at rate 1.0 (nothing: all off).

        A streaming device may have a frame drawn before the switch still in flight:
        wait a few frame periods so that what the driver reads next was drawn after it.
        """
        self.server.faults.rates = fixed_rates(dict.fromkeys(faults, 1.0))
        if self.protocol in STREAMING:
            await asyncio.sleep(3 * FAST.toledo_period_s)

    async def read(self) -> Weight | Dimensions:
        """``read_stable`` (scales) or ``measure`` (dimensioners)."""
        if self.is_scale:
            return await self.driver.read_stable()
        return await self.measure()

    async def measure(self, parcel: ParcelSpec | None = None) -> Dimensions:
        """``measure``; a pushing tunnel is sent ``parcel`` (default: the platter's) meanwhile."""
        if self.protocol not in PUSHED:
            return await self.driver.measure()
        measuring = asyncio.create_task(self.driver.measure(), name=f"{self.name}-measure")
        try:
            await asyncio.sleep(0.005)  # the driver drops stale telegrams when called
            self.server.parcel_scanned(parcel or self.platter.parcel or PARCEL)
            return await measuring
        finally:
            if not measuring.done():
                measuring.cancel()
                await asyncio.gather(measuring, return_exceptions=True)


async def start_rig(
    protocol: str,
    transport: str,
    folder: Path,
    *,
    parcel: ParcelSpec | None = PARCEL,
    timeout_ms: int = TIMEOUT_MS,
    started: list[Rig],
) -> Rig:
    """Start the simulator, build and connect the driver; the rig is appended to ``started``."""
    name = f"{protocol}-{transport}"
    listen = "tcp://127.0.0.1:0" if transport == "tcp" else f"{folder / name}?baud=9600"
    platter = Platter(parcel)
    device = device_config(protocol, listen, timeout_ms)
    server = DeviceServer(
        name,
        listen,
        make_protocol(device, platter, FAST),
        FaultInjector(fixed_rates({}), seed=f"contract:{name}"),
        split_gap_s=FAST.split_gap_s,
        pty_blackout_s=FAST.pty_blackout_s,
    )
    await server.start()
    try:
        device = device.model_copy(update={"url": server.url})
        rig = Rig(protocol, transport, server, device, platter)
    except BaseException:
        await server.stop()
        raise
    started.append(rig)
    await rig.driver.connect()
    return rig


async def stop_rigs(started: list[Rig]) -> None:
    """Close every driver, then stop every simulator."""
    for rig in started:
        await rig.driver.close()
    for rig in started:
        await rig.server.stop()
