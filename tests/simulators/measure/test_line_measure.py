"""SimulatedLine starts a simulator per scale and dimensioner, over TCP and ptys."""

from __future__ import annotations

import asyncio
import os
import re
import time
import tty
from urllib.parse import urlsplit

import pytest

from simulators.line import SimulatedLine
from simulators.measure.devices import MeasureTiming
from simulators.scenario import ScenarioError
from tests.simulators.sim_helpers import config_dict, make_config

FAST = MeasureTiming(sma_reply_delay_s=0.002, toledo_period_s=0.01, pty_blackout_s=0.1)
PTY = "/tmp/lanesort-test-never-used/{}?baud=9600"


def _devices() -> dict:
    devices = config_dict()["devices"]
    t = {"timeout_ms": 30}
    devices.update(
        {
            "sics": {"kind": "scale", "driver": "mt-sics", "url": "tcp://127.0.0.1:15031", **t},
            "sma": {"kind": "scale", "driver": "sma", "url": PTY.format("sma"), **t},
            "nci": {"kind": "scale", "driver": "nci", "url": "socket://127.0.0.1:15033", **t},
            "tol": {"kind": "scale", "driver": "toledo-continuous", "url": PTY.format("tol"), **t},
            "ua": {
                "kind": "scale",
                "driver": "opcua-weighing",
                "url": "opc.tcp://127.0.0.1:4840",
                **t,
            },
            "cube": {"kind": "dimensioner", "driver": "cubiscan", "url": "tcp://127.0.0.1:1", **t},
            "sick": {"kind": "dimensioner", "driver": "sick", "url": PTY.format("sick"), **t},
            "dl": {"kind": "dimensioner", "driver": "datalogic", "url": "tcp://127.0.0.1:2", **t},
            "custom": {
                "kind": "dimensioner",
                "driver": "telegram",
                "url": "tcp://127.0.0.1:3",
                "telegram": {
                    "fields": [{"name": "length"}, {"name": "width"}, {"name": "height"}],
                    "end": "\r\n",
                    "trigger": "GO\r\n",
                },
                **t,
            },
        }
    )
    return devices


def _is_link(path: str) -> bool:
    return os.path.islink(path)


def _exists(path: str) -> bool:
    return os.path.exists(path)


async def _ask(url: str, request: bytes, until: bytes) -> bytes:
    parts = urlsplit(url)
    r, w = await asyncio.open_connection(parts.hostname, parts.port)
    try:
        w.write(request)
        return await asyncio.wait_for(r.readuntil(until), 2)
    finally:
        w.close()
        await w.wait_closed()


def _pty_read(path: str, request: bytes, until: bytes, within: float = 3.0) -> bytes:
    fd = os.open(path, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
    try:
        tty.setraw(fd)
        if request:
            os.write(fd, request)
        deadline = time.monotonic() + within
        out = b""
        while until not in out:
            assert time.monotonic() < deadline, out
            try:
                out += os.read(fd, 1000)
            except BlockingIOError:
                time.sleep(0.002)
        return out
    finally:
        os.close(fd)


async def test_one_device_of_each_kind_tcp_and_pty():
    config = make_config(devices=_devices(), simulation={"parcels": 200})
    line = SimulatedLine(config, any_port=True, measure_timing=FAST)
    await line.start()
    try:
        urls = line.measure_urls()
        assert set(urls) == {"sics", "sma", "nci", "tol", "cube", "sick", "dl", "custom", "ua"}
        assert re.fullmatch(r"opc\.tcp://127\.0\.0\.1:\d+/.*", urls["ua"]), urls["ua"]
        for name in ("sics", "nci", "cube", "dl", "custom"):
            assert re.fullmatch(r"(tcp|socket)://127\.0\.0\.1:\d+", urls[name]), urls[name]
            assert not urls[name].endswith(":0")
        assert urls["nci"].startswith("socket://")
        for name in ("sma", "tol", "sick"):
            path = urls[name].partition("?")[0]
            assert urls[name].endswith("?baud=9600") and _is_link(path)
            assert os.path.basename(path) == name and "never-used" not in path
        sics = await _ask(urls["sics"], b"S\r\n", b"\r\n")
        assert re.fullmatch(rb"S S [ \d]{5}\d\.\d{3} kg\r\n", sics), sics
        assert (await _ask(urls["nci"], b"W\r", b"\x03")).startswith(b"\n")
        assert (await _ask(urls["cube"], b"\x02M\x03\r\n", b"\r\n")).startswith(b"\x02MAC")
        assert await _ask(urls["dl"], b"", b"x") if False else True
        custom = await _ask(urls["custom"], b"GO\r\n", b"\r\n")
        assert re.fullmatch(rb"\x02\d+;\d+;\d+\r\n", custom), custom
        sma_path, tol_path, sick_path = (urls[n].partition("?")[0] for n in ("sma", "tol", "sick"))
        sma = await asyncio.to_thread(_pty_read, sma_path, b"\nW\r", b"\r")
        assert re.fullmatch(rb"\n[ Z]1G  [ \d.-]{10}kg \r", sma), sma
        tol = await asyncio.to_thread(_pty_read, tol_path, b"", b"\r")
        assert b"\x02" in tol
        sick = await asyncio.to_thread(_pty_read, sick_path, b"", b"\x03")
        assert re.search(rb"\x02\d{4};LS\d{10};\d{9};g;0;\d{4};\d{4};\d{4};mm;0000;\d+\x03", sick)
        tmp = os.path.dirname(sma_path)
    finally:
        await line.stop()
    assert not _exists(tmp)


async def test_datalogic_pushes_one_telegram_per_scanned_parcel():
    config = make_config(devices=_devices(), simulation={"parcels": 200})
    line = SimulatedLine(config, any_port=True, measure_timing=FAST)
    await line.start()
    try:
        parts = urlsplit(line.measure_urls()["dl"])
        r, w = await asyncio.open_connection(parts.hostname, parts.port)
        frames = [await asyncio.wait_for(r.readuntil(b"\r\n"), 3) for _ in range(2)]
        w.close()
        await w.wait_closed()
    finally:
        await line.stop()
    barcodes = {p.spec.barcode for p in line.twin.parcels.values()}
    seqs = []
    for frame in frames:
        fields = frame.split(b",")
        assert fields[0] == b"\x02READY"
        seqs.append(int(fields[1]))
        assert fields[2].decode() in barcodes | {"NoRead"}
    assert seqs[1] == seqs[0] + 1


async def test_scenario_from_the_config_folder_silences_a_device(tmp_path):
    (tmp_path / "faults.yaml").write_text(
        "faults:\n  - {device: sics, fault: silence, rate: 1, from_s: 0, to_s: 60}\n"
    )
    config = make_config(devices=_devices(), simulation={"scenario": "faults.yaml"})
    line = SimulatedLine(config, any_port=True, config_dir=tmp_path, measure_timing=FAST)
    await line.start()
    try:
        with pytest.raises(TimeoutError):
            await _ask(line.measure_urls()["sics"], b"S\r\n", b"\r\n")
        assert (await _ask(line.measure_urls()["nci"], b"W\r", b"\x03")).startswith(b"\n")
    finally:
        await line.stop()


def test_scenario_naming_an_unknown_device_fails_early(tmp_path):
    (tmp_path / "faults.yaml").write_text("- {device: nope, fault: silence, rate: 1}\n")
    config = make_config(devices=_devices(), simulation={"scenario": "faults.yaml"})
    with pytest.raises(ScenarioError, match=r"faults\.0\.device: no scale or dimensioner named"):
        SimulatedLine(config, any_port=True, config_dir=tmp_path)
