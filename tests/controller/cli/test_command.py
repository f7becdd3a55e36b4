"""The lanesort command: check-config, schema, and run against devices that are not there."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from controller.cli.command import main
from tests.conftest import free_port
from tests.watched_process import Processes, WatchedProcess

DEMO = Path(__file__).parents[3] / "plc_configs" / "demo-line.yaml"


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


def _config_without_devices(tmp_path: Path) -> tuple[Path, int, int]:
    """The demo line on ports nobody listens on; (config, PLC port, reader port)."""
    plc_port, reader_port = free_port(), free_port()
    config = tmp_path / "line.yaml"
    config.write_text(
        DEMO.read_text()
        .replace("127.0.0.1:15020", f"127.0.0.1:{plc_port}")
        .replace("127.0.0.1:15023", f"127.0.0.1:{reader_port}")
        + f"\napi:\n  port: {free_port()}\n"
        + "opcua_server:\n  enabled: false\n"  # not needed here: a faster start
    )
    return config, plc_port, reader_port


def _run(
    processes: Processes, tmp_path: Path, config: Path, stdin: int | None = subprocess.DEVNULL
) -> WatchedProcess:
    """``lanesort run`` (the controller without the HMI) as a process."""
    argv = [sys.executable, "-m", "controller.cli", "run", "--config", str(config)]
    return processes.start([*argv, "--data-dir", str(tmp_path / "data")], tmp_path, stdin)


def _last_line_state(journal: Path) -> str:
    conn = sqlite3.connect(journal)
    try:
        return conn.execute(
            "SELECT state FROM line_states WHERE session = (SELECT max(id) FROM sessions)"
            " ORDER BY id DESC LIMIT 1"
        ).fetchone()[0]
    finally:
        conn.close()


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_run_as_a_service_alarms_naming_absent_devices_and_stops_cleanly(processes, tmp_path, sig):
    """Ctrl-C and SIGTERM stop it alike: exit 0, no traceback, the journal's session closed."""
    config, plc_port, reader_port = _config_without_devices(tmp_path)
    run = _run(processes, tmp_path, config)
    sorter = f"ALARM link:sorter: sorter (modbus-tcp://127.0.0.1:{plc_port}): cannot connect"
    reader = f"tunnel-reader (tcp://127.0.0.1:{reader_port}): cannot connect"
    run.wait_for(lambda p: sorter in p.err and reader in p.err, "both link alarms")
    assert run.stop(sig) == 0, run.err
    assert "the manifest is empty: every parcel is no-route" in run.err
    assert "API on http://127.0.0.1:" in run.err
    assert f"stopped by {'Ctrl-C' if sig == signal.SIGINT else 'SIGTERM'}" in run.err
    assert "Traceback" not in run.err
    assert _last_line_state(tmp_path / "data" / "journal.sqlite") == "Controller stopped"


@pytest.mark.parametrize("close_stdin", [False, True], ids=["stdin-open", "stdin-closed"])
def test_run_console_answers_commands_and_refuses_what_cannot_be_done(
    processes, tmp_path, close_stdin
):
    """The console answers on stdout; SIGTERM stops the controller whether standard input
    is still open (the console waits on it) or already at its end."""
    config, plc_port, _ = _config_without_devices(tmp_path)
    run = _run(processes, tmp_path, config, subprocess.PIPE)
    assert run.proc.stdin is not None
    run.proc.stdin.write("status\nstart\ndisable 99\nfly\n")
    run.proc.stdin.flush()
    if close_stdin:
        run.proc.stdin.close()
    run.wait_for_line("unknown command 'fly'")
    assert run.stop(signal.SIGTERM) == 0, run.err
    assert "state unknown (PLC not connected)" in run.out
    assert f"refused: sorter (modbus-tcp://127.0.0.1:{plc_port}) is not connected" in run.out
    assert "refused: chute 99 is not a sort chute of this line" in run.out
    assert "Traceback" not in run.err


def test_demo_takes_a_realtime_priority_only_for_a_site(capsys):
    assert main(["demo", "--realtime-priority", "5"]) == 1
    assert "--realtime-priority: only with --site" in capsys.readouterr().err
    with pytest.raises(SystemExit):  # argparse: 1-99 or 0
        main(["demo", "--site", "1", "--realtime-priority", "100"])
