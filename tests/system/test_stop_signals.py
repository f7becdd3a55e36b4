"""System test: stopping ``lanesort run`` and ``lanesort demo`` with real signals.

SIGTERM (systemd, ``docker stop``, ``kill``) stops them exactly as Ctrl-C does: exit 0,
no traceback, the journal's session closed, the demo's simulators stopped and their
ports free. A demo killed with SIGKILL cannot stop its children: they stop by
themselves (``simulators.parent``). Every wait is for an event (a line printed, a row in
the journal, a pid gone), with a generous overall timeout.
"""

from __future__ import annotations

import signal
import sqlite3
import sys
from pathlib import Path

import httpx
import pytest

from tests.conftest import free_port
from tests.watched_process import (
    Processes,
    WatchedProcess,
    children,
    port_free,
    running,
    until,
)

ROOT = Path(__file__).parents[2]
DEVICE_PORTS = ("15020", "15023", "15031", "15032")

pytestmark = pytest.mark.system


def _config(tmp_path: Path) -> tuple[Path, list[int]]:
    """The demo line on free ports, without its OPC UA server; (config, device ports)."""
    text = (ROOT / "plc_configs" / "demo-line.yaml").read_text()
    ports = []
    for used in DEVICE_PORTS:
        ports.append(free_port())
        text = text.replace(f"127.0.0.1:{used}", f"127.0.0.1:{ports[-1]}")
    text += f"\napi:\n  port: {free_port()}\nopcua_server:\n  enabled: false\n"
    path = tmp_path / "line.yaml"
    path.write_text(text)
    return path, ports


def _journal(data: Path, sql: str) -> list[tuple]:
    conn = sqlite3.connect(f"file:{data / 'journal.sqlite'}?mode=ro", uri=True)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def _terminal_events(data: Path) -> int:
    try:
        return _journal(data, "SELECT count(*) FROM events WHERE kind = 'terminal'")[0][0]
    except sqlite3.Error:  # not made yet
        return 0


def _last_line_state(data: Path) -> str:
    rows = _journal(
        data,
        "SELECT state FROM line_states WHERE session = (SELECT max(id) FROM sessions)"
        " ORDER BY id DESC LIMIT 1",
    )
    return rows[0][0]


def _api_up(url: str) -> bool:
    try:
        return httpx.get(f"{url}/health", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def test_run_stopped_by_sigterm_mid_shift_closes_its_journal(processes, tmp_path):
    config, _ = _config(tmp_path)
    data = tmp_path / "data"
    sim = processes.start(
        [sys.executable, "-m", "simulators", "--config", str(config), "--data-dir", str(data),
         "--parcels", "400", "--rate", "20000", "--seed", "3"],
        ROOT,
    )  # fmt: skip
    sim.wait_for_line('"event": "ready"')
    run = processes.start(
        [sys.executable, "-m", "controller.cli", "run", "--config", str(config),
         "--data-dir", str(data)],
        ROOT,
    )  # fmt: skip
    until(lambda: _terminal_events(data) >= 5, "5 parcels done", timeout_s=90)
    before = _terminal_events(data)
    assert run.stop(signal.SIGTERM) == 0, run.err[-3000:]
    assert sim.stop(signal.SIGTERM) == 0, sim.err[-3000:]
    assert "stopped by SIGTERM" in run.err
    assert "Traceback" not in run.err
    # run()'s finally wrote the session's last row after everything queued before it
    assert _last_line_state(data) == "Controller stopped"
    assert _terminal_events(data) >= before


def _start_demo(
    processes: Processes, tmp_path: Path, module: str
) -> tuple[WatchedProcess, str, list[int]]:
    """``lanesort demo`` (``module``: with the HMI or without) until its API answers;
    (process, API address, ports its simulators listen on)."""
    config, ports = _config(tmp_path)
    argv = [sys.executable, "-m", module, "demo", "--plain", "--parcels", "1", "--rate", "36",
            "--config", str(config), "--data-dir", str(tmp_path / "data")]  # fmt: skip
    demo = processes.start(argv, ROOT)
    webhook = demo.wait_for_line(r"receives the webhooks at http://127\.0\.0\.1:(\d+)/")
    ports.append(int(webhook.group(1)))
    api = demo.wait_for_line(r"API on (http://\S+)/docs").group(1)
    until(lambda: _api_up(api), f"the demo's API at {api}", timeout_s=60)
    return demo, api, ports


def _simulators(processes: Processes, pid: int) -> dict[int, str]:
    """The demo's simulators (killed at the end if they outlive it)."""
    found = {child: cmd for child, cmd in children(pid).items() if "-m simulators" in cmd}
    processes.track(found)
    assert len(found) == 2, found  # the line simulator and the TMS simulator
    return found


def test_demo_stopped_by_sigterm_stops_its_simulators_and_serves_the_hmi_at_root(
    processes, tmp_path
):
    demo, api, ports = _start_demo(processes, tmp_path, "hmi.cli")  # lanesort: with the HMI
    sims = _simulators(processes, demo.proc.pid)
    home = httpx.get(f"{api}/", timeout=10)
    assert home.status_code == 307 and home.headers["location"] == "/hmi/"
    assert httpx.get(f"{api}/", timeout=10, follow_redirects=True).status_code == 200
    ports.append(int(api.rsplit(":", 1)[1]))
    assert demo.stop(signal.SIGTERM) == 0, demo.out[-3000:] + demo.err[-3000:]
    assert "stopped by SIGTERM" in demo.out
    assert "Traceback" not in demo.out + demo.err
    assert not [pid for pid in sims if running(pid)], sims
    assert [port for port in ports if not port_free(port)] == []
    assert _last_line_state(tmp_path / "data") == "Controller stopped"
    assert "simulators: truth written" in (tmp_path / "data" / "simulator.log").read_text()


def test_demo_killed_with_sigkill_leaves_no_simulator_running(processes, tmp_path):
    demo, api, ports = _start_demo(processes, tmp_path, "controller.cli")  # without the HMI
    sims = _simulators(processes, demo.proc.pid)
    home = httpx.get(f"{api}/", timeout=10)
    assert home.status_code == 307 and home.headers["location"] == "/docs"
    assert demo.stop(signal.SIGKILL) == -signal.SIGKILL
    took = until(
        lambda: not any(running(pid) for pid in sims), f"simulators {sorted(sims)} to exit"
    )
    print(f"the killed demo's simulators exited within {took:.2f} s")
    assert [port for port in ports if not port_free(port)] == []
