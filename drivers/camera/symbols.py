"""Decoded symbols before they become :class:`BarcodeRead`, and the AIM symbology ids.

AIM identifiers (ISO/IEC 15424) used here: ``]C0`` Code 128, ``]C1`` GS1-128 (FNC1 in
first position), ``]d1`` Data Matrix, ``]d2`` GS1 DataMatrix, ``]Q1`` QR Code, ``]Q3``
GS1 QR Code. GS1 field separators (FNC1 inside the data) are kept as ASCII 29 (GS).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from drivers.barcode.base import BarcodeRead

GS = "\x1d"
"""ASCII 29, what FNC1 becomes inside GS1 data."""

Quad = tuple[tuple[float, float], ...]
"""Four corners of a symbol in image pixels (x, y)."""

# (symbology name, gs1) -> AIM id; names are the back-ends' upper-case format names
AIM_IDS: dict[tuple[str, bool], str] = {
    ("CODE128", False): "]C0",
    ("CODE128", True): "]C1",
    ("DATAMATRIX", False): "]d1",
    ("DATAMATRIX", True): "]d2",
    ("QRCODE", False): "]Q1",
    ("QRCODE", True): "]Q3",
    ("CODE39", False): "]A0",
    ("CODE93", False): "]G0",
    ("CODABAR", False): "]F0",
    ("I25", False): "]I0",
    ("ITF", False): "]I0",
    ("EAN13", False): "]E0",
    ("EAN8", False): "]E4",
    ("UPCA", False): "]E0",
    ("UPCE", False): "]E0",
    ("PDF417", False): "]L2",
    ("DATABAR", True): "]e0",
    ("DATABAR_EXP", True): "]e0",
    ("AZTEC", False): "]z0",
}


def aim_id(symbology: str, gs1: bool) -> str:
    """The AIM identifier of a format name (``CODE128``, ``QRCODE``…); ``""`` if unknown."""
    key = symbology.upper().replace(" ", "").replace("-", "")
    return AIM_IDS.get((key, gs1)) or AIM_IDS.get((key, not gs1), "")


@dataclass(frozen=True, slots=True)
class Found:
    """One symbol found by a back-end: data, AIM id and its quad in image pixels."""

    data: str
    symbology: str
    quad: Quad

    @property
    def centre(self) -> tuple[float, float]:
        """Centre of the quad."""
        xs = [p[0] for p in self.quad]
        ys = [p[1] for p in self.quad]
        return sum(xs) / len(xs), sum(ys) / len(ys)

    def to_read(self) -> BarcodeRead:
        """The public :class:`BarcodeRead` (position = rounded centre, no grade)."""
        x, y = self.centre
        return BarcodeRead(self.data, self.symbology, (round(x), round(y)), None)

    def mapped(self, inverse: np.ndarray) -> Found:
        """This symbol with its quad mapped through a 2x3 affine matrix (crop -> frame)."""
        pts = np.array(self.quad, dtype=np.float64)
        out = pts @ inverse[:, :2].T + inverse[:, 2]
        return Found(self.data, self.symbology, tuple((float(x), float(y)) for x, y in out))


def quad_contains(quad: Quad, point: tuple[float, float], margin: float = 0.0) -> bool:
    """True when ``point`` lies inside the (convex) quad, or within ``margin`` pixels of it."""
    contour = np.array(quad, dtype=np.float32).reshape(-1, 1, 2)
    return cv2.pointPolygonTest(contour, (float(point[0]), float(point[1])), True) >= -margin


def dedupe(found: list[Found], min_distance: float = 40.0) -> list[Found]:
    """Drop a symbol that repeats one already listed (same data and id, centres close)."""
    kept: list[Found] = []
    for f in found:
        cx, cy = f.centre
        if any(
            k.data == f.data
            and k.symbology == f.symbology
            and abs(k.centre[0] - cx) + abs(k.centre[1] - cy) < min_distance
            for k in kept
        ):
            continue
        kept.append(f)
    return kept
