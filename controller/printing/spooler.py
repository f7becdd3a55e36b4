"""A print spooler per label printer: labels in order, none lost while the printer is not ready.

A job is sent only after the printer's status said it is ready (paper in, not paused,
head down); right after the label is written the status is asked again, and only an
answer confirms the job (the printer reads its socket in order, so it has the label):
the job then leaves the queue and its ``on_done`` callback runs (the caller journals
"label printed"). A send or that confirmation failing keeps the job at the head of
the queue and sends it again once the printer answers: delivery is **at least once**
(a link that dies between the printer taking the label and answering the status can
print a label twice; a container label printed twice is harmless, one never printed
is not).

While the printer is not ready the spooler raises one alarm, ``printer:<name>``,
on the :class:`~controller.alarms.board.AlarmBoard`, saying which printer, at which
address, and what is wrong (``paper out``, ``paused``, ``head up``, ``offline: …``);
it asks again every ``status_interval_s`` and clears the alarm when the printer is
ready. While idle it keeps asking at that interval, so the alarm comes before the
next container is closed.

Not restart-safe: the queue lives in memory; after a restart the caller re-submits the
labels of containers that have no "label printed" record.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from controller.alarms.board import AlarmBoard, Severity
from drivers.errors import ConnectionLost, DeviceTimeout, DriverError, ProtocolError
from drivers.printer.base import LabelPrinter, PrinterStatus

log = logging.getLogger(__name__)


@dataclass(eq=False)
class PrintJob:
    """One label format waiting to be printed (``attempts`` counts sends)."""

    job_id: str
    zpl: str
    submitted_at: float
    on_done: Callable[[PrintJob], None] | None = None
    attempts: int = 0
    printed_at: float | None = None


class LabelSpooler:
    """The queue of one printer; :meth:`run` works it until :meth:`stop` or cancellation."""

    def __init__(
        self,
        printer: LabelPrinter,
        *,
        alarms: AlarmBoard,
        status_interval_s: float = 5.0,
        name: str | None = None,
        clock: Callable[[], float] = time.monotonic,
        severity: Severity = Severity.WARNING,
    ):
        self.printer = printer
        self.alarms = alarms
        self.status_interval_s = status_interval_s
        self.name = name or printer.name
        self.clock = clock
        self.severity = severity
        self.printed_count = 0
        self.last_status: PrinterStatus | None = None
        self.problem: str | None = None
        """What stops printing now (the alarm's reason), None while the printer is ready."""
        self._jobs: deque[PrintJob] = deque()
        self._ids = itertools.count(1)
        self._wake = asyncio.Event()
        self._stopping = False

    @property
    def alarm_key(self) -> str:
        """Key of this printer's alarm."""
        return f"printer:{self.name}"

    def submit(
        self,
        zpl: str,
        *,
        job_id: str | None = None,
        on_done: Callable[[PrintJob], None] | None = None,
    ) -> PrintJob:
        """Queue a label; ``on_done(job)`` is called once the printer has it."""
        job = PrintJob(job_id or f"{self.name}-{next(self._ids)}", zpl, self.clock(), on_done)
        self._jobs.append(job)
        self._wake.set()
        return job

    def pending(self) -> list[PrintJob]:
        """Jobs not yet printed, in the order they will print."""
        return list(self._jobs)

    def stop(self) -> None:
        """Let :meth:`run` return after the job in hand (jobs left stay in :meth:`pending`)."""
        self._stopping = True
        self._wake.set()

    async def run(self) -> None:
        """Ask the status, print what is queued while ready; closes the printer at the end."""
        fresh: PrinterStatus | None = None
        try:
            while not self._stopping:
                status = fresh or await self._ask_status()
                fresh = None
                if status is not None and status.ready and self._jobs:
                    fresh = await self._print(self._jobs[0])
                    if fresh is not None:
                        continue
                await self._wait()
        finally:
            await self.printer.close()

    async def _print(self, job: PrintJob) -> PrinterStatus | None:
        """Send ``job`` and confirm it with a status; the status after it, None if it failed."""
        job.attempts += 1
        try:
            await self.printer.send(job.zpl)
            after = await self.printer.status()
        except DriverError as err:
            self._not_ready(_reason(err))
            return None
        self._jobs.popleft()
        job.printed_at = self.clock()
        self.printed_count += 1
        log.info("%s: printed %s (attempt %d)", self.name, job.job_id, job.attempts)
        if job.on_done is not None:
            try:
                job.on_done(job)
            except Exception:  # a failing callback must not stop the labels behind it
                log.exception("%s: on_done of %s failed", self.name, job.job_id)
        self._seen(after)
        return after

    async def _ask_status(self) -> PrinterStatus | None:
        try:
            status = await self.printer.status()
        except DriverError as err:
            self._not_ready(_reason(err))
            return None
        self._seen(status)
        return status

    def _seen(self, status: PrinterStatus) -> None:
        self.last_status = status
        if status.ready:
            if self.problem is not None:
                log.info("%s: ready again", self.name)
                self.alarms.clear(self.alarm_key, self.clock())
            self.problem = None
        else:
            self._not_ready(", ".join(status.problems))

    def _not_ready(self, problem: str) -> None:
        if problem == self.problem and self.alarms.is_active(self.alarm_key):
            return
        self.problem = problem
        waiting = len(self._jobs)
        self.alarms.raise_(
            self.alarm_key,
            f"label printer {self.name} ({self.printer.address}): {problem}; "
            f"{waiting} label{'s' if waiting != 1 else ''} waiting",
            self.clock(),
            device=self.name,
            severity=self.severity,
        )

    async def _wait(self) -> None:
        """Until a job is submitted, :meth:`stop`, or the next status poll is due."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self.status_interval_s):
                await self._wake.wait()
        self._wake.clear()


def _reason(err: DriverError) -> str:
    """What a driver error means for printing, in the alarm's words."""
    if isinstance(err, ConnectionLost):
        return f"offline: {err.detail}"
    if isinstance(err, DeviceTimeout):
        return (
            f"offline: {err.detail} (some printers do not answer while out of paper "
            "or with the head up)"
        )
    if isinstance(err, ProtocolError):
        return f"status not understood: {err.detail}"
    return f"fault: {err.detail}"
