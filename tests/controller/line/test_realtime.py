"""Real-time priority for the loop that answers the PLC: raised, not inherited, restored, and
a refusal that says what to grant."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest

from controller.line.controller import LineController
from controller.line.realtime import LoopPriority, Scheduling, raise_to_realtime, restore
from tests.controller.line.helpers import (
    finished,
    line_config,
    pointed_at,
    running,
    simulated_line,
    until,
)

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
        "from controller.line.realtime import LoopPriority\n"
        "held = LoopPriority(20, 'answering', 'line south')\n"
        "held.start()\n"
        "held.answering(True)\n"
        "print(os.sched_getscheduler(0), held.raises)\n"
    )
    # without CAP_SYS_NICE, as a service without LimitRTPRIO runs
    argv = ["setpriv", "--bounding-set", "-sys_nice", "--inh-caps", "-sys_nice"]
    done = subprocess.run(
        [*argv, sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=30
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["None", str(os.SCHED_OTHER), str(os.SCHED_OTHER), "0"]
    assert "WARNING line south runs at normal priority" in done.stderr
    assert "WARNING line north runs at normal priority" in done.stderr
    assert "real-time priority 20 was refused (Operation not permitted)" in done.stderr
    assert "LimitRTPRIO=20" in done.stderr and "line.realtime_priority to 0" in done.stderr


def scheduling() -> tuple[int, int]:
    """The calling thread's policy (without the reset-on-fork flag) and priority."""
    return policy(), os.sched_getparam(0).sched_priority


def test_the_loop_priority_is_held_only_while_answering_unless_always() -> None:
    release = threading.Event()
    helper_ids: list[int] = []

    def helper() -> None:  # a thread of the line's, as the journal writer is
        helper_ids.append(threading.get_native_id())
        release.wait()

    def helper_scheduling() -> tuple[int, int]:
        tid = helper_ids[0]
        return os.sched_getscheduler(tid) & ~os.SCHED_RESET_ON_FORK, os.sched_getparam(
            tid
        ).sched_priority

    def work():
        seen, helpers = [], []
        answering = LoopPriority(5, "answering", "test loop")
        answering.start()
        seen.append(scheduling())  # started: the priority is granted, not held
        answering.answering(True)
        seen.append(scheduling())
        helpers.append(helper_scheduling())
        answering.answering(True)  # no change, no second raise
        answering.answering(False)
        seen.append(scheduling())
        helpers.append(helper_scheduling())
        answering.answering(True)
        answering.stop()
        seen.append(scheduling())
        helpers.append(helper_scheduling())
        always = LoopPriority(6, "always", "test loop")
        always.start()
        always.answering(False)  # held all the time
        seen.append(scheduling())
        always.stop()
        seen.append(scheduling())
        return seen, helpers, answering.raises, always.raises

    thread = threading.Thread(target=helper)
    thread.start()
    try:
        while not helper_ids:
            time.sleep(0.001)
        seen, helpers, raises, always_raises = in_own_thread(work)
    finally:
        release.set()
        thread.join()
    other, rr = (os.SCHED_OTHER, 0), os.SCHED_RR
    assert seen == [other, (rr, 5), other, other, (rr, 6), other]
    # the process's other threads: one step below the loop while it answers, else normal
    assert helpers == [(rr, 4), other, other]
    assert (raises, always_raises) == (3, 1)  # the start's check and two answers


async def test_an_always_line_answers_from_a_raised_loop_and_gives_the_priority_back(
    tmp_path,
) -> None:
    config = line_config(line={"name": "rt", "realtime_priority": 3, "realtime_scope": "always"})
    async with simulated_line(config, tmp_path) as sim:
        line = LineController(pointed_at(config, sim), tmp_path)
        assert policy() == os.SCHED_OTHER
        async with running(line):
            assert scheduling() == (os.SCHED_RR, 3)
    assert scheduling() == (os.SCHED_OTHER, 0)


@pytest.mark.parametrize("plc", ["modbus", "opcua"])
async def test_a_line_answers_every_request_raised_and_rests_at_normal_priority(
    tmp_path, plc: str
) -> None:
    """The default scope: each answer is written from the raised loop (the simulated PLC
    runs on the same loop in this test), and the loop is back at normal priority once no
    request is expected: with a PLC read on the wire, and with one that pushes its
    changes (an OPC UA subscription), whose pace never sets the reads but still says when
    a request can come."""
    devices = {"sorter": {"driver": "opcua", "url": "opc.tcp://127.0.0.1:4840/plc"}}
    config = line_config(
        line={"name": "rt", "realtime_priority": 3},
        simulation={"parcels": 6, "rate_pph": 9000},
        **({"devices": devices} if plc == "opcua" else {}),
    )
    async with simulated_line(config, tmp_path) as sim:
        line = LineController(pointed_at(config, sim), tmp_path)
        answered_at: list[tuple[int, int]] = []
        async with running(line):
            answer = line.plc.driver.answer

            async def answer_and_note(request, chute):
                answered_at.append(scheduling())
                await answer(request, chute)

            line.plc.driver.answer = answer_and_note  # type: ignore[method-assign]
            await until(lambda: finished(line) == 6, within=30)
            assert line.plc.loop_priority is not None
            await until(lambda: not line.plc.pace.answering and scheduling()[0] == os.SCHED_OTHER)
            raises = line.plc.loop_priority.raises
        assert len(answered_at) >= 6
        assert set(answered_at) == {(os.SCHED_RR, 3)}
        assert raises >= 2  # raised for the answers, dropped between
    assert scheduling() == (os.SCHED_OTHER, 0)


def test_a_line_whose_priority_and_wakeup_latency_are_refused_raises_alarms() -> None:
    code = (
        "import asyncio, sys\n"
        "from pathlib import Path\n"
        "from controller.line.controller import LineController\n"
        "from tests.controller.line.helpers import line_config, running, until\n"
        "async def main():\n"
        "    line_section = {'name': 'north', 'realtime_priority': 20,\n"
        "                    'cpu_wakeup_latency_us': 0}\n"
        "    line = LineController(line_config(line=line_section), Path(sys.argv[1]))\n"
        "    keys = ('line:realtime_priority', 'line:cpu_wakeup_latency_us')\n"
        "    async with running(line):\n"
        "        await until(lambda: all(line.alarms.is_active(k) for k in keys))\n"
        "        for key in keys:\n"
        "            print(key, '|', line.alarms.get(key).text)\n"
        "asyncio.run(main())\n"
    )
    # a service user that is not root: neither CAP_SYS_NICE nor the PM QoS device's owner
    argv = ["setpriv", "--reuid", "65534", "--regid", "65534", "--clear-groups"]
    with tempfile.TemporaryDirectory() as data:  # pytest's tmp_path is root's alone
        Path(data).chmod(0o777)
        done = subprocess.run(
            [*argv, sys.executable, "-c", code, data],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert done.returncode == 0, done.stderr
    alarms = dict(line.split(" | ", 1) for line in done.stdout.splitlines())
    assert "real-time priority 20 was refused" in alarms["line:realtime_priority"]
    assert "LimitRTPRIO=20" in alarms["line:realtime_priority"]
    latency = alarms["line:cpu_wakeup_latency_us"]
    assert "/dev/cpu_dma_latency cannot be opened for writing" in latency
    assert "line.cpu_wakeup_latency_us to null" in latency
