"""What every sorter PLC simulator shares, whatever its wire: the PLC cycle and fault injection.

:class:`PlcSimulatorBase` owns the :class:`~simulators.plc_logic.PlcLogic` (the PLC
program over its register memory) and the task that steps it every ``tick_s``. The
Modbus TCP and OPC UA simulators add only the server that shows that memory on their
wire. Fault injection (Python API): :meth:`force_chute_full`, :meth:`disable_chute`,
:meth:`freeze_heartbeat`, :meth:`stall`, :meth:`schedule_chute_faults`; each simulator
adds dropping its clients.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Sequence

from plc_configs.schema import LineConfig
from simulators.plc_logic import PlcLogic, register_count
from simulators.scenario import ChuteFaultAt
from simulators.twin import Event, LineTwin

log = logging.getLogger(__name__)


class PlcSimulatorBase:
    """The PLC program and its cycle over a line twin (no wire)."""

    def __init__(
        self,
        config: LineConfig,
        twin: LineTwin,
        *,
        tick_s: float = 0.001,
        clock: Callable[[], float] = time.perf_counter,
    ):
        self.config = config
        self.twin = twin
        self.tick_s = tick_s
        self.clock = clock
        self.logic: PlcLogic | None = None
        self._ticker: asyncio.Task[None] | None = None
        self._stall_until = 0.0
        self._stopping = asyncio.Event()
        self.action_errors = 0
        self._chute_faults: tuple[Sequence[ChuteFaultAt], float] | None = None

    def _make_logic(self, registers: list[int] | None = None) -> PlcLogic:
        """The PLC program over ``registers`` (new memory if None), stepped to now."""
        memory = (
            registers if registers is not None else [0] * register_count(self.config.register_map)
        )
        self.logic = PlcLogic(self.config, self.twin, memory)
        if self._chute_faults is not None:
            self.logic.schedule_chute_faults(*self._chute_faults)
        self.logic.step(self.clock())
        return self.logic

    def _start_cycle(self) -> None:
        self._stopping.clear()
        self._ticker = asyncio.create_task(self._cycle(), name="plc-sim-cycle")

    async def _stop_cycle(self) -> None:
        self._stopping.set()
        if self._ticker is not None:
            self._ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ticker
            self._ticker = None

    def sync(self) -> PlcLogic:
        """Bring the PLC and the twin up to now; return the PLC logic."""
        assert self.logic is not None
        events = self.logic.step(self.clock())
        self._after_step(events)
        return self.logic

    def _after_step(self, events: list[Event]) -> None:
        """Called after every step of the PLC with the twin's events of that step (a
        simulator publishes its memory here)."""

    async def _cycle(self) -> None:
        while True:
            try:
                self.sync()
            except Exception:
                self.action_errors += 1
                log.exception("PLC cycle failed")
            await asyncio.sleep(self.tick_s)

    async def _wait_if_stalled(self) -> None:
        """Hold a request while stalled; woken early by stop(), so none outlives the server."""
        wait = self._stall_until - self.clock()
        if wait > 0:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(wait):
                    await self._stopping.wait()

    # -- fault injection ------------------------------------------------------------

    def force_chute_full(self, chute: int, full: bool = True) -> None:
        """Hold a chute full (its bit is set and parcels for it get CHUTE_FULL)."""
        self.twin.force_full(chute, full)
        self.sync()

    def disable_chute(self, chute: int, disabled: bool = True) -> None:
        """Disable a chute on the PLC side (in addition to the host's requests)."""
        if disabled:
            self.twin.forced_disabled.add(chute)
        else:
            self.twin.forced_disabled.discard(chute)
        self.sync()

    def schedule_chute_faults(self, faults: Sequence[ChuteFaultAt], origin_s: float) -> None:
        """Jam chutes as a scenario's ``chutes:`` say; scenario time 0 is ``origin_s`` on
        :attr:`clock`."""
        self._chute_faults = (tuple(faults), origin_s)
        if self.logic is not None:
            self.logic.schedule_chute_faults(faults, origin_s)

    def stall(self, seconds: float) -> None:
        """Answer no request for ``seconds`` (they are answered late)."""
        self._stall_until = self.clock() + seconds

    def freeze_heartbeat(self, frozen: bool = True) -> None:
        """Stop (or resume) incrementing the PLC's life counter."""
        assert self.logic is not None
        self.logic.heartbeat_frozen = frozen
