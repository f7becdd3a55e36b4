"""The zbar back-end through pyzbar's ctypes bindings, plus the symbol modifiers.

``pyzbar.decode`` does not tell whether a Code 128 or QR symbol carried FNC1 in first
position (GS1), so this module drives libzbar with pyzbar's own bindings and asks
``zbar_symbol_get_modifiers`` for ``ZBAR_MOD_GS1``. zbar does not decode Data Matrix
(nor Aztec), so a Data Matrix label is never read by this back-end.
ctypes releases the GIL during the scan, so two worker threads use two cores.
"""

from __future__ import annotations

from ctypes import POINTER, c_uint, c_void_p, cast, string_at

import numpy as np
from pyzbar import wrapper as zw

from drivers.camera.symbols import GS, Found, aim_id

_FOURCC_Y800 = 808466521
_MOD_GS1 = 1 << 0
_GS1_CAPABLE = {"CODE128", "QRCODE", "DATABAR", "DATABAR_EXP"}

try:
    _get_modifiers = zw.zbar_function("zbar_symbol_get_modifiers", c_uint, POINTER(zw.zbar_symbol))
except AttributeError:  # an old libzbar without modifiers: GS1 is then never flagged
    _get_modifiers = None


def _symbol_name(symbol: object) -> str:
    kind = symbol.contents.type  # type: ignore[attr-defined]
    try:
        return zw.ZBarSymbol(kind).name
    except ValueError:
        return f"UNKNOWN{kind}"


def _quad(symbol: object) -> tuple[tuple[float, float], ...]:
    n = zw.zbar_symbol_get_loc_size(symbol)
    pts = [
        (float(zw.zbar_symbol_get_loc_x(symbol, i)), float(zw.zbar_symbol_get_loc_y(symbol, i)))
        for i in range(n)
    ]
    if not pts:
        return ((0.0, 0.0),)
    xs = [p[0] for p in pts]
    ys = [p[1] for p in pts]
    # zbar gives the scan-line hits along a 1D symbol; its bounding box is the quad
    return ((min(xs), min(ys)), (max(xs), min(ys)), (max(xs), max(ys)), (min(xs), max(ys)))


def scan_zbar(gray: np.ndarray) -> list[Found]:
    """Every symbol zbar finds in an 8-bit grayscale image (AIM ids, GS kept as ASCII 29)."""
    pixels = np.ascontiguousarray(gray, dtype=np.uint8)
    height, width = pixels.shape[:2]
    data = pixels.tobytes()
    scanner = zw.zbar_image_scanner_create()
    image = zw.zbar_image_create()
    try:
        zw.zbar_image_set_format(image, _FOURCC_Y800)
        zw.zbar_image_set_size(image, width, height)
        zw.zbar_image_set_data(image, cast(data, c_void_p), len(data), None)
        if zw.zbar_scan_image(scanner, image) < 0:
            raise ValueError("zbar: unsupported image format")
        found = []
        symbol = zw.zbar_image_first_symbol(image)
        while symbol:
            raw = string_at(zw.zbar_symbol_get_data(symbol), zw.zbar_symbol_get_data_length(symbol))
            name = _symbol_name(symbol)
            mods = _get_modifiers(symbol) if _get_modifiers is not None else 0
            text = raw.decode("utf-8", "replace")
            gs1 = bool(mods & _MOD_GS1) and name in _GS1_CAPABLE
            if gs1:
                text = text.lstrip(GS)  # FNC1 in first position is the id, not data
            found.append(Found(text, aim_id(name, gs1), _quad(symbol)))
            symbol = zw.zbar_symbol_next(symbol)
        return found
    finally:
        zw.zbar_image_destroy(image)
        zw.zbar_image_scanner_destroy(scanner)
