"""The PM QoS CPU wake-up latency request (``line.cpu_wakeup_latency_us``): held on the
real ``/dev/cpu_dma_latency`` while the line runs, ended when it stops, and a refusal that
says what to grant."""

from __future__ import annotations

import struct
import subprocess
import sys
from pathlib import Path

from controller.line.controller import LineController
from controller.line.cpu_latency import PM_QOS_DEVICE, hold_cpu_latency
from tests.controller.line.helpers import line_config, pointed_at, running, simulated_line

ROOT = Path(__file__).resolve().parents[3]


def current_target_us() -> int:
    """The kernel's CPU wake-up latency target now (the least of every held request)."""
    return struct.unpack("=i", PM_QOS_DEVICE.read_bytes()[:4])[0]


async def test_the_request_holds_while_held_and_while_a_line_runs(tmp_path) -> None:
    """One test (not two), so no other test of this suite holds a request meanwhile."""
    before = current_target_us()
    assert before > 7, "another process holds a CPU latency request: the test cannot tell"
    request = hold_cpu_latency(7, "test")
    assert request is not None and current_target_us() == 7
    request.release()
    request.release()  # idempotent
    assert current_target_us() == before

    config = line_config(line={"name": "quick", "cpu_wakeup_latency_us": 3})
    async with simulated_line(config, tmp_path) as sim:
        line = LineController(pointed_at(config, sim), tmp_path)
        async with running(line):
            assert current_target_us() == 3
    assert current_target_us() == before


def test_without_the_right_to_write_the_device_the_line_says_what_to_grant() -> None:
    code = (
        "import logging\n"
        "logging.basicConfig(level=logging.INFO, format='%(levelname)s %(message)s')\n"
        "from controller.line.cpu_latency import hold_cpu_latency\n"
        "print(hold_cpu_latency(0, 'line north'))\n"
    )
    # as a service user that is not root (the device is root's, mode 0600)
    argv = ["setpriv", "--reuid", "65534", "--regid", "65534", "--clear-groups"]
    done = subprocess.run(
        [*argv, sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=30
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["None"]
    assert "WARNING line north runs with the CPUs' idle states as they are" in done.stderr
    assert "/dev/cpu_dma_latency cannot be opened for writing (Permission denied)" in done.stderr
    assert "line.cpu_wakeup_latency_us to null" in done.stderr
