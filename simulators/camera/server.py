"""The camera simulator's HTTP server (asyncio, no framework), like a cheap IP camera.

* ``GET /snapshot.jpg`` (or ``/snapshot.png``) - the current frame as one image;
* ``GET /stream.mjpg`` - ``multipart/x-mixed-replace`` JPEG frames at ``fps``, readable
  by ``cv2.VideoCapture`` (FFmpeg's mpjpeg demuxer) exactly like an IP camera's stream.

The frame shows the parcel the ``lookup`` callable says is in the scan field (as the
reader simulator does), rendered by :func:`simulators.camera.frames.parcel_frame` and
cached per parcel. ``late_answer`` parcels get their snapshot ``late_answer_ms`` late.
Fault injection: :attr:`CameraSimulator.corrupt` serves bytes that are not an image;
:attr:`CameraSimulator.image` overrides the rendered frame with a given image.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import OrderedDict
from collections.abc import Callable

import cv2
import numpy as np

from simulators.camera.frames import parcel_frame
from simulators.camera.scene import FRAME_SIZE
from simulators.parcels import ParcelSpec, ReaderOutcome

log = logging.getLogger(__name__)

BOUNDARY = "lanesortframe"
_TYPES = {".jpg": "image/jpeg", ".png": "image/png"}


class CameraSimulator:
    """One simulated camera on HTTP; any number of snapshot and stream clients."""

    def __init__(
        self,
        name: str,
        lookup: Callable[[], ParcelSpec | None],
        host: str = "127.0.0.1",
        port: int = 0,
        symbology: str = "code128",
        *,
        size: tuple[int, int] = FRAME_SIZE,
        fps: float = 25.0,
        jpeg_quality: int = 92,
        random_angle: bool = True,
        late_answer_ms: float = 300.0,
        seed: int = 0,
    ):
        self.name = name
        self.lookup = lookup
        self.host = host
        self.requested_port = port
        self.symbology = symbology
        self.size = size
        self.fps = fps
        self.jpeg_quality = jpeg_quality
        self.random_angle = random_angle
        self.late_answer_ms = late_answer_ms
        self.seed = seed
        self.corrupt = False
        self.image: np.ndarray | None = None
        self.snapshots = 0
        self.stream_frames = 0
        self.server: asyncio.Server | None = None
        self._stopping = False
        self._cache: OrderedDict[tuple[object, str], bytes] = OrderedDict()
        self._renders: set[asyncio.Task[bytes]] = set()
        self._sessions: set[asyncio.Task[object]] = set()
        self._writers: set[asyncio.StreamWriter] = set()

    async def start(self) -> None:
        """Start listening."""
        self._stopping = False
        self.server = await asyncio.start_server(self._serve, self.host, self.requested_port)
        log.info("camera %s serving %s", self.name, self.url)

    @property
    def port(self) -> int:
        """The TCP port actually listened on."""
        assert self.server is not None
        return self.server.sockets[0].getsockname()[1]

    @property
    def url(self) -> str:
        """Base URL, ``http://HOST:PORT``."""
        return f"http://{self.host}:{self.port}"

    @property
    def snapshot_url(self) -> str:
        """URL of the JPEG snapshot."""
        return self.url + "/snapshot.jpg"

    @property
    def stream_url(self) -> str:
        """URL of the MJPEG stream."""
        return self.url + "/stream.mjpg"

    def frame(self, spec: ParcelSpec | None) -> np.ndarray:
        """The raw grayscale frame for a parcel (or the override image)."""
        if self.image is not None:
            return self.image
        return parcel_frame(
            spec,
            self.symbology,
            size=self.size,
            random_angle=self.random_angle,
            seed=self.seed,
        )

    def encoded(self, spec: ParcelSpec | None, ext: str = ".jpg") -> bytes:
        """The frame for a parcel encoded as JPEG or PNG (cached per parcel; blocking)."""
        if self.corrupt:
            return b"\xff\xd8\xff\xe0 this is not a JPEG image" * 8
        key = (id(self.image) if self.image is not None else spec, ext)
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        params = [cv2.IMWRITE_JPEG_QUALITY, self.jpeg_quality] if ext == ".jpg" else []
        ok, buf = cv2.imencode(ext, self.frame(spec), params)
        if not ok:
            raise RuntimeError(f"cannot encode {ext}")
        data = buf.tobytes()
        self._cache[key] = data
        while len(self._cache) > 16:
            self._cache.popitem(last=False)
        return data

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        session = asyncio.current_task()
        if session is not None:
            self._sessions.add(session)
        self._writers.add(writer)
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            method, path = _request_line(head)
            path = path.split("?", 1)[0]
            if method != "GET":
                await self._reply(writer, 405, "text/plain", b"only GET\n")
            elif path in ("/snapshot.jpg", "/snapshot.png"):
                await self._snapshot(writer, path[-4:])
            elif path == "/stream.mjpg":
                await self._stream(writer)
            else:
                await self._reply(writer, 404, "text/plain", b"try /snapshot.jpg or /stream.mjpg\n")
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError):
            pass
        except (ConnectionError, OSError) as err:
            log.debug("camera %s: client gone (%s)", self.name, err)
        finally:
            if session is not None:
                self._sessions.discard(session)
            self._writers.discard(writer)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _snapshot(self, writer: asyncio.StreamWriter, ext: str) -> None:
        spec = self.lookup()
        self.snapshots += 1
        if spec is not None and spec.reader_outcome is ReaderOutcome.LATE_ANSWER:
            await asyncio.sleep(self.late_answer_ms / 1000)
        body = await asyncio.to_thread(self.encoded, spec, ext)
        await self._reply(writer, 200, _TYPES[ext], body)

    async def _stream(self, writer: asyncio.StreamWriter) -> None:
        writer.write(
            b"HTTP/1.0 200 OK\r\nCache-Control: no-cache\r\nConnection: close\r\n"
            + f"Content-Type: multipart/x-mixed-replace;boundary={BOUNDARY}\r\n\r\n".encode()
        )
        period = 1.0 / self.fps
        while not self._stopping and not writer.is_closing():
            body = await asyncio.to_thread(self.encoded, self.lookup(), ".jpg")
            writer.write(
                f"--{BOUNDARY}\r\nContent-Type: image/jpeg\r\n"
                f"Content-Length: {len(body)}\r\n\r\n".encode()
                + body
                + b"\r\n"
            )
            await writer.drain()
            self.stream_frames += 1
            await asyncio.sleep(period)

    async def _reply(
        self, writer: asyncio.StreamWriter, status: int, ctype: str, body: bytes
    ) -> None:
        reason = {200: "OK", 404: "Not Found", 405: "Method Not Allowed"}[status]
        writer.write(
            f"HTTP/1.1 {status} {reason}\r\nContent-Type: {ctype}\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
            + body
        )
        await writer.drain()

    def disconnect_clients(self) -> int:
        """Fault injection: drop every connected client (streams end); return how many."""
        writers = list(self._writers)
        for writer in writers:
            writer.close()
        return len(writers)

    def prepare(self, spec: ParcelSpec) -> None:
        """Render a parcel's frame ahead (in a thread), as it is inducted.

        Rendering takes tens of milliseconds; a real camera's exposure does not. Rendering
        while the parcel travels to the scan point keeps the simulator's snapshot latency
        that of a camera, not of the renderer.
        """
        if self._stopping:
            return
        task = asyncio.get_running_loop().create_task(
            asyncio.to_thread(self.encoded, spec, ".jpg"), name=f"camera-render-{self.name}"
        )
        self._renders.add(task)
        task.add_done_callback(self._renders.discard)

    async def stop(self) -> None:
        """Stop listening, end streams and drop clients (cancelling only stragglers)."""
        self._stopping = True
        if self._renders:
            await asyncio.wait(list(self._renders), timeout=2.0)
        if self.server is not None:
            self.server.close()
        self.disconnect_clients()
        sessions = list(self._sessions)
        if sessions:
            _, pending = await asyncio.wait(sessions, timeout=2.0)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.wait(pending, timeout=1.0)
        if self.server is not None:
            await self.server.wait_closed()
            self.server = None


def _request_line(head: bytes) -> tuple[str, str]:
    """(method, path) of an HTTP request head; ValueError when malformed."""
    first = head.split(b"\r\n", 1)[0].decode("latin-1")
    method, path, _version = first.split(" ", 2)
    return method.upper(), path
