"""The lanesort command: check-config, schema, and run against devices that are not there."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

from controller.cli import main
from tests.conftest import free_port

DEMO = Path(__file__).parents[2] / "plc_configs" / "demo-line.yaml"


def test_check_config_accepts_the_demo_line(capsys):
    assert main(["check-config", str(DEMO)]) == 0
    out = capsys.readouterr().out
    assert "ok" in out and "24 chutes" in out and "modbus-tcp://127.0.0.1:15020" in out


def test_check_config_lists_every_problem_and_exits_1(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        DEMO.read_text()
        .replace("belt_speed_mps: 2.5", "belt_speed_mps: fast")
        .replace("R05: [5]", "R05: [55]")
        .replace("kind: barcode_reader", "kind: barcode_reader\n    colour: blue")
    )
    assert main(["check-config", str(bad)]) == 1
    err = capsys.readouterr().err
    assert f"{bad}:" in err
    assert "topology.belt_speed_mps: Input should be a valid number" in err
    assert "devices.tunnel-reader.colour: unknown key" in err
    assert "2 problems" in err


def test_check_config_of_a_missing_file(tmp_path, capsys):
    assert main(["check-config", str(tmp_path / "none.yaml")]) == 1
    assert "cannot read the file" in capsys.readouterr().err


def test_schema_is_json(capsys):
    assert main(["schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert "topology" in schema["properties"]


def test_run_against_absent_devices_alarms_naming_them_and_stops_cleanly(tmp_path):
    plc_port, reader_port = free_port(), free_port()
    config = tmp_path / "line.yaml"
    config.write_text(
        DEMO.read_text()
        .replace("127.0.0.1:15020", f"127.0.0.1:{plc_port}")
        .replace("127.0.0.1:15023", f"127.0.0.1:{reader_port}")
    )
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "controller.cli",
            "run",
            "--config",
            str(config),
            "--data-dir",
            str(tmp_path / "data"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
    )
    time.sleep(3)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    assert f"ALARM link:sorter: sorter (modbus-tcp://127.0.0.1:{plc_port}): cannot connect" in err
    assert f"tunnel-reader (tcp://127.0.0.1:{reader_port}): cannot connect" in err
    assert "manifest" in err and "not found" in err
    assert "Traceback" not in err
