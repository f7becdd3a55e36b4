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

Upsampled retry: a region whose upright crop still reads nothing is cropped once more
at ``upscale`` x (bicubic) and decoded again. A small 2D symbol under blur (3 px
modules, sigma 1.2 px) is *found* at 1x, but zxing-cpp samples each module at its
centre in the binarised image and, with only 3 px a module at an odd angle, enough
samples land on a blurred edge that Reed-Solomon gives up (``ChecksumError``) or
passes with little margin left; which frames fail shifts between zxing-cpp releases
and with a few grey levels of difference in the frame. At 2x a module is 6 px and its
centre sits clear of the edges: the same symbols read with (nearly) all their error
correction unused. The retry costs nothing on a frame already read; it runs only for
a region nothing was read from (a damaged label, or a label that is not there).
It is on for zxing only: zbar reads more blurred symbols with it too, but also
misreads more heavily blurred Code 128 as other data (12 of 40 frames at sigma 1.8,
against 5 without it), and a wrong read is worse than a no-read.
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


UPSCALE = {"zxing": 2.0, "pyzbar": 1.0}
"""Default scale of the retry on an unread region, per back-end (1 = no retry)."""


class Decoder:
    """One back-end plus the deskew fallback; thread-safe (no state between calls)."""

    def __init__(
        self,
        name: str,
        scan: Scanner,
        *,
        deskew: bool = True,
        max_regions: int = 6,
        upscale: float = 1.0,
    ):
        self.name = name
        self.scan = scan
        self.deskew = deskew
        self.max_regions = max_regions
        self.upscale = upscale

    def find(self, gray: np.ndarray) -> list[Found]:
        """Every symbol with its quad (frame pixels): whole frame, then deskewed regions."""
        gray = to_gray(gray)
        found = self.scan(gray)
        if self.deskew:
            for region in find_regions(gray, max_regions=self.max_regions):
                if not _covered(region, found):
                    found.extend(self.scan_region(gray, region))
        return dedupe(found)

    def scan_region(self, gray: np.ndarray, region: Region) -> list[Found]:
        """The symbols in one region rotated upright: at 1x, then (none read) at ``upscale`` x."""
        scales = (1.0, self.upscale) if self.upscale > 1 else (1.0,)
        for scale in scales:
            crop, inverse = upright_crop(gray, region, scale=scale)
            hits = self.scan(crop)
            if hits:
                return [f.mapped(inverse) for f in hits]
        return []

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
    upscale: float | None = None,
) -> Decoder:
    """A decoder for ``zxing`` or ``pyzbar`` (``formats`` applies to zxing only).

    ``upscale`` is the scale of the retry on a region nothing was read from (see the
    module docstring); 1 turns the retry off, None takes the back-end's :data:`UPSCALE`.
    """
    if upscale is None:
        upscale = UPSCALE.get(backend, 1.0)
    if backend == "zxing":
        fmt = format_set(formats)

        def scan(gray: np.ndarray) -> list[Found]:
            return scan_zxing(gray, fmt)

        return Decoder("zxing", scan, deskew=deskew, max_regions=max_regions, upscale=upscale)
    if backend == "pyzbar":
        return Decoder("pyzbar", scan_zbar, deskew=deskew, max_regions=max_regions, upscale=upscale)
    raise ValueError(f"unknown decoder back-end {backend!r}; expected one of {BACKENDS}")


def decode(gray: np.ndarray, backend: str = "zxing", *, deskew: bool = True) -> list[BarcodeRead]:
    """Decode every symbol in an image with one back-end (see :func:`make_decoder`)."""
    return make_decoder(backend, deskew=deskew).decode(gray)
