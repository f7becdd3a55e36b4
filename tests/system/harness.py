"""The whole line as processes: line simulator, reference TMS simulator and the controller.

Used by the system tests that kill and restart the controller or take the TMS down:
the processes talk only over their real wires (Modbus TCP, device TCP, HTTP).
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import free_port

ROOT = Path(__file__).parents[2]
SECRET = "system-test-secret"


def line_config(
    tmp_path: Path,
    webhook_url: str,
    api_port: int,
    extra: str = "",
    append: str = "",
    api_host: str = "127.0.0.1",
) -> Path:
    """The demo line on free ports, reporting to ``webhook_url``, its API on ``api_port``.

    ``extra``: YAML lines replacing lines of the demo line's config, ``key: value`` (an
    indented line replaces the first line with the same key and indentation); ``append``:
    YAML sections added at the end; ``api_host``: the address the API listens on.
    """
    text = (ROOT / "plc_configs" / "demo-line.yaml").read_text()
    for port in ("15020", "15023", "15031", "15032"):
        text = text.replace(f"127.0.0.1:{port}", f"127.0.0.1:{free_port()}")
    for line in extra.splitlines():
        key = line.split(":", 1)[0] + ":"
        old = next((t for t in text.splitlines() if t.startswith(key)), None)
        assert old is not None, f"no line {key!r} in demo-line.yaml"
        text = text.replace(old, line, 1)
    text += (
        f"\napi:\n  host: {api_host}\n  port: {api_port}\n"
        f"opcua_server:\n  enabled: true\n  port: {free_port()}\n"
        f"upstream:\n  webhook_url: {webhook_url}\n  secret_env: LANESORT_TEST_SECRET\n"
        "  backoff_min_ms: 50\n  backoff_max_ms: 500\n" + append
    )
    path = tmp_path / "line.yaml"
    path.write_text(text)
    return path


class Process:
    """A child process with its output in a log file."""

    def __init__(
        self,
        args: list[str],
        log: Path,
        env: dict[str, str] | None = None,
        wrap: Callable[[list[str]], list[str]] | None = None,
    ):
        self.log = log
        args = wrap(args) if wrap else args
        self._handle = log.open("ab")
        self.proc = subprocess.Popen(
            args,
            stdout=subprocess.PIPE,
            stderr=self._handle,
            stdin=subprocess.DEVNULL,
            env={**os.environ, **(env or {})},
            cwd=ROOT,
        )

    def first_json_line(self, timeout_s: float = 60) -> dict[str, Any]:
        """The first line the process printed, as JSON (its 'ready' line)."""
        assert self.proc.stdout is not None
        deadline = time.monotonic() + timeout_s
        line = self.proc.stdout.readline()
        if not line or time.monotonic() > deadline:
            raise AssertionError(f"no ready line; see {self.log}:\n{self.tail()}")
        return json.loads(line)

    def tail(self, n: int = 20) -> str:
        """The end of the log."""
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-n:])

    def kill(self) -> None:
        """SIGKILL: no chance to clean up."""
        self.proc.kill()
        self.proc.wait(10)

    def stop(self) -> int:
        """SIGTERM, then wait (SIGKILL after 15 s)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self._handle.close()
        return self.proc.returncode


class Line:
    """Simulator, TMS simulator and controller for one test."""

    def __init__(
        self,
        tmp_path: Path,
        parcels: int,
        rate_pph: float,
        config_extra: str = "",
        scenario: Path | None = None,
        *,
        config_append: str = "",
        wrap: Callable[[list[str]], list[str]] | None = None,
        api_host: str = "127.0.0.1",
        env: dict[str, str] | None = None,
    ):
        """``wrap`` turns each process's argv into the one to run (e.g. inside a network
        namespace, where the API listens on ``api_host``); ``env`` is added to the
        controller's environment."""
        self.tmp = tmp_path
        self.wrap = wrap
        self.env = {"LANESORT_TEST_SECRET": SECRET, **(env or {})}
        self.scenario = scenario
        self.truth_path = tmp_path / "truth.json"
        self.data = tmp_path / "data"
        self.data.mkdir()
        self.parcels = parcels
        self.rate = rate_pph
        self.events_file = tmp_path / "tms-events.jsonl"
        self.tms = Process(
            [
                sys.executable, "-m", "simulators.tms", "--secret-env", "LANESORT_TEST_SECRET",
                "--events-file", str(self.events_file),
            ],
            tmp_path / "tms.log",
            {"LANESORT_TEST_SECRET": SECRET},
            wrap,
        )  # fmt: skip
        ready = self.tms.first_json_line()
        self.webhook_url, self.control_url = ready["webhook_url"], ready["control_url"]
        self.api_port = free_port()
        self.api_url = f"http://{api_host}:{self.api_port}"
        self.config = line_config(
            tmp_path, self.webhook_url, self.api_port, config_extra, config_append, api_host
        )
        self.sim: Process | None = None
        self.controller: Process | None = None
        self.token = ""

    def start_sim(self) -> None:
        """The line simulator (PLC, reader, scale, dimensioner), inducting ``parcels``."""
        self.sim = Process(
            [
                sys.executable, "-m", "simulators", "--config", str(self.config),
                "--data-dir", str(self.data), "--parcels", str(self.parcels),
                "--rate", str(self.rate), "--seed", "3", "--truth", str(self.truth_path),
            ] + (["--scenario", str(self.scenario)] if self.scenario else []),
            self.tmp / "sim.log",
            wrap=self.wrap,
        )  # fmt: skip
        self.sim.first_json_line()

    def wait_sim_drained(self, timeout_s: float) -> dict[str, Any]:
        """Wait for the simulator's ``drained`` line: every parcel left the sorter."""
        assert self.sim is not None and self.sim.proc.stdout is not None
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            line = self.sim.proc.stdout.readline()  # the simulator prints few lines
            if not line:
                raise AssertionError(f"simulator ended:\n{self.sim.tail()}")
            message = json.loads(line)
            if message.get("event") == "drained":
                return message
        raise AssertionError(f"the simulator did not drain in {timeout_s} s")

    def stop_sim(self) -> dict[str, Any]:
        """Stop the simulator (SIGTERM); the twin's ground truth it wrote."""
        assert self.sim is not None
        assert self.sim.stop() == 0, self.sim.tail()
        return json.loads(self.truth_path.read_text())

    def start_controller(self) -> None:
        """``lanesort run`` on the data directory; waits until the API answers."""
        self.controller = Process(
            [
                sys.executable, "-m", "controller.cli", "run", "--config", str(self.config),
                "--data-dir", str(self.data),
            ],
            self.tmp / "controller.log",
            self.env,
            self.wrap,
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.controller.proc.poll() is not None:
                raise AssertionError(f"controller exited:\n{self.controller.tail()}")
            try:
                if httpx.get(f"{self.api_url}/health", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise AssertionError(f"controller API did not come up:\n{self.controller.tail()}")

    def make_token(self, role: str) -> str:
        """A token from ``lanesort token create`` (as an integrator would make it)."""
        out = subprocess.run(
            [
                sys.executable, "-m", "controller.cli", "token", "create", "--config",
                str(self.config), "--data-dir", str(self.data), "--name", f"{role}-test",
                "--role", role,
            ],
            capture_output=True, text=True, check=True, cwd=ROOT,
        )  # fmt: skip
        return out.stdout.strip()

    def tms_mode(self, mode: str, **kw: Any) -> None:
        """Tell the TMS simulator to go down, be slow, answer errors, or come back up."""
        httpx.post(f"{self.control_url}/mode", json={"mode": mode, **kw}, timeout=5)

    def tms_stats(self) -> dict[str, Any]:
        """What the TMS simulator received."""
        return httpx.get(f"{self.control_url}/stats", timeout=5).json()

    def tms_events(self) -> list[dict[str, Any]]:
        """Every accepted event, in arrival order."""
        lines = self.events_file.read_text().splitlines() if self.events_file.exists() else []
        return [json.loads(line)["event"] for line in lines]

    def outbox(self) -> list[tuple[str, str, str, int]]:
        """(event_id, state, lane key, sequence) of every outbox row."""
        conn = sqlite3.connect(self.data / "journal.sqlite")
        try:
            return conn.execute(
                "SELECT event_id, state, lane_key, sequence FROM outbox ORDER BY id"
            ).fetchall()
        finally:
            conn.close()

    def terminal_count(self) -> int:
        """Parcels with their terminal event in the journal."""
        conn = sqlite3.connect(self.data / "journal.sqlite")
        try:
            return conn.execute("SELECT count(*) FROM events WHERE kind = 'terminal'").fetchone()[0]
        finally:
            conn.close()

    def close(self) -> None:
        """Stop every process."""
        for proc in (self.controller, self.sim, self.tms):
            if proc is not None:
                proc.stop()


def wait_until(predicate: Any, timeout_s: float, what: str, step: float = 0.2) -> None:
    """Poll ``predicate`` until true; fail naming ``what``."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(step)
    raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
