"""The scan tunnel's barcode readers: keep each connected and trigger them for a parcel."""

from __future__ import annotations

import asyncio

from controller.devices.supervisor import DeviceSupervisor
from controller.parcels.decision import Identification, RejectReason
from controller.parcels.labels import LabelRules
from drivers.barcode.base import BarcodeRead, BarcodeReader, ReadResult
from drivers.errors import DeviceTimeout, DriverError


class ReaderLink(DeviceSupervisor):
    """One barcode reader under supervision."""

    driver: BarcodeReader

    def check_health(self) -> None:
        """Alarm when the reader sent lines that are not replies."""
        self.alarm_on_growth(
            "garbled_lines", "{count} lines that are not reader replies skipped, last {last!r}"
        )

    async def read(self) -> ReadResult | DriverError:
        """Trigger one read; a driver error is returned, not raised."""
        return await self.call(self.driver.trigger)


async def identify_with(
    readers: list[ReaderLink],
    rules: LabelRules,
    images: list[tuple[str, bytes]] | None = None,
) -> tuple[Identification, tuple, str]:
    """Trigger every reader at once and pick the barcode from what they read together.

    Returns the identification, every symbol as (data, symbology, device) and the raw replies.
    The frames the cameras attached to their results (JPEG) are appended to ``images`` as
    (device, bytes), when given.
    """
    results = await asyncio.gather(*(r.read() for r in readers))
    symbols: list[tuple[str, str, str]] = []
    raws: list[str] = []
    errors: list[DriverError] = []
    multiple: list[str] = []
    for link, result in zip(readers, results, strict=True):
        if isinstance(result, DriverError):
            errors.append(result)
            raws.append(f"{link.driver.name}: {result.detail}")
            continue
        raws.append(result.raw)
        image = getattr(result, "image", None)
        if images is not None and image:
            images.append((link.driver.name, image))
        if getattr(result, "multiple", False):
            multiple.append(link.driver.name)
        symbols.extend((s.data, s.symbology, link.driver.name) for s in result.symbols)
    if errors and len(errors) == len(readers):
        if all(isinstance(e, DeviceTimeout) for e in errors):
            reason, why = RejectReason.NO_READ, "; ".join(str(e) for e in errors)
        else:
            reason, why = RejectReason.DEVICE_FAULT, "; ".join(str(e) for e in errors)
        return Identification(None, reason, why), tuple(symbols), " | ".join(raws)
    identification = rules.identify(BarcodeRead(d, s) for d, s, _ in symbols)
    if multiple and identification.reason is not RejectReason.MULTIPLE_LABELS:
        # The reader itself says it saw several codes (Datalogic multiple-read string,
        # AutoID MULTIPLE_IDENTIFIERS): never sort such a parcel by the one code it sent.
        identification = Identification(
            None,
            RejectReason.MULTIPLE_LABELS,
            f"{', '.join(multiple)} reported a multiple read: {' | '.join(raws)}"[:300],
        )
    return identification, tuple(symbols), " | ".join(raws)
