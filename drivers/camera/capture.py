"""Frame sources for the camera driver; every call blocks, so run them in worker threads.

* :class:`SnapshotSource` - ``http(s)://…``: one HTTP GET per frame (JPEG/PNG body).
* :class:`StreamSource` - an MJPEG/RTSP stream (``stream: true``) or ``device:N``:
  ``cv2.VideoCapture`` read by a background thread that keeps only the latest frame.
* :class:`FileSource` - ``file:///path``: an image, or a folder whose images are
  served in name order, cycling.

Errors are the driver errors, naming the device and URL: cannot open or connect →
:class:`ConnectionLost`; no frame in time → :class:`DeviceTimeout`; bytes that are not
an image → :class:`ProtocolError`; an HTTP error status → :class:`DeviceFault`.
"""

from __future__ import annotations

import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Protocol
from urllib.parse import unquote, urlparse

import cv2
import numpy as np

from drivers.errors import ConnectionLost, DeviceFault, DeviceTimeout, ProtocolError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".pgm", ".webp")


class FrameSource(Protocol):
    """Where frames come from. ``grab`` returns a grayscale or BGR uint8 image."""

    def open(self) -> None:
        """Open the source (blocking); raise ConnectionLost when it cannot."""

    def grab(self, deadline: float, not_before: float) -> np.ndarray:
        """A frame taken at or after ``not_before`` (monotonic), by ``deadline``."""

    def close(self) -> None:
        """Release the source; safe to call twice."""


def decode_image(data: bytes, device: str, url: str) -> np.ndarray:
    """Encoded image bytes (JPEG, PNG…) as a grayscale image, or ProtocolError."""
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_GRAYSCALE) if data else None
    if image is None:
        raise ProtocolError(device, url, f"not a decodable image ({len(data)} bytes)")
    return image


class SnapshotSource:
    """One HTTP GET per frame; the answer's body is a JPEG or PNG image."""

    def __init__(self, device: str, url: str, connect_timeout_s: float = 2.0):
        self.device = device
        self.url = url
        self.connect_timeout_s = connect_timeout_s

    def _get(self, timeout_s: float) -> bytes:
        try:
            with urllib.request.urlopen(self.url, timeout=max(0.001, timeout_s)) as reply:
                return reply.read()
        except urllib.error.HTTPError as err:
            raise DeviceFault(self.device, self.url, f"HTTP {err.code} {err.reason}") from err
        except TimeoutError as err:
            raise DeviceTimeout(self.device, self.url, "no snapshot in time") from err
        except urllib.error.URLError as err:
            if isinstance(err.reason, TimeoutError):
                raise DeviceTimeout(self.device, self.url, "no snapshot in time") from err
            raise ConnectionLost(self.device, self.url, f"cannot connect: {err.reason}") from err
        except (OSError, ValueError) as err:
            raise ConnectionLost(self.device, self.url, f"cannot connect: {err}") from err

    def open(self) -> None:
        """Probe the URL once (the body is not decoded)."""
        self._get(self.connect_timeout_s)

    def grab(self, deadline: float, not_before: float) -> np.ndarray:
        """GET the snapshot and decode it (a snapshot is always taken after the request)."""
        data = self._get(deadline - time.monotonic())
        return decode_image(data, self.device, self.url)

    def close(self) -> None:
        """Nothing to release (one connection per request)."""


class FileSource:
    """``file:///path``: an image file, or a folder of images served in name order, cycling."""

    def __init__(self, device: str, url: str):
        self.device = device
        self.url = url
        parsed = urlparse(url)
        self.path = Path(unquote(parsed.netloc + parsed.path))
        self.files: list[Path] = []
        self._next = 0
        self._lock = threading.Lock()

    def open(self) -> None:
        """List the file(s); ConnectionLost when missing or an empty folder."""
        if self.path.is_dir():
            self.files = sorted(
                p for p in self.path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES
            )
            if not self.files:
                raise ConnectionLost(self.device, self.url, "no images in folder")
        elif self.path.is_file():
            self.files = [self.path]
        else:
            raise ConnectionLost(self.device, self.url, "no such file or folder")

    def grab(self, deadline: float, not_before: float) -> np.ndarray:
        """The next image (the same one for a single file)."""
        with self._lock:
            if not self.files:
                self.open()
            path = self.files[self._next % len(self.files)]
            self._next += 1
        try:
            data = path.read_bytes()
        except OSError as err:
            raise ConnectionLost(self.device, self.url, f"cannot read {path}: {err}") from err
        return decode_image(data, self.device, f"{self.url} ({path.name})")

    def close(self) -> None:
        """Nothing to release."""


def device_index(url: str) -> int | None:
    """The camera index of ``device:N``, else None."""
    if url.startswith("device:") and url[7:].isdigit():
        return int(url[7:])
    return None
