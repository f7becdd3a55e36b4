"""A simulator started with ``--parent-pid`` never outlives its parent (real processes, signals)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from simulators.parent import watch_parent
from tests.watched_process import port_free, running, until

REPO = Path(__file__).resolve().parents[2]

# A parent that starts the TMS simulator as its child (as ``lanesort demo`` does) and
# prints the child's pid; the child prints its ready line on the same stdout.
PARENT = """
import os, subprocess, sys
child = subprocess.Popen(
    [sys.executable, "-m", "simulators.tms", "--parent-pid", str(os.getpid())])
print("child", child.pid, flush=True)
child.wait()
"""


def _dead_pid() -> int:
    """The pid of a process that has exited: a parent that died before its child looked."""
    proc = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], check=True,
                          capture_output=True, text=True)  # fmt: skip
    return int(proc.stdout)


@pytest.mark.parametrize(
    "argv",
    [["simulators.tms"], ["simulators", "--config", "line.yaml"]],
    ids=["tms", "line-simulator"],
)
def test_a_child_whose_parent_died_before_it_started_does_not_start(processes, argv):
    dead = _dead_pid()
    child = processes.start([sys.executable, "-m", *argv, "--parent-pid", str(dead)], REPO)
    assert child.wait() == 1
    assert f"parent process {dead} is gone: not starting" in child.err
    assert child.out == ""  # no ready line: nothing was started


def test_a_child_stops_when_its_parent_is_killed(processes):
    """SIGKILL leaves the parent no chance to stop its child: the kernel's parent-death
    signal (Linux) stops it, its port is free again."""
    parent = processes.start([sys.executable, "-c", PARENT], REPO)
    pid = int(parent.wait_for_line(r"child (\d+)").group(1))
    processes.track([pid])
    ready = parent.wait_for_line(r'"webhook_url": "http://127\.0\.0\.1:(\d+)/')
    port = int(ready.group(1))
    assert running(pid) and not port_free(port)
    parent.proc.kill()
    took = until(lambda: not running(pid), f"the TMS simulator {pid} to exit", timeout_s=30)
    print(f"the orphaned child exited {took:.2f} s after its parent was killed")
    assert port_free(port)
    assert parent.wait() == -signal.SIGKILL


async def test_the_watch_tells_when_the_parent_is_no_longer_the_expected_one():
    gone = asyncio.Event()
    await asyncio.wait_for(watch_parent(_dead_pid(), gone.set, every_s=0.01), 10)
    assert gone.is_set()


async def test_the_watch_keeps_watching_while_the_parent_lives(monkeypatch):
    polls = asyncio.Event()
    calls = []
    real_getppid = os.getppid

    def counting_getppid() -> int:
        calls.append(1)
        if len(calls) >= 5:
            polls.set()
        return real_getppid()

    monkeypatch.setattr(os, "getppid", counting_getppid)
    gone = asyncio.Event()
    watch = asyncio.create_task(watch_parent(real_getppid(), gone.set, every_s=0.01))
    try:
        await asyncio.wait_for(polls.wait(), 10)
        assert not gone.is_set() and not watch.done()
    finally:
        watch.cancel()
        with pytest.raises(asyncio.CancelledError):
            await watch
