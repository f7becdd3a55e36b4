"""Real-time priority for the loop that answers the PLC: raised, not inherited, restored, and
a refusal that says what to grant."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

from controller.line.controller import LineController
from controller.line.realtime import Scheduling, raise_to_realtime, restore
from tests.controller.line.helpers import line_config, pointed_at, running, simulated_line

ROOT = Path(__file__).resolve().parents[3]


def policy() -> int:
    """The calling thread's policy without the reset-on-fork flag."""
    return os.sched_getscheduler(0) & ~os.SCHED_RESET_ON_FORK


def in_own_thread(work):
    """Run ``work`` in a thread of its own (pytest's thread is never raised) and return
    what it returned."""
    out: list = []
    thread = threading.Thread(target=lambda: out.append(work()))
    thread.start()
    thread.join()
    return out[0]


def test_the_calling_thread_runs_round_robin_and_threads_it_starts_do_not() -> None:
    def work():
        before = raise_to_realtime(7, "test loop")
        during = (policy(), os.sched_getparam(0).sched_priority)
        started = in_own_thread(lambda: (policy(), os.sched_getparam(0).sched_priority))
        restore(before)
        return before, during, started, (policy(), os.sched_getparam(0).sched_priority)

    before, during, started, after = in_own_thread(work)
    assert before == Scheduling(os.SCHED_OTHER, 0)
    assert during == (os.SCHED_RR, 7)
    assert started == (os.SCHED_OTHER, 0)  # the executor's threads are not raised
    assert after == (os.SCHED_OTHER, 0)


def test_another_process_loop_is_raised_by_its_pid() -> None:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        before = raise_to_realtime(4, "the simulator", child.pid)
        assert before == Scheduling(os.SCHED_OTHER, 0)
        assert os.sched_getscheduler(child.pid) & ~os.SCHED_RESET_ON_FORK == os.SCHED_RR
        assert os.sched_getparam(child.pid).sched_priority == 4
    finally:
        child.kill()
        child.wait()


def test_a_refused_priority_keeps_normal_priority_and_says_what_to_grant() -> None:
    code = (
        "import logging, os\n"
        "logging.basicConfig(level=logging.INFO, format='%(levelname)s %(message)s')\n"
        "from controller.line.realtime import raise_to_realtime\n"
        "print(raise_to_realtime(20, 'line north'), os.sched_getscheduler(0))\n"
    )
    # without CAP_SYS_NICE, as a service without LimitRTPRIO runs
    argv = ["setpriv", "--bounding-set", "-sys_nice", "--inh-caps", "-sys_nice"]
    done = subprocess.run(
        [*argv, sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=30
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["None", str(os.SCHED_OTHER)]
    assert "WARNING line north runs at normal priority" in done.stderr
    assert "real-time priority 20 was refused (Operation not permitted)" in done.stderr
    assert "LimitRTPRIO=20" in done.stderr and "line.realtime_priority to 0" in done.stderr


async def test_a_line_answers_from_a_raised_loop_and_gives_the_priority_back(tmp_path) -> None:
    config = line_config(line={"name": "rt", "realtime_priority": 3})
    async with simulated_line(config, tmp_path) as sim:
        line = LineController(pointed_at(config, sim), tmp_path)
        assert policy() == os.SCHED_OTHER
        async with running(line):
            assert (policy(), os.sched_getparam(0).sched_priority) == (os.SCHED_RR, 3)
    assert (policy(), os.sched_getparam(0).sched_priority) == (os.SCHED_OTHER, 0)
