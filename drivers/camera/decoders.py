"""Decoders behind one interface: ``decode(gray_image) -> list[BarcodeRead]``.

Back-ends: ``zxing`` (zxing-cpp; Code 128, GS1-128, Data Matrix, QR…) and ``pyzbar``
(zbar; Code 128, GS1-128, QR and the retail codes, **no Data Matrix**).

Symbology ids (AIM): Code 128 ``]C0``, GS1-128 ``]C1``, Data Matrix ``]d1``, GS1
DataMatrix ``]d2``, QR ``]Q1``, GS1 QR ``]Q3``. GS1 data keeps FNC1 separators as
ASCII 29. ``position`` is the centre of the symbol's quad; ``grade`` is None.

Deskew: the back-end first reads the whole frame. With ``deskew`` on, barcode-like
regions are then located with OpenCV (:func:`drivers.camera.deskew.find_regions`);
each region that holds no symbol read yet is rotated upright and decoded again, so a
label at any angle is read, and a rotated second label next to a straight one is not
missed (it makes a multi-label case).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import cv2
import numpy as np

from drivers.barcode.base import BarcodeRead
from drivers.camera.deskew import Region, find_regions, upright_crop
from drivers.camera.symbols import Found, dedupe, quad_contains
from drivers.camera.zbar import scan_zbar
from drivers.camera.zxing import DEFAULT_FORMATS, format_set, scan_zxing

BACKENDS = ("zxing", "pyzbar")
"""Back-end names accepted by :func:`make_decoder` (as in ``CameraDevice.driver``)."""

Scanner = Callable[[np.ndarray], list[Found]]


class Decoder:
    """One back-end plus the deskew fallback; thread-safe (no state between calls)."""

    def __init__(self, name: str, scan: Scanner, *, deskew: bool = True, max_regions: int = 6):
        self.name = name
        self.scan = scan
        self.deskew = deskew
        self.max_regions = max_regions

    def find(self, gray: np.ndarray) -> list[Found]:
        """Every symbol with its quad (frame pixels): whole frame, then deskewed regions."""
        gray = to_gray(gray)
        found = self.scan(gray)
        if self.deskew:
            for region in find_regions(gray, max_regions=self.max_regions):
                if _covered(region, found):
                    continue
                crop, inverse = upright_crop(gray, region)
                found.extend(f.mapped(inverse) for f in self.scan(crop))
        return dedupe(found)

    def decode(self, gray: np.ndarray) -> list[BarcodeRead]:
        """Every symbol in the image as :class:`BarcodeRead` (empty list = no read)."""
        return [f.to_read() for f in self.find(gray)]


def _covered(region: Region, found: list[Found]) -> bool:
    """True when a symbol already read lies on this region (no need to decode it again)."""
    margin = 0.25 * max(region.size)
    return any(
        quad_contains(f.quad, region.centre, margin)
        or quad_contains(tuple(map(tuple, region.box())), f.centre)
        for f in found
    )


def to_gray(image: np.ndarray) -> np.ndarray:
    """An 8-bit single-channel view of the image (BGR/BGRA converted)."""
    if image.ndim == 3 and image.shape[2] == 3:
        image = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    elif image.ndim == 3 and image.shape[2] == 4:
        image = cv2.cvtColor(image, cv2.COLOR_BGRA2GRAY)
    elif image.ndim == 3:
        image = image[:, :, 0]
    if image.dtype != np.uint8:
        image = np.clip(image, 0, 255).astype(np.uint8)
    return image


def make_decoder(
    backend: str = "zxing",
    *,
    deskew: bool = True,
    formats: Sequence[str] = DEFAULT_FORMATS,
    max_regions: int = 6,
) -> Decoder:
    """A decoder for ``zxing`` or ``pyzbar`` (``formats`` applies to zxing only)."""
    if backend == "zxing":
        fmt = format_set(formats)

        def scan(gray: np.ndarray) -> list[Found]:
            return scan_zxing(gray, fmt)

        return Decoder("zxing", scan, deskew=deskew, max_regions=max_regions)
    if backend == "pyzbar":
        return Decoder("pyzbar", scan_zbar, deskew=deskew, max_regions=max_regions)
    raise ValueError(f"unknown decoder back-end {backend!r}; expected one of {BACKENDS}")


def decode(gray: np.ndarray, backend: str = "zxing", *, deskew: bool = True) -> list[BarcodeRead]:
    """Decode every symbol in an image with one back-end (see :func:`make_decoder`)."""
    return make_decoder(backend, deskew=deskew).decode(gray)
