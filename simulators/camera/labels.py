"""Label contents and symbols for the camera simulator, drawn with zxing-cpp's writer.

Symbologies: ``code128`` (the parcel's barcode), ``gs1-128`` (``(420)`` ship-to postal
code, FNC1, ``(00)`` SSCC with its mod-10 check digit), ``datamatrix`` and ``qr``
(the barcode), ``gs1-datamatrix`` and ``gs1-qr`` (the GS1 string). The variable-length
``(420)`` comes first so that the FNC1 separator really appears in the data.
"""

from __future__ import annotations

import zlib

import cv2
import numpy as np
import zxingcpp

GS = "\x1d"
SYMBOLOGIES = ("code128", "gs1-128", "datamatrix", "gs1-datamatrix", "qr", "gs1-qr")
_FORMATS = {
    "code128": zxingcpp.BarcodeFormat.Code128,
    "gs1-128": zxingcpp.BarcodeFormat.Code128,
    "datamatrix": zxingcpp.BarcodeFormat.DataMatrix,
    "gs1-datamatrix": zxingcpp.BarcodeFormat.DataMatrix,
    "qr": zxingcpp.BarcodeFormat.QRCode,
    "gs1-qr": zxingcpp.BarcodeFormat.QRCode,
}
COMPANY_PREFIX = "4012345"
"""GS1 company prefix (7 digits) of the simulated shipper."""


def gs1_check_digit(digits: str) -> str:
    """The GS1 mod-10 check digit of a digit string (weights 3, 1, 3… from the right)."""
    if not digits.isdigit():
        raise ValueError(f"not digits: {digits!r}")
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(digits)))
    return str((10 - total % 10) % 10)


def sscc(barcode: str) -> str:
    """An 18-digit SSCC derived from a barcode's digits (extension, prefix, serial, check)."""
    digits = "".join(c for c in barcode if c.isdigit())
    digits = digits.rjust(10, "0")[-10:]
    body = digits[0] + COMPANY_PREFIX + digits[1:]
    return body + gs1_check_digit(body)


def postal_code(barcode: str) -> str:
    """A 5-digit ship-to postal code, derived from the barcode (stable per parcel)."""
    return f"{zlib.crc32(barcode.encode()) % 90000 + 10000:05d}"


def gs1_fields(barcode: str) -> list[tuple[str, str]]:
    """The (AI, value) pairs on a GS1 label for this barcode."""
    return [("420", postal_code(barcode)), ("00", sscc(barcode))]


def label_text(barcode: str, symbology: str) -> tuple[str, str]:
    """(writer input, data a decoder returns) for a barcode in one symbology.

    GS1 writer input is the bracketed form ``(420)12345(00)…``; the decoded data is the
    element string with FNC1 as ASCII 29: ``42012345<GS>00…``.
    """
    if symbology not in _FORMATS:
        raise ValueError(f"unknown symbology {symbology!r}; expected one of {SYMBOLOGIES}")
    if not symbology.startswith("gs1"):
        return barcode, barcode
    fields = gs1_fields(barcode)
    bracketed = "".join(f"({ai}){value}" for ai, value in fields)
    data = GS.join(ai + value for ai, value in fields)  # (420) is variable: FNC1 after it
    return bracketed, data


def expected_aim(symbology: str) -> str:
    """The AIM id a decoder should report for a simulated symbology."""
    return {
        "code128": "]C0",
        "gs1-128": "]C1",
        "datamatrix": "]d1",
        "gs1-datamatrix": "]d2",
        "qr": "]Q1",
        "gs1-qr": "]Q3",
    }[symbology]


def render_symbol(barcode: str, symbology: str, module_px: int = 3) -> np.ndarray:
    """The bare symbol (black on white, with quiet zones) as a uint8 image."""
    content, _ = label_text(barcode, symbology)
    kwargs = {"gs1": True} if symbology.startswith("gs1") else {}
    symbol = zxingcpp.create_barcode(content, _FORMATS[symbology], **kwargs)
    image = np.array(symbol.to_image(scale=module_px, add_quiet_zones=True), dtype=np.uint8)
    if symbology in ("code128", "gs1-128"):
        height = max(40 * module_px, image.shape[1] // 4)
        image = cv2.resize(image, (image.shape[1], height), interpolation=cv2.INTER_NEAREST)
    return image


def render_label(barcode: str, symbology: str, module_px: int = 3) -> np.ndarray:
    """A white shipping label: a few lines of 'address text' above the symbol."""
    symbol = render_symbol(barcode, symbology, module_px)
    sh, sw = symbol.shape
    pad = 6 * module_px
    text_h = 22 * module_px
    width = max(sw + 2 * pad, 60 * module_px)
    height = sh + 2 * pad + text_h
    label = np.full((height, width), 250, np.uint8)
    x0 = (width - sw) // 2
    label[pad + text_h : pad + text_h + sh, x0 : x0 + sw] = symbol
    scale = 0.35 * module_px
    for i, line in enumerate(("SHIP TO", f"ZIP {postal_code(barcode)}")):
        y = pad + (i + 1) * 9 * module_px
        cv2.putText(label, line, (pad, y), cv2.FONT_HERSHEY_SIMPLEX, scale, 30, 1, cv2.LINE_AA)
    return label
