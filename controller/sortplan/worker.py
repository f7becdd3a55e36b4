"""The planning worker: the optimiser in a process of its own, never on the event loop.

The optimiser is CPU-bound for up to its time limit and holds the GIL; the controller's
event loop answers the PLC every few milliseconds. :class:`PlanningWorker` keeps one
child process (started on first use, OR-Tools loaded once there) and the loop only
awaits its answer. A plan that has no answer is a PlanningError with its cause, as in
the process; a worker that dies is a PlanningError too, and the next plan starts a new
one.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from controller.errors import PlanningError
from controller.sortplan.instance import Instance
from controller.sortplan.optimiser import PlanResult, optimise

log = logging.getLogger(__name__)

GRACE_S = 60.0
"""Beyond the instance's time limit, how long to wait for the worker (it starts, loads
OR-Tools, and returns by the limit)."""


def _load() -> None:
    """In the worker, at its start: load CP-SAT once, before the first plan needs it."""
    from ortools.sat.python import cp_model  # noqa: F401


def worker_pid() -> int:
    """The process a plan runs in (for tests and logs)."""
    return os.getpid()


class PlanningWorker:
    """One planning process, started on first use; :meth:`close` stops it."""

    def __init__(self) -> None:
        self._pool: ProcessPoolExecutor | None = None

    def _executor(self) -> ProcessPoolExecutor:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(
                max_workers=1, mp_context=multiprocessing.get_context("spawn"), initializer=_load
            )
        return self._pool

    async def run(self, function, *args):
        """``function(*args)`` in the worker; PlanningError when the worker dies or hangs."""
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._executor(), function, *args)
        except BrokenProcessPool as err:
            self._pool = None
            raise PlanningError({"plan": f"the planning worker process died: {err}"}) from err
        except PlanningError:
            raise
        except Exception as err:  # a defect in the optimiser: the line goes on without a plan
            log.exception("the optimiser failed")
            raise PlanningError(
                {"plan": f"the optimiser failed: {type(err).__name__}: {err}"}
            ) from err

    async def plan(self, instance: Instance) -> PlanResult:
        """The optimiser's result for ``instance``, computed in the worker process."""
        try:
            async with asyncio.timeout(instance.time_limit_s + GRACE_S):
                return await self.run(optimise, instance)
        except TimeoutError as err:
            await self.close()
            waited = instance.time_limit_s + GRACE_S
            raise PlanningError(
                {"plan": f"the planning worker gave no answer in {waited:.0f} s"}
            ) from err

    async def close(self) -> None:
        """Stop the worker process (a plan under way is abandoned)."""
        pool, self._pool = self._pool, None
        if pool is not None:
            await asyncio.to_thread(pool.shutdown, wait=True, cancel_futures=True)
