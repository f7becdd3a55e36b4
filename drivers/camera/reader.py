"""A plain camera used as a barcode reader: grab one frame per trigger, decode every symbol.

Frame capture and decoding run in a dedicated pool of worker threads (2 by default: both
zxing-cpp and zbar release the GIL while decoding), never on the event loop. The whole
trigger (grab + decode) is bounded by ``timeout_s``; past it the trigger raises
:class:`DeviceTimeout` (the worker finishes in the background and its result is dropped).

The frame a result was read from is attached to it as JPEG bytes (``ReadResult.image``)
when the ``keep_images`` policy keeps it (see :mod:`drivers.camera.jpeg`); it is encoded
by the same worker thread, right after decoding, so it counts in ``timeout_s``.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from drivers.barcode.base import BarcodeRead, ReadResult
from drivers.camera.capture import FileSource, FrameSource, SnapshotSource, device_index
from drivers.camera.decoders import Decoder, make_decoder
from drivers.camera.jpeg import MAX_WIDTH, QUALITY, KeepImages, encode_jpeg, wants_image
from drivers.camera.stream import StreamSource
from drivers.camera.zxing import DEFAULT_FORMATS
from drivers.errors import ConnectionLost, DeviceTimeout


def make_source(name: str, url: str, stream: bool) -> FrameSource:
    """The frame source for a camera URL (see :mod:`drivers.camera.capture`)."""
    index = device_index(url)
    if index is not None:
        return StreamSource(name, url, index)
    if url.startswith("file://"):
        return FileSource(name, url)
    if stream or url.startswith(("rtsp://", "rtsps://")):
        return StreamSource(name, url)
    if url.startswith(("http://", "https://")):
        return SnapshotSource(name, url)
    raise ConnectionLost(name, url, "unsupported camera URL (http, rtsp, file:// or device:N)")


def describe(decoder: str, frame: np.ndarray, symbols: Sequence[BarcodeRead]) -> str:
    """The ``raw`` text of a read: ``zxing 1280x1024 2 symbol(s): ]C0LS…@(640,512); …``."""
    h, w = frame.shape[:2]
    parts = "; ".join(f"{s.symbology}{s.data!r}@{s.position}" for s in symbols)
    return f"{decoder} {w}x{h} {len(symbols)} symbol(s)" + (f": {parts}" if parts else "")


class CameraReader:
    """A camera at ``url`` read like a triggered barcode reader (:class:`BarcodeReader`).

    ``keep_images`` says which frames are attached to the results as JPEG (at most
    ``image_max_width`` px wide, quality ``image_quality``): ``all`` (the default, since
    a supervisor looking any parcel up wants to see its label, read or not),
    ``no_read`` (only frames with no symbol) or ``none``.
    """

    def __init__(
        self,
        name: str,
        url: str,
        decoder: str = "zxing",
        timeout_s: float = 0.08,
        stream: bool = False,
        deskew: bool = True,
        *,
        workers: int = 2,
        max_frame_age_s: float = 0.1,
        formats: Sequence[str] = DEFAULT_FORMATS,
        keep_images: KeepImages = "all",
        image_max_width: int = MAX_WIDTH,
        image_quality: int = QUALITY,
    ):
        wants_image(keep_images, 0)  # ValueError on an unknown policy
        self.name = name
        self.keep_images: KeepImages = keep_images
        self.image_max_width = image_max_width
        self.image_quality = image_quality
        self.address = url
        self.url = url
        self.timeout_s = timeout_s
        self.stream = stream
        self.max_frame_age_s = max_frame_age_s
        self.workers = workers
        self.decoder: Decoder = make_decoder(decoder, deskew=deskew, formats=formats)
        self.triggers = 0
        self._source: FrameSource | None = None
        self._executor: ThreadPoolExecutor | None = None

    @property
    def connected(self) -> bool:
        """True between a successful :meth:`connect` and :meth:`close`."""
        return self._source is not None

    async def connect(self) -> None:
        """Open the frame source (probe the snapshot URL, start the stream thread…)."""
        if self._source is not None:
            return
        source = make_source(self.name, self.url, self.stream)
        executor = ThreadPoolExecutor(self.workers, thread_name_prefix=f"camera-{self.name}")
        try:
            await asyncio.get_running_loop().run_in_executor(executor, source.open)
        except BaseException:
            executor.shutdown(wait=False, cancel_futures=True)
            raise
        self._source, self._executor = source, executor

    async def close(self) -> None:
        """Stop the source and the worker threads; safe to call twice."""
        source, executor = self._source, self._executor
        self._source = self._executor = None
        if source is not None:
            await asyncio.to_thread(source.close)
        if executor is not None:
            executor.shutdown(wait=False, cancel_futures=True)

    def _result(self, frame: np.ndarray) -> ReadResult:
        """Decode ``frame`` and attach it as JPEG when the policy keeps it (blocking)."""
        symbols = tuple(self.decoder.decode(frame))
        image = None
        if wants_image(self.keep_images, len(symbols)):
            image = encode_jpeg(frame, self.image_max_width, self.image_quality)
        return ReadResult(symbols, describe(self.decoder.name, frame, symbols), image=image)

    def _read(self, source: FrameSource, started: float) -> ReadResult:
        frame = source.grab(started + self.timeout_s, started - self.max_frame_age_s)
        return self._result(frame)

    async def trigger(self) -> ReadResult:
        """Grab one frame and decode it; an empty ``symbols`` is an explicit no-read."""
        if self._source is None:
            await self.connect()
        source, executor = self._source, self._executor
        assert source is not None and executor is not None
        self.triggers += 1
        started = time.monotonic()
        future = asyncio.get_running_loop().run_in_executor(executor, self._read, source, started)
        try:
            async with asyncio.timeout(self.timeout_s):
                return await future
        except TimeoutError as err:
            with contextlib.suppress(BaseException):
                future.cancel()
            raise DeviceTimeout(
                self.name, self.url, f"no frame decoded in {self.timeout_s * 1000:.0f} ms"
            ) from err

    def read_image(self, image: np.ndarray) -> ReadResult:
        """Decode an image already in memory (blocking; for tools and tests)."""
        return self._result(image)
