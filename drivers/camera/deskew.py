"""Locate barcode-like regions with OpenCV and rotate each one upright, for a second decode.

Pure functions on 8-bit grayscale ``numpy`` images. The locator works on a copy scaled
down to about ``work_width`` pixels wide: the gradient magnitude (bars and modules have
dense edges in every direction, so any angle looks the same), blurred, thresholded,
closed with a square kernel to merge bars into one blob, opened to drop thin lines
(box edges, label borders), then every large enough, solid contour gives a ``cv2.minAreaRect``.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


@dataclass(frozen=True, slots=True)
class Region:
    """A rotated rectangle in full-frame pixels: centre, size (w, h) and angle (degrees)."""

    centre: tuple[float, float]
    size: tuple[float, float]
    angle: float

    def box(self) -> np.ndarray:
        """The four corners (4x2 float32)."""
        return cv2.boxPoints((self.centre, self.size, self.angle))


def find_regions(
    gray: np.ndarray,
    *,
    work_width: int = 400,
    min_gradient: float = 30.0,
    min_area_frac: float = 0.0015,
    max_area_frac: float = 0.25,
    min_rect_fill: float = 0.4,
    max_regions: int = 6,
) -> list[Region]:
    """Candidate barcode regions, largest first (at most ``max_regions``).

    The image is halved (``cv2.pyrDown``) while it is at least twice ``work_width`` wide;
    a pixel counts as 'barcode' when its blurred gradient exceeds ``min_gradient`` and a
    third of the frame's 99th percentile; blobs outside ``min_area_frac`` ..
    ``max_area_frac`` of the frame, or filling less than ``min_rect_fill`` of their
    rotated bounding rectangle (ragged), are dropped. A small 2D symbol whose label text
    is bold (OpenCV 5's ``putText``, or a real label) merges with the text into one
    L-shaped blob that fills only about half its rectangle: 0.4 keeps it (0.5 lost
    about half the low-contrast QR / Data Matrix labels).
    """
    small = gray
    while small.shape[1] >= 2 * work_width:  # anti-aliased halving: cheap and keeps bars
        small = cv2.pyrDown(small)
    scale = small.shape[1] / gray.shape[1]
    gx = cv2.Sobel(small, cv2.CV_16S, 1, 0, ksize=3)
    gy = cv2.Sobel(small, cv2.CV_16S, 0, 1, ksize=3)
    mag = cv2.addWeighted(cv2.convertScaleAbs(gx), 0.5, cv2.convertScaleAbs(gy), 0.5, 0)
    mag = cv2.blur(mag, (5, 5))
    level = max(min_gradient, _percentile(mag, 0.99) * 0.35)
    _, mask = cv2.threshold(mag, level, 255, cv2.THRESH_BINARY)
    mask = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, np.ones((7, 7), np.uint8))
    mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN, np.ones((5, 5), np.uint8))
    contours, _ = cv2.findContours(mask, cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
    frame_area = small.shape[0] * small.shape[1]
    min_area, max_area = min_area_frac * frame_area, max_area_frac * frame_area
    regions = []
    for contour in contours:
        area = cv2.contourArea(contour)
        if not min_area <= area <= max_area:
            continue  # specks, or a whole box / shadow edge (no label is that big)
        (cx, cy), (w, h), angle = cv2.minAreaRect(contour)
        if min(w, h) < 6 or area < min_rect_fill * w * h or _fill(mask, contour) < 0.6:
            continue  # thin, ragged, or a ring (the outline of a box around the label)
        regions.append(
            (area, Region((cx / scale, cy / scale), (w / scale, h / scale), float(angle)))
        )
    regions.sort(key=lambda r: -r[0])
    return [r for _, r in regions[:max_regions]]


def _fill(mask: np.ndarray, contour: np.ndarray) -> float:
    """Share of the contour's inside that is set in the mask (a ring scores low)."""
    x, y, w, h = cv2.boundingRect(contour)
    inside = np.zeros((h, w), np.uint8)
    cv2.drawContours(inside, [contour - (x, y)], -1, 255, -1)
    total = cv2.countNonZero(inside)
    hits = cv2.countNonZero(cv2.bitwise_and(inside, mask[y : y + h, x : x + w]))
    return hits / total if total else 0.0


def _percentile(image: np.ndarray, q: float) -> float:
    """The ``q`` quantile (0..1) of a uint8 image, from its histogram (fast)."""
    hist = cv2.calcHist([image], [0], None, [256], [0, 256]).ravel()
    cumulative = np.cumsum(hist)
    return float(np.searchsorted(cumulative, q * cumulative[-1]))


def upright_crop(
    gray: np.ndarray,
    region: Region,
    *,
    margin: float = 0.25,
    min_margin: float = 24.0,
    scale: float = 1.0,
) -> tuple[np.ndarray, np.ndarray]:
    """The region rotated so its long side is horizontal, with a quiet-zone margin.

    ``scale`` > 1 also upsamples the crop in the same warp (bicubic, which keeps module
    edges steep; 1 is bilinear, as before). Returns (crop, inverse) where ``inverse`` is
    the 2x3 affine matrix mapping crop pixels back to frame pixels (for the symbol's
    position).
    """
    w, h = region.size
    angle = region.angle
    if h > w:  # make the long side horizontal: bars of a 1D code end up vertical
        w, h = h, w
        angle -= 90.0
    pad = max(min_margin, margin * h)
    out_w = round((w + 2 * pad) * scale)
    out_h = round((h + 2 * pad) * scale)
    forward = cv2.getRotationMatrix2D(region.centre, angle, scale)
    forward[0, 2] += out_w / 2 - region.centre[0]
    forward[1, 2] += out_h / 2 - region.centre[1]
    interpolation = cv2.INTER_CUBIC if scale > 1 else cv2.INTER_LINEAR
    crop = cv2.warpAffine(
        gray, forward, (out_w, out_h), flags=interpolation, borderMode=cv2.BORDER_REPLICATE
    )
    inverse = cv2.invertAffineTransform(forward)
    return crop, inverse
