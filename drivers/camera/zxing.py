"""The zxing-cpp back-end (``zxingcpp.read_barcodes``), text as plain data with GS kept.

zxing-cpp gives the AIM symbology identifier itself (``Barcode.symbology_identifier``:
``]C1`` for GS1-128, ``]d2`` GS1 DataMatrix, ``]Q3`` GS1 QR…); the format name and
content type are the fallback. The native reader releases the GIL, so two worker
threads decode on two cores.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import zxingcpp

from drivers.camera.symbols import Found, aim_id

DEFAULT_FORMATS: tuple[str, ...] = ("Code128", "DataMatrix", "QRCode")
"""Formats searched by default (fewer formats = faster); any zxing-cpp format name works."""


def format_set(names: Sequence[str]) -> zxingcpp.BarcodeFormats:
    """zxing-cpp formats from names such as ``Code128`` or ``QRCode``."""
    return zxingcpp.barcode_formats_from_str(",".join(names))


def _quad(position: object) -> tuple[tuple[float, float], ...]:
    corners = (
        position.top_left,  # type: ignore[attr-defined]
        position.top_right,  # type: ignore[attr-defined]
        position.bottom_right,  # type: ignore[attr-defined]
        position.bottom_left,  # type: ignore[attr-defined]
    )
    return tuple((float(p.x), float(p.y)) for p in corners)


def scan_zxing(
    gray: np.ndarray, formats: zxingcpp.BarcodeFormats | None = None, *, invert: bool = False
) -> list[Found]:
    """Every symbol zxing-cpp finds in an 8-bit grayscale image."""
    barcodes = zxingcpp.read_barcodes(
        np.ascontiguousarray(gray),
        formats=formats if formats is not None else format_set(DEFAULT_FORMATS),
        try_rotate=True,
        try_downscale=False,
        try_invert=invert,
        text_mode=zxingcpp.TextMode.Plain,
    )
    found = []
    for bc in barcodes:
        gs1 = bc.content_type == zxingcpp.ContentType.GS1
        symbology = bc.symbology_identifier or aim_id(bc.format.name, gs1)
        found.append(Found(bc.text, symbology, _quad(bc.position)))
    return found
