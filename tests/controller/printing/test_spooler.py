"""The print spooler with the real ZPL driver against the printer simulator over TCP."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import pytest

from controller.alarms.board import AlarmBoard
from controller.printing import LabelSpooler, PrintJob
from drivers.printer import ZplTcpPrinter
from simulators.printer import ZplPrinterSimulator

KEY = "printer:dock-printer"


def label(n: int) -> str:
    return f"^XA^FO20,20^A0N,30,30^FDJOB {n}^FS^XZ"


async def until(condition: Callable[[], bool], within: float = 3.0) -> None:
    """Poll ``condition`` until it holds; fail after ``within`` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not condition():
        if loop.time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.005)


@pytest.fixture
async def sim() -> AsyncIterator[ZplPrinterSimulator]:
    printer = ZplPrinterSimulator("127.0.0.1", 0)
    await printer.start()
    yield printer
    await printer.stop()


@pytest.fixture
async def spooler(sim: ZplPrinterSimulator) -> AsyncIterator[LabelSpooler]:
    driver = ZplTcpPrinter("dock-printer", sim.url, timeout_s=0.15)
    spool = LabelSpooler(driver, alarms=AlarmBoard(), status_interval_s=0.05, name="dock-printer")
    task = asyncio.create_task(spool.run())
    yield spool
    spool.stop()
    await asyncio.wait_for(task, 2.0)
    assert not driver.connected  # run() closed it


def alarm_text(spooler: LabelSpooler) -> str:
    alarm = spooler.alarms.get(KEY)
    assert alarm is not None
    return alarm.text


def printed_jobs(sim: ZplPrinterSimulator) -> list[str]:
    return [text for label in sim.printed for text in label.texts()]


async def test_prints_in_order_and_calls_on_done(sim: ZplPrinterSimulator, spooler: LabelSpooler):
    done: list[str] = []
    for n in range(3):
        spooler.submit(label(n), job_id=f"c{n}", on_done=lambda job: done.append(job.job_id))
    await until(lambda: spooler.printed_count == 3)
    assert printed_jobs(sim) == ["JOB 0", "JOB 1", "JOB 2"]
    assert done == ["c0", "c1", "c2"]
    assert spooler.pending() == []
    assert spooler.alarms.active() == []


async def test_paper_out_keeps_the_job_and_reprints_it_once(
    sim: ZplPrinterSimulator, spooler: LabelSpooler
):
    sim.paper_out = True
    done: list[PrintJob] = []
    job = spooler.submit(label(1), on_done=done.append)
    await until(lambda: spooler.alarms.is_active(KEY))
    alarm = spooler.alarms.get(KEY)
    assert alarm is not None and alarm.device == "dock-printer"
    assert alarm.text == f"label printer dock-printer ({sim.url}): paper out; 1 label waiting"
    await asyncio.sleep(0.15)  # a few status polls while out
    assert spooler.pending() == [job] and done == []
    assert sim.printed == [] and sim.lost_while_out == []  # never sent while out

    sim.paper_out = False
    await until(lambda: spooler.printed_count == 1)
    await asyncio.sleep(0.06)  # a poll or two more: nothing printed twice
    assert printed_jobs(sim) == ["JOB 1"]  # once
    assert done == [job] and job.attempts == 1
    assert not spooler.alarms.is_active(KEY)
    assert spooler.problem is None


@pytest.mark.parametrize(("flag", "text"), [("paused", "paused"), ("head_up", "head up")])
async def test_not_ready_is_named_in_the_alarm(
    sim: ZplPrinterSimulator, spooler: LabelSpooler, flag: str, text: str
):
    setattr(sim, flag, True)
    await until(lambda: spooler.alarms.is_active(KEY))
    assert alarm_text(spooler).endswith(f": {text}; 0 labels waiting")
    setattr(sim, flag, False)
    await until(lambda: not spooler.alarms.is_active(KEY))


async def test_offline_then_online_loses_nothing_and_keeps_order(
    sim: ZplPrinterSimulator, spooler: LabelSpooler
):
    spooler.submit(label(0))
    await until(lambda: spooler.printed_count == 1)
    await sim.offline()
    for n in range(1, 5):
        spooler.submit(label(n))
    await until(lambda: spooler.alarms.is_active(KEY))
    assert "offline" in alarm_text(spooler)
    assert sim.url in alarm_text(spooler)
    assert len(spooler.pending()) == 4

    await sim.online()
    await until(lambda: spooler.printed_count == 5)
    assert printed_jobs(sim) == [f"JOB {n}" for n in range(5)]
    assert sim.rejected == [] and sim.lost_while_out == []
    assert not spooler.alarms.is_active(KEY)


async def test_silent_printer_is_not_ready(sim: ZplPrinterSimulator, spooler: LabelSpooler):
    sim.silent_when_faulted = True
    sim.head_up = True
    spooler.submit(label(1))
    await until(lambda: spooler.alarms.is_active(KEY))
    assert "no answer to ~HS" in alarm_text(spooler)
    assert spooler.printed_count == 0 and sim.lost_while_out == []
    sim.head_up = False
    await until(lambda: spooler.printed_count == 1)
    assert printed_jobs(sim) == ["JOB 1"]


async def test_stop_returns_with_jobs_left_pending(sim: ZplPrinterSimulator):
    sim.paused = True
    driver = ZplTcpPrinter("p", sim.url, timeout_s=0.3)
    spool = LabelSpooler(driver, alarms=AlarmBoard(), status_interval_s=10.0)
    async with asyncio.TaskGroup() as tg:
        tg.create_task(spool.run())
        spool.submit(label(1))
        await until(lambda: spool.problem == "paused")
        spool.stop()  # wakes it from its 10 s wait
    assert len(spool.pending()) == 1 and spool.printed_count == 0
