"""lanesort probe: one request to one device, the answer as JSON, or a clear error."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys

import pytest

from controller.cli.probe import ProbeFailed, probe
from simulators.line import SimulatedLine
from tests.conftest import free_port
from tests.simulators.sim_helpers import make_config

DEVICES = {
    # "reader" (from the base config) is a DataMan at its factory default, silent responses
    "reader-x": {
        "kind": "barcode_reader",
        "driver": "cognex",
        "response": "extended",
        "url": "tcp://127.0.0.1:1",
        "timeout_ms": 30,
    },
    "scale": {"kind": "scale", "driver": "mt-sics", "url": "tcp://127.0.0.1:1", "timeout_ms": 30},
    "cube": {
        "kind": "dimensioner",
        "driver": "cubiscan",
        "url": "tcp://127.0.0.1:1",
        "timeout_ms": 30,
    },
    "dl": {
        "kind": "dimensioner",
        "driver": "datalogic",
        "url": "tcp://127.0.0.1:1",
        "timeout_ms": 30,
        "telegram": {
            "start": "\x02",
            "end": "\r\n",
            "separator": ",",
            "trigger": "\x02T\r\n",
            "fields": [
                {"name": "status"},
                {"name": "sequence", "width": 4},
                {"name": "barcode"},
                {"name": "length", "width": 5, "decimals": 1},
                {"name": "width", "width": 5, "decimals": 1},
                {"name": "height", "width": 5, "decimals": 1},
                {"name": "length_unit"},
                {"name": "weight", "width": 6, "decimals": 3},
                {"name": "weight_unit"},
                {"name": "reason"},
                {"name": "alibi"},
            ],
            "legal_status": ["READY"],
            "not_legal_status": ["NOTREADY"],
        },
    },
}


@pytest.fixture
async def line():
    sim = SimulatedLine(make_config(devices=DEVICES), any_port=True)
    await sim.start()
    yield sim
    await sim.stop()


async def test_probe_scale_prints_value_unit_stable_legal_and_raw(line):
    out = await probe("scale", "mt-sics", line.measure_urls()["scale"])
    result = out["result"]
    assert out["driver"] == "mt-sics" and out["elapsed_ms"] > 0
    assert result["unit"] == "kg" and result["stable"] is True
    assert result["raw"].startswith("S S") and result["kg"] == result["value"]
    json.dumps(out)  # everything is JSON-ready


async def test_probe_dimensioner_cubiscan_and_a_telegram_from_a_config(line):
    out = await probe("dimensioner", "cubiscan", line.measure_urls()["cube"])
    assert out["result"]["raw"].startswith("\x02M")
    telegram = DEVICES["dl"]["telegram"]
    out = await probe(
        "dimensioner", "datalogic", line.measure_urls()["dl"], extra={"telegram": telegram}
    )
    assert "READY" in out["result"]["raw"]


async def test_probe_names_the_address_when_nothing_answers():
    port = free_port()
    with pytest.raises(ProbeFailed, match=rf"scale \(tcp://127\.0\.0\.1:{port}\): cannot open"):
        await probe("scale", "mt-sics", f"tcp://127.0.0.1:{port}", timeout_ms=200)


async def test_probe_refuses_a_bad_url_saying_what_is_expected():
    with pytest.raises(ProbeFailed, match="--url: expected tcp://HOST:PORT"):
        await probe("scale", "mt-sics", "http://127.0.0.1:1")


def test_probe_command_exits_1_with_a_clear_message():
    port = free_port()
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "controller.cli",
            "probe",
            "dimensioner",
            "--driver",
            "cubiscan",
            "--url",
            f"tcp://127.0.0.1:{port}",
            "--timeout-ms",
            "200",
        ],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 1
    assert f"lanesort probe dimensioner (cubiscan at tcp://127.0.0.1:{port})" in done.stderr
    assert "Traceback" not in done.stderr


async def test_probe_camera_on_an_image_file_lists_symbols_with_gs1_fields(tmp_path):
    import cv2

    from simulators.camera.labels import render_label

    image = render_label("LS0000000042", "gs1-128")
    path = tmp_path / "label.png"
    cv2.imwrite(str(path), image)
    out = await probe("camera", "zxing", f"file://{path}")
    (symbol,) = out["result"]["symbols"]
    assert symbol["symbology"] == "]C1"
    assert symbol["gs1"]["00"] and symbol["gs1"]["420"]
    assert out["result"]["no_read"] is False


async def test_probe_camera_says_when_the_file_is_not_there(tmp_path):
    with pytest.raises(ProbeFailed, match=r"label\.png"):
        await probe("camera", "zxing", f"file://{tmp_path}/label.png")


async def test_probe_reader_against_a_silent_reader(line):
    # A DataMan at its factory setting (COM.DMCC-RESPONSE 0): the read string, no header.
    assert line.readers["reader"].response == "silent"
    out = await probe("reader", "cognex", line.reader_urls()["reader"])
    assert out["result"]["no_read"] in (True, False)
    assert out["result"]["raw"] and not out["result"]["raw"].startswith("||")
    assert line.readers["reader"].triggers == 1


async def test_probe_reader_against_an_extended_reader(line):
    out = await probe(
        "reader", "cognex", line.reader_urls()["reader-x"], extra={"response": "extended"}
    )
    assert out["result"]["raw"].startswith("||:1[0]")


async def test_probe_reader_in_the_wrong_response_mode_says_which_to_set(line):
    with pytest.raises(ProbeFailed, match=r"COM\.DMCC-RESPONSE 0 \(silent.*response: silent"):
        await probe(
            "reader",
            "cognex",
            line.reader_urls()["reader"],
            timeout_ms=200,
            extra={"response": "extended"},
        )
    with pytest.raises(ProbeFailed, match=r"COM\.DMCC-RESPONSE 1 \(extended.*response: extended"):
        await probe("reader", "cognex", line.reader_urls()["reader-x"], timeout_ms=200)


async def test_probe_reader_command_against_a_silent_reader(line):
    # The field report, as typed: lanesort probe reader --driver cognex --url tcp://...
    url = line.reader_urls()["reader"]
    process = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "controller.cli", "probe", "reader"),
        *("--driver", "cognex", "--url", url),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, stderr.decode()
    out = json.loads(stdout)
    assert out["driver"] == "cognex" and not out["result"]["raw"].startswith("||")
    assert b"not a reply" not in stderr and b"no reply" not in stderr
