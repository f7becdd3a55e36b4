"""What a barcode reader driver offers: trigger a read, get every symbol or an explicit no-read."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True, slots=True)
class BarcodeRead:
    """One decoded symbol. ``symbology`` is the AIM identifier (``]C0``, ``]C1``…) or ``""``.

    ``position`` (x, y of the symbol's centre, in the device's or image's pixels) and
    ``grade`` (print quality, e.g. ISO/IEC 15416 ``A`` to ``F``) are set where the device
    gives them.
    """

    data: str
    symbology: str = ""
    position: tuple[int, int] | None = None
    grade: str | None = None


@dataclass(frozen=True, slots=True)
class ReadResult:
    """The outcome of one trigger: symbols read (possibly none = no-read) and the raw reply.

    ``multiple`` is set when the reader itself reported a multiple read (Datalogic's
    multiple-read string, AutoID ``MULTIPLE_IDENTIFIERS``): ``symbols`` then holds every
    code it sent, possibly none when it only sent the multiple-read string. Such a result
    is never a no-read; the parcel must be rejected as carrying several labels.

    ``image`` is the frame the result was read from (or, for a no-read, the last frame
    tried) as JPEG bytes, set by readers that see the label (cameras) when their
    ``keep_images`` policy keeps it; None for the other readers.
    """

    symbols: tuple[BarcodeRead, ...]
    raw: str
    multiple: bool = False
    image: bytes | None = field(default=None, repr=False, compare=False)

    @property
    def no_read(self) -> bool:
        """True when the reader explicitly read nothing (and did not report a multiple read)."""
        return not self.symbols and not self.multiple


class BarcodeReader(Protocol):
    """A triggered barcode reader. Every method raises :class:`drivers.errors.DriverError`."""

    name: str
    address: str

    async def connect(self) -> None:
        """Open the link."""

    async def close(self) -> None:
        """Close the link; safe to call twice."""

    async def trigger(self) -> ReadResult:
        """Trigger one read and wait for its result (or the no-read string)."""
