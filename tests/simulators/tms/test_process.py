"""``python -m simulators.tms`` as a process: ready line, signed delivery, files, clean exit."""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import pytest

from tests.conftest import free_port
from tests.simulators.tms.helpers import delivery_headers, make_event

REPO = Path(__file__).resolve().parents[3]


def start(args: list[str], env: dict[str, str] | None = None) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "simulators.tms", *args],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO), **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def read_ready(proc: subprocess.Popen, timeout: float = 10.0) -> dict:
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], timeout)
    assert ready, "no line on stdout in time"
    line = proc.stdout.readline()
    assert line, f"stdout closed: {proc.stderr.read() if proc.stderr else ''}"
    return json.loads(line)


def stop(proc: subprocess.Popen, sig: int) -> tuple[int, str]:
    proc.send_signal(sig)
    try:
        _, err = proc.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        raise
    return proc.returncode, err


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_process_serves_and_exits_cleanly(tmp_path, sig):
    manifest = tmp_path / "manifest.csv"
    manifest.write_text("barcode,route\n1Z1,R01\n", encoding="utf-8")
    events_file = tmp_path / "events.jsonl"
    secret = uuid.uuid4().hex
    proc = start(
        [
            "--secret-env",
            "TMS_TEST_SECRET",
            "--manifest",
            str(manifest),
            "--events-file",
            str(events_file),
            "--path",
            "/webhook",
        ],
        env={"TMS_TEST_SECRET": secret},
    )
    try:
        ready = read_ready(proc)
        assert ready["event"] == "ready"
        assert ready["webhook_url"].startswith("http://127.0.0.1:")
        assert ready["webhook_url"].endswith("/webhook")
        with httpx.Client(timeout=5) as client:
            event = make_event("P-7", 1)
            body = json.dumps(event).encode()
            good = client.post(
                ready["webhook_url"], content=body, headers=delivery_headers(event, body, secret)
            )
            assert good.status_code == 200, good.text
            unsigned = client.post(
                ready["webhook_url"], content=body, headers=delivery_headers(event, body)
            )
            assert unsigned.status_code == 401
            csv = client.get(ready["manifest_url"])
            assert csv.text == "barcode,route\n1Z1,R01\n"
            stats = client.get(ready["control_url"] + "/stats").json()
            assert (stats["received"], stats["bad_signatures"]) == (1, 1)
        lines = events_file.read_text(encoding="utf-8").splitlines()
        assert [json.loads(line)["event"] for line in lines] == [event]
    finally:
        code, err = stop(proc, sig)
    assert code == 0, err
    assert "Traceback" not in err


def test_process_fixed_ports(tmp_path):
    port, control_port = free_port(), free_port()
    proc = start(["--port", str(port), "--control-port", str(control_port)])
    try:
        ready = read_ready(proc)
        assert ready["webhook_url"] == f"http://127.0.0.1:{port}/lanesort/events"
        assert ready["control_url"] == f"http://127.0.0.1:{control_port}"
    finally:
        code, err = stop(proc, signal.SIGTERM)
    assert code == 0, err


def test_process_missing_secret_env_exits_2():
    proc = start(["--secret-env", "TMS_TEST_SURELY_UNSET_VARIABLE"])
    started = time.monotonic()
    _, err = proc.communicate(timeout=10)
    assert proc.returncode == 2
    assert "TMS_TEST_SURELY_UNSET_VARIABLE" in err
    assert time.monotonic() - started < 10
