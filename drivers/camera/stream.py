"""MJPEG/RTSP streams and local cameras: a thread reads ``cv2.VideoCapture`` continuously.

Only the newest frame is kept (with its arrival time), so a trigger never gets a stale
frame from a queue. When the stream breaks the thread reopens it with back-off.
"""

from __future__ import annotations

import logging
import threading
import time

import cv2
import numpy as np

from drivers.errors import ConnectionLost, DeviceTimeout

log = logging.getLogger(__name__)


class StreamSource:
    """``cv2.VideoCapture`` of a stream URL or camera index, newest frame only."""

    def __init__(
        self,
        device: str,
        url: str,
        index: int | None = None,
        *,
        open_timeout_s: float = 3.0,
        read_timeout_s: float = 3.0,
        reconnect_min_s: float = 0.2,
        reconnect_max_s: float = 5.0,
    ):
        self.device = device
        self.url = url
        self.index = index
        self.open_timeout_s = open_timeout_s
        self.read_timeout_s = read_timeout_s
        self.reconnect_min_s = reconnect_min_s
        self.reconnect_max_s = reconnect_max_s
        self.frames = 0
        self._cond = threading.Condition()
        self._frame: np.ndarray | None = None
        self._stamp = 0.0
        self._connected = False
        self._error = ""
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _capture(self) -> cv2.VideoCapture:
        if self.index is not None:
            return cv2.VideoCapture(self.index)
        params = [
            cv2.CAP_PROP_OPEN_TIMEOUT_MSEC,
            int(self.open_timeout_s * 1000),
            cv2.CAP_PROP_READ_TIMEOUT_MSEC,
            int(self.read_timeout_s * 1000),
        ]
        return cv2.VideoCapture(self.url, cv2.CAP_FFMPEG, params)

    def open(self) -> None:
        """Open the stream and start the reader thread; ConnectionLost when it cannot."""
        if self._thread is not None and self._thread.is_alive():
            return
        cap = self._capture()
        if not cap.isOpened():
            cap.release()
            raise ConnectionLost(self.device, self.url, "cannot open the stream")
        self._stop.clear()
        self._connected = True
        self._thread = threading.Thread(
            target=self._run, args=(cap,), name=f"camera-{self.device}", daemon=True
        )
        self._thread.start()

    def _run(self, cap: cv2.VideoCapture) -> None:
        delay = self.reconnect_min_s
        while not self._stop.is_set():
            ok, frame = cap.read() if cap is not None else (False, None)
            if ok and frame is not None:
                with self._cond:
                    self._frame, self._stamp = frame, time.monotonic()
                    self._connected, self._error = True, ""
                    self.frames += 1
                    self._cond.notify_all()
                delay = self.reconnect_min_s
                continue
            if cap is not None:
                cap.release()
                cap = None
            with self._cond:
                self._connected, self._error = False, "stream lost"
                self._cond.notify_all()
            if self._stop.wait(delay):
                break
            delay = min(delay * 2, self.reconnect_max_s)
            cap = self._capture()
            if not cap.isOpened():
                cap.release()
                cap = None
        if cap is not None:
            cap.release()

    def grab(self, deadline: float, not_before: float) -> np.ndarray:
        """The newest frame that arrived at or after ``not_before``, waiting until ``deadline``."""
        with self._cond:
            while True:
                if self._frame is not None and self._stamp >= not_before:
                    return self._frame
                remaining = deadline - time.monotonic()
                if not self._connected and self._error:
                    raise ConnectionLost(self.device, self.url, self._error)
                if remaining <= 0:
                    raise DeviceTimeout(self.device, self.url, "no frame in time")
                self._cond.wait(remaining)

    def close(self) -> None:
        """Stop the reader thread (it exits after its current read) and release."""
        self._stop.set()
        with self._cond:
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=self.read_timeout_s + 1.0)
            if self._thread.is_alive():
                log.warning("camera %s: stream thread still blocked in a read", self.device)
            self._thread = None
