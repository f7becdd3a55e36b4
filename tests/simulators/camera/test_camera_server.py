"""The camera simulator's HTTP server, spoken to with a bare asyncio client."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import cv2
import numpy as np
import pytest

from simulators.camera import CameraSimulator
from simulators.parcels import ParcelSpec, ReaderOutcome

PARCEL = ParcelSpec(3, "LS0000000003", "R01", 400, 300, 200, 2.0, True, ReaderOutcome.OK)


@pytest.fixture
async def sim() -> AsyncIterator[CameraSimulator]:
    camera = CameraSimulator("cam", lambda: PARCEL, fps=50)
    await camera.start()
    yield camera
    await camera.stop()


async def get(sim: CameraSimulator, path: str) -> tuple[bytes, bytes]:
    reader, writer = await asyncio.open_connection("127.0.0.1", sim.port)
    writer.write(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    await writer.drain()
    data = await reader.read()
    writer.close()
    await writer.wait_closed()
    head, _, body = data.partition(b"\r\n\r\n")
    return head, body


@pytest.mark.parametrize(
    ("path", "ctype"), [("/snapshot.jpg", b"image/jpeg"), ("/snapshot.png", b"image/png")]
)
async def test_snapshot_is_the_rendered_frame(sim, path: str, ctype: bytes) -> None:
    head, body = await get(sim, path)
    assert head.startswith(b"HTTP/1.1 200") and ctype in head
    image = cv2.imdecode(np.frombuffer(body, np.uint8), cv2.IMREAD_GRAYSCALE)
    assert image.shape == (1024, 1280)
    assert sim.snapshots == 1


async def test_unknown_path_and_method(sim) -> None:
    head, _ = await get(sim, "/index.html")
    assert head.startswith(b"HTTP/1.1 404")
    reader, writer = await asyncio.open_connection("127.0.0.1", sim.port)
    writer.write(b"POST /snapshot.jpg HTTP/1.1\r\n\r\n")
    assert (await reader.read()).startswith(b"HTTP/1.1 405")
    writer.close()
    await writer.wait_closed()


async def test_mjpeg_stream_sends_multipart_jpeg_frames_until_stopped(sim) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", sim.port)
    writer.write(b"GET /stream.mjpg HTTP/1.1\r\n\r\n")
    head = await reader.readuntil(b"\r\n\r\n")
    assert b"multipart/x-mixed-replace;boundary=lanesortframe" in head
    for _ in range(2):
        part = await reader.readuntil(b"\r\n\r\n")
        assert part.startswith(b"--lanesortframe\r\nContent-Type: image/jpeg")
        length = int(part.split(b"Content-Length: ")[1].split(b"\r\n")[0])
        jpeg = await reader.readexactly(length + 2)
        assert jpeg[:2] == b"\xff\xd8"
    await sim.stop()  # ends the stream: the client sees EOF
    await asyncio.wait_for(reader.read(), 2.0)
    writer.close()
    await writer.wait_closed()


async def test_corrupt_and_override(sim) -> None:
    sim.image = np.full((100, 200), 128, np.uint8)
    _, body = await get(sim, "/snapshot.png")
    assert cv2.imdecode(np.frombuffer(body, np.uint8), cv2.IMREAD_GRAYSCALE).shape == (100, 200)
    sim.corrupt = True
    _, body = await get(sim, "/snapshot.jpg")
    assert cv2.imdecode(np.frombuffer(body, np.uint8), cv2.IMREAD_GRAYSCALE) is None
