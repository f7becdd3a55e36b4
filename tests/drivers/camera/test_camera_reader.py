"""The camera driver against the camera simulator over real HTTP, MJPEG and files."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator

import cv2
import numpy as np
import pytest

from drivers.camera import CameraReader
from drivers.camera import reader as reader_module
from drivers.errors import ConnectionLost, DeviceFault, DeviceTimeout, ProtocolError
from simulators.camera import CameraSimulator, label_frame
from simulators.camera.scene import Distortion
from simulators.parcels import ParcelSpec, ReaderOutcome
from tests.conftest import free_port


def spec(i: int, outcome: ReaderOutcome = ReaderOutcome.OK) -> ParcelSpec:
    second = f"LS9{i:09d}" if outcome is ReaderOutcome.MULTI_LABEL else None
    return ParcelSpec(i, f"LS{i:010d}", "R01", 400, 300, 200, 2.0, True, outcome, second)


class Field:
    """What is in the scan field right now (the simulator's lookup)."""

    def __init__(self) -> None:
        self.parcel: ParcelSpec | None = None

    def __call__(self) -> ParcelSpec | None:
        return self.parcel


@pytest.fixture
async def camera() -> AsyncIterator[tuple[CameraSimulator, Field]]:
    field = Field()
    sim = CameraSimulator("cam", field)
    await sim.start()
    yield sim, field
    await sim.stop()


@pytest.mark.parametrize("backend", ["zxing", "pyzbar"])
async def test_snapshot_reads_each_outcome(camera, backend: str) -> None:
    sim, field = camera
    reader = CameraReader("cam", sim.snapshot_url, backend, timeout_s=2.0)
    await reader.connect()
    try:
        expected = {
            ReaderOutcome.OK: ["LS0000000001"],
            ReaderOutcome.NO_READ: [],
            ReaderOutcome.MULTI_LABEL: ["LS0000000003", "LS9000000003"],
            ReaderOutcome.DUPLICATE_READ: ["LS0000000004", "LS0000000004"],
            ReaderOutcome.GARBLED: [],
        }
        for i, (outcome, codes) in enumerate(expected.items(), start=1):
            field.parcel = spec(i, outcome)
            result = await reader.trigger()
            assert sorted(s.data for s in result.symbols) == codes, result.raw
            assert all(s.symbology == "]C0" for s in result.symbols)
            assert result.raw.startswith(f"{backend} 1280x1024 {len(codes)} symbol(s)")
        field.parcel = None
        assert (await reader.trigger()).no_read
    finally:
        await reader.close()


async def test_mjpeg_stream_follows_the_parcel(camera) -> None:
    sim, field = camera
    reader = CameraReader("cams", sim.stream_url, timeout_s=2.0, stream=True, max_frame_age_s=0)
    await reader.connect()
    try:
        for i in (11, 12, 13):
            field.parcel = spec(i)
            await asyncio.sleep(0.3)  # a stream lags: socket and demuxer buffers, rendering
            result = await reader.trigger()  # max age 0: a frame that arrived after the trigger
            assert [s.data for s in result.symbols] == [f"LS{i:010d}"]
        assert sim.stream_frames >= 3
    finally:
        await reader.close()
    await reader.close()  # twice is fine


async def test_capture_and_decode_stay_off_the_event_loop(camera) -> None:
    sim, field = camera
    field.parcel = spec(21, ReaderOutcome.MULTI_LABEL)
    reader = CameraReader("cam", sim.snapshot_url, timeout_s=2.0)
    await reader.connect()
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.002)
            ticks += 1

    task = asyncio.create_task(ticker())
    try:
        started = time.monotonic()
        results = await asyncio.gather(*(reader.trigger() for _ in range(6)))
        elapsed = time.monotonic() - started
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await reader.close()
    assert all(len(r.symbols) == 2 for r in results)
    assert ticks >= elapsed / 0.002 * 0.3  # the loop kept ticking while workers decoded


async def test_file_image_and_folder_cycle(tmp_path) -> None:
    for i, angle in ((1, 0), (2, 33), (3, 250)):
        frame = label_frame(f"LS{i:010d}", "code128", Distortion(angle=angle), seed=i)
        assert cv2.imwrite(str(tmp_path / f"frame{i}.png"), frame)
    (tmp_path / "notes.txt").write_text("not an image")
    single = CameraReader("f", f"file://{tmp_path / 'frame2.png'}", timeout_s=2.0)
    folder = CameraReader("d", f"file://{tmp_path}", timeout_s=2.0)
    try:
        assert [s.data for s in (await single.trigger()).symbols] == ["LS0000000002"]
        seen = [(await folder.trigger()).symbols[0].data for _ in range(4)]
        assert seen == ["LS0000000001", "LS0000000002", "LS0000000003", "LS0000000001"]
    finally:
        await single.close()
        await folder.close()


async def test_unreachable_snapshot_url_is_connection_lost() -> None:
    url = f"http://127.0.0.1:{free_port()}/snapshot.jpg"
    reader = CameraReader("cam", url, timeout_s=0.5)
    with pytest.raises(ConnectionLost, match=url.replace(".", r"\.")):
        await reader.connect()
    with pytest.raises(ConnectionLost):
        await reader.trigger()
    await reader.close()


async def test_unreachable_stream_is_connection_lost() -> None:
    reader = CameraReader("cam", f"http://127.0.0.1:{free_port()}/stream.mjpg", stream=True)
    with pytest.raises(ConnectionLost, match="cannot open"):
        await reader.connect()
    await reader.close()


async def test_corrupt_snapshot_is_protocol_error(camera) -> None:
    sim, field = camera
    field.parcel = spec(1)
    sim.corrupt = True
    reader = CameraReader("cam", sim.snapshot_url, timeout_s=2.0)
    try:
        with pytest.raises(ProtocolError, match="not a decodable image"):
            await reader.trigger()
    finally:
        await reader.close()


async def test_corrupt_or_missing_file(tmp_path) -> None:
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"\xff\xd8 truncated")
    reader = CameraReader("f", f"file://{bad}")
    with pytest.raises(ProtocolError):
        await reader.trigger()
    await reader.close()
    missing = CameraReader("f", f"file://{tmp_path / 'nope'}")
    with pytest.raises(ConnectionLost, match="no such file"):
        await missing.connect()


async def test_http_error_status_is_device_fault(camera) -> None:
    sim, _ = camera
    reader = CameraReader("cam", sim.url + "/nothing.jpg", timeout_s=2.0)
    with pytest.raises(DeviceFault, match="HTTP 404"):
        await reader.connect()
    await reader.close()


async def test_late_snapshot_is_device_timeout(camera) -> None:
    sim, field = camera
    field.parcel = spec(5, ReaderOutcome.LATE_ANSWER)
    reader = CameraReader("cam", sim.snapshot_url, timeout_s=0.1)
    await reader.connect()
    try:
        with pytest.raises(DeviceTimeout):
            await reader.trigger()
    finally:
        await reader.close()


async def test_stream_that_stops_sending_times_out_then_is_lost(camera) -> None:
    sim, field = camera
    field.parcel = spec(7)
    reader = CameraReader("cams", sim.stream_url, timeout_s=1.0, stream=True, max_frame_age_s=0)
    await reader.connect()
    try:
        assert (await reader.trigger()).symbols
        await sim.stop()
        with pytest.raises((DeviceTimeout, ConnectionLost)):
            await reader.trigger()
    finally:
        await reader.close()


def test_unsupported_url() -> None:
    with pytest.raises(ConnectionLost, match="unsupported"):
        asyncio.run(CameraReader("x", "ftp://camera/img.jpg").connect())


def _jpeg(data: bytes | None):
    """The image a result's JPEG bytes decode to (fails the test when they do not)."""
    assert data is not None and data[:2] == b"\xff\xd8"
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_GRAYSCALE)
    assert image is not None
    return image


async def test_a_read_and_a_no_read_carry_their_frame_as_jpeg(camera) -> None:
    sim, field = camera
    reader = CameraReader("cam", sim.snapshot_url, timeout_s=2.0)
    await reader.connect()
    try:
        field.parcel = spec(31)
        read = await reader.trigger()
        field.parcel = spec(32, ReaderOutcome.NO_READ)
        no_read = await reader.trigger()
    finally:
        await reader.close()
    assert [s.data for s in read.symbols] == ["LS0000000031"] and no_read.no_read
    for result in (read, no_read):
        assert _jpeg(result.image).shape == (1024, 1280)
        assert "image" not in repr(result)  # kilobytes of JPEG never end up in a log line
    # The kept image is good enough to read the label from again.
    assert [s.data for s in reader.read_image(_jpeg(read.image)).symbols] == ["LS0000000031"]


async def test_keep_images_policy_and_downscale(tmp_path) -> None:
    label = label_frame("LS0000000041", seed=1)
    big = cv2.resize(label, (2560, 2048))
    assert cv2.imwrite(str(tmp_path / "read.png"), big)
    assert cv2.imwrite(str(tmp_path / "blank.png"), np.full((1024, 1280), 255, np.uint8))
    results = {}
    for policy in ("all", "no_read", "none"):
        for name in ("read", "blank"):
            reader = CameraReader(
                "f", f"file://{tmp_path / name}.png", timeout_s=5.0, keep_images=policy
            )
            try:
                results[policy, name] = await reader.trigger()
            finally:
                await reader.close()
    assert results["all", "read"].symbols and results["all", "blank"].no_read
    assert _jpeg(results["all", "read"].image).shape == (1024, 1280)  # 2560 px wide halved
    assert _jpeg(results["all", "blank"].image).shape == (1024, 1280)
    assert results["no_read", "read"].image is None
    assert _jpeg(results["no_read", "blank"].image).shape == (1024, 1280)
    assert results["none", "read"].image is None and results["none", "blank"].image is None
    with pytest.raises(ValueError, match="keep_images"):
        CameraReader("f", f"file://{tmp_path}", keep_images="some")


async def test_the_jpeg_is_encoded_in_the_decoding_worker_thread(camera, monkeypatch) -> None:
    sim, field = camera
    field.parcel = spec(51)
    threads: list[str] = []
    real = reader_module.encode_jpeg

    def spy(frame, *args):
        threads.append(threading.current_thread().name)
        return real(frame, *args)

    monkeypatch.setattr(reader_module, "encode_jpeg", spy)
    reader = CameraReader("cam", sim.snapshot_url, timeout_s=2.0)
    try:
        result = await reader.trigger()
    finally:
        await reader.close()
    assert result.image is not None
    assert len(threads) == 1 and threads[0].startswith("camera-cam_"), threads
    assert threads[0] != threading.main_thread().name
