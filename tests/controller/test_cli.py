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


def _run_briefly(tmp_path: Path, stdin_text: str | None) -> tuple[int, str, str, int, int]:
    """``lanesort run`` against ports nobody listens on, stopped by SIGINT after 3 s."""
    plc_port, reader_port = free_port(), free_port()
    config = tmp_path / "line.yaml"
    config.write_text(
        DEMO.read_text()
        .replace("127.0.0.1:15020", f"127.0.0.1:{plc_port}")
        .replace("127.0.0.1:15023", f"127.0.0.1:{reader_port}")
        + f"\napi:\n  port: {free_port()}\n"
        + "opcua_server:\n  enabled: false\n"  # its start-up (~2 s) would eat the 3 s
    )
    argv = [
        sys.executable,
        "-m",
        "controller.cli",
        "run",
        "--config",
        str(config),
        "--data-dir",
        str(tmp_path / "data"),
    ]
    proc = subprocess.Popen(
        argv,
        stdin=subprocess.DEVNULL if stdin_text is None else subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
    )
    if stdin_text is not None:
        assert proc.stdin is not None
        proc.stdin.write(stdin_text)
        proc.stdin.flush()
    time.sleep(3)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=20)
    return proc.returncode, out, err, plc_port, reader_port


def test_run_as_a_service_alarms_naming_absent_devices_and_stops_cleanly(tmp_path):
    code, _, err, plc_port, reader_port = _run_briefly(tmp_path, None)
    assert code == 0, err
    assert f"ALARM link:sorter: sorter (modbus-tcp://127.0.0.1:{plc_port}): cannot connect" in err
    assert f"tunnel-reader (tcp://127.0.0.1:{reader_port}): cannot connect" in err
    assert "the manifest is empty: every parcel is no-route" in err
    assert "API on http://127.0.0.1:" in err
    assert "Traceback" not in err


def test_run_console_answers_commands_and_refuses_what_cannot_be_done(tmp_path):
    code, out, err, plc_port, _ = _run_briefly(tmp_path, "status\nstart\ndisable 99\nfly\n")
    assert code == 0, err
    assert "state unknown (PLC not connected)" in out
    assert f"refused: sorter (modbus-tcp://127.0.0.1:{plc_port}) is not connected" in out
    assert "refused: chute 99 is not a sort chute of this line" in out
    assert "unknown command 'fly'" in out
