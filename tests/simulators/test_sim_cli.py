"""``python -m simulators`` as a process: ready line, manifest, drained, truth, exit code."""

from __future__ import annotations

import csv
import json
import os
import select
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from simulators.cli import apply_overrides, manifest_size, parse_args
from simulators.twin import LineTwin
from tests.conftest import free_port
from tests.simulators.sim_helpers import config_dict, make_config

REPO = Path(__file__).resolve().parents[2]


def read_json_line(proc: subprocess.Popen, timeout: float = 10.0) -> dict:
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], timeout)
    assert ready, "no line on stdout in time"
    text = proc.stdout.readline()
    assert text, "stdout closed"
    return json.loads(text)


@pytest.fixture
def line_files(tmp_path: Path):
    plc_port, reader_port = free_port(), free_port()
    data = config_dict(
        devices={
            "sorter": {"kind": "sorter_plc", "url": f"modbus-tcp://127.0.0.1:{plc_port}"},
            "reader": {"kind": "barcode_reader", "url": f"tcp://127.0.0.1:{reader_port}"},
        },
        simulation={"parcels": None},
    )
    path = tmp_path / "line.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path, plc_port, reader_port


def start(args: list[str]) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen(
        [sys.executable, "-m", "simulators", *args],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def stop(proc: subprocess.Popen, sig: int = signal.SIGTERM) -> tuple[int, str]:
    proc.send_signal(sig)
    try:
        _, err = proc.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        raise
    return proc.returncode, err


def test_process_ready_manifest_drained_truth(line_files, tmp_path):
    config, _, reader_port = line_files
    truth_path = tmp_path / "truth.json"
    data_dir = tmp_path / "data"
    args = ["--config", str(config), "--data-dir", str(data_dir), "--parcels", "3"]
    proc = start([*args, "--seed", "5", "--truth", str(truth_path)])
    try:
        ready = read_json_line(proc)
        manifest = (data_dir / "manifest.csv").resolve()
        assert ready == {
            "event": "ready",
            "manifest": str(manifest),
            "belt_speed_mps": 4.0,
            "parcels": 3,
        }
        with manifest.open(newline="") as handle:
            rows = list(csv.reader(handle))
        assert rows[0] == ["barcode", "route"] and 1 <= len(rows) - 1 <= 3
        assert not list(data_dir.glob("*.tmp"))
        with socket.create_connection(("127.0.0.1", reader_port), timeout=2) as s:
            s.sendall(b"||>TRIGGER ON\r\n")  # a DataMan at its factory default: silent
            reply = s.recv(200)
            assert reply.endswith(b"\r\n") and not reply.startswith(b"||")  # no header
        assert read_json_line(proc) == {"event": "drained", "inducted": 3}
        time.sleep(0.05)  # still serving after drained
        assert proc.poll() is None
    finally:
        code, err = stop(proc)
    assert code == 0, err
    truth = json.loads(truth_path.read_text())
    assert (truth["seed"], truth["belt_speed_mps"]) == (5, 4.0)
    assert [p["tracking_id"] for p in truth["parcels"]] == [1, 2, 3]
    first = truth["parcels"][0]
    assert set(first) == {
        "tracking_id",
        "barcode",
        "route",
        "in_manifest",
        "reader_outcome",
        "labels",
        "weight_kg",
        "length_mm",
        "width_mm",
        "height_mm",
        "answered_chute",
        "answer_latency_ms",
        "result",
        "landed_chute",
    }
    assert all(p["result"] == "NO_ANSWER" and p["landed_chute"] == 9 for p in truth["parcels"])
    in_manifest = {p["barcode"] for p in truth["parcels"] if p["in_manifest"]}
    assert in_manifest == {r[0] for r in rows[1:]}
    stats = truth["stats"]
    assert stats["inducted"] == 3 and stats["mismatched_answers"] == 0
    assert stats["invalid_commands"] == 0 and stats["ring_overflows"] == 0


def test_rate_override_raises_belt_speed_and_sigint_exits_zero(line_files, tmp_path):
    config, _, _ = line_files
    args = ["--config", str(config), "--data-dir", str(tmp_path), "--rate", "150000"]
    proc = start([*args, "--parcels", "50"])
    try:
        ready = read_json_line(proc)
        assert ready["parcels"] == 50
        assert ready["belt_speed_mps"] == pytest.approx(150000 / 3600 * 250 * 1.3 / 1000)
    finally:
        code, err = stop(proc, signal.SIGINT)
    assert code == 0, err
    assert "running it at" in err  # the belt speed warning went to stderr
    assert not (tmp_path / "truth.json").exists()


def test_manifest_size_without_a_parcel_limit():
    unbounded = make_config(simulation={"parcels": None, "rate_pph": 6000})
    assert manifest_size(unbounded) == 6000  # one hour at the rate
    assert manifest_size(make_config(simulation={"parcels": 3})) == 3
    args = parse_args(["--config", "x.yaml", "--parcels", "9", "--rate", "100", "--seed", "4"])
    overridden = apply_overrides(make_config(), args)
    sim = overridden.simulation
    assert (sim.parcels, sim.rate_pph, sim.seed) == (9, 100, 4)
    assert overridden.line.data_dir == "data"
    assert LineTwin(overridden).parcel_limit == 9


def test_bad_config_exits_2(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("line: {name: x}\n", encoding="utf-8")
    proc = start(["--config", str(bad)])
    _, err = proc.communicate(timeout=10)
    assert proc.returncode == 2 and "devices" in err
