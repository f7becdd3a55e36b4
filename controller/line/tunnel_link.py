"""The scan tunnel's scales and dimensioners: keep each connected, measure a parcel.

The readers (``reader_link``) identify the parcel; these measure it. All are
triggered together when the PLC reports the parcel in the tunnel.
"""

from __future__ import annotations

import asyncio

from controller.devices.supervisor import DeviceSupervisor
from controller.parcels.measurement import Measurement, volumetric_kg
from drivers.dimensioner.base import Dimensioner, Dimensions
from drivers.errors import DeviceTimeout, DriverError
from drivers.scale.base import Scale, Weight


class _CountsGarbage(DeviceSupervisor):
    """Alarm when the device's link skipped bytes that were not frames."""

    def check_health(self) -> None:
        """Raise a warning alarm when the garbage counter of the driver grows."""
        self.alarm_on_growth(
            "garbage_bytes",
            "{count} bytes between frames skipped (noise, wrong baud rate or framing?)",
        )


class ScaleLink(_CountsGarbage):
    """One scale under supervision."""

    driver: Scale

    async def weigh(self) -> Weight | DriverError:
        """A stable weight, or the driver error."""
        return await self.call(self.driver.read_stable)


class DimensionerLink(_CountsGarbage):
    """One dimensioner under supervision."""

    driver: Dimensioner

    async def measure(self) -> Dimensions | DriverError:
        """Dimensions (or the device's no-dimension reason), or the driver error."""
        return await self.call(self.driver.measure)


async def measure_with(
    scales: list[ScaleLink],
    dimensioners: list[DimensionerLink],
    deadline_s: float,
    volumetric_divisor: float,
) -> Measurement:
    """Weigh and measure at once (first scale, first dimensioner), within ``deadline_s``."""

    async def bounded(coro, link: DeviceSupervisor):
        try:
            async with asyncio.timeout(deadline_s):
                return await coro
        except TimeoutError:
            return DeviceTimeout(
                link.driver.name,
                link.driver.address,
                f"no result within the tunnel deadline of {deadline_s * 1000:.0f} ms",
            )

    scale = scales[0] if scales else None
    dim = dimensioners[0] if dimensioners else None
    jobs = []
    if scale is not None:
        jobs.append(bounded(scale.weigh(), scale))
    if dim is not None:
        jobs.append(bounded(dim.measure(), dim))
    results = list(await asyncio.gather(*jobs))
    weight = results.pop(0) if scale is not None else None
    dims = results.pop(0) if dim is not None else None
    dims_ok = dims if isinstance(dims, Dimensions) else None
    return Measurement(
        weight=weight if isinstance(weight, Weight) else None,
        weight_device=scale.driver.name if scale else None,
        weight_error=str(weight) if isinstance(weight, DriverError) else None,
        dimensions=dims_ok,
        dimensions_device=dim.driver.name if dim else None,
        dimensions_error=str(dims) if isinstance(dims, DriverError) else None,
        volumetric_kg=volumetric_kg(dims_ok, volumetric_divisor) if dims_ok else None,
    )
