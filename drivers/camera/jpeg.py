"""The frame a camera read a parcel from, as a small JPEG a supervisor can look at later.

Which frames are kept is the camera's ``keep_images`` policy (:data:`KEEP_IMAGES`):

* ``all`` (the default): every frame, read or not; a supervisor looking a parcel up
  wants to see its label whatever happened to it (a wrong route, a misread digit, a
  label torn on the belt are all found on read parcels too).
* ``no_read``: only the frames in which the decoder found no symbol, to see why.
* ``none``: no image (saves the encoding time and the disk).

Encoding blocks (a 1280x1024 grey frame takes a few milliseconds): call it from the
worker thread that decoded the frame, never on the event loop.
"""

from __future__ import annotations

import logging
from typing import Literal

import cv2
import numpy as np

log = logging.getLogger(__name__)

KeepImages = Literal["none", "no_read", "all"]
KEEP_IMAGES: tuple[KeepImages, ...] = ("none", "no_read", "all")
"""The accepted ``keep_images`` policies."""

MAX_WIDTH = 1280
"""Frames wider than this are scaled down (same aspect ratio) before encoding."""
QUALITY = 80
"""JPEG quality (0..100): labels stay legible at about a tenth of the raw frame's size."""


def wants_image(policy: KeepImages, symbols_read: int) -> bool:
    """True when ``policy`` keeps the frame of a read that found ``symbols_read`` symbols."""
    if policy not in KEEP_IMAGES:
        raise ValueError(f"keep_images must be one of {KEEP_IMAGES}, not {policy!r}")
    return policy == "all" or (policy == "no_read" and symbols_read == 0)


def encode_jpeg(
    frame: np.ndarray, max_width: int = MAX_WIDTH, quality: int = QUALITY
) -> bytes | None:
    """``frame`` (grey or BGR, uint8) as JPEG bytes, at most ``max_width`` px wide.

    Returns None when OpenCV cannot encode it: an image is an aid for people, a read
    never fails for want of one.
    """
    try:
        height, width = frame.shape[:2]
        if width > max_width:
            size = (max_width, max(1, round(height * max_width / width)))
            frame = cv2.resize(frame, size, interpolation=cv2.INTER_AREA)
        ok, buffer = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    except (cv2.error, ValueError) as err:
        log.warning("cannot encode a camera frame as JPEG: %s", err)
        return None
    return buffer.tobytes() if ok else None
