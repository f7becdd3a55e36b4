"""What every sorter PLC simulator shares, whatever its wire: the PLC cycle and fault injection.

:class:`PlcSimulatorBase` owns the :class:`~simulators.plc_logic.PlcLogic` (the PLC
program over its register memory) and its cycle. The cycle runs when something is
due (:meth:`~simulators.plc_logic.PlcLogic.next_due_s`: the belt bringing the next
parcel to a photo-eye or a chute, the life counter, a PackML transition...), at least
``tick_s`` apart (the PLC's scan time, 1 ms) and at most :data:`MAX_CYCLE_WAIT_S` apart.
A read or write of the PLC steps it to the moment of the request as well. The
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

MAX_CYCLE_WAIT_S = 0.05
"""The longest pause between two cycles, even when nothing is due (a bound on anything
:meth:`~simulators.plc_logic.PlcLogic.next_due_s` does not foresee)."""


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
        self._timer: asyncio.TimerHandle | None = None
        self._cycle_at = 0.0
        self._stall_until = 0.0
        self._stopping = asyncio.Event()
        self.drained = asyncio.Event()
        """Set once the PLC is drained (:attr:`~simulators.plc_logic.PlcLogic.drained`)."""
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
        self._run_cycle()

    async def _stop_cycle(self) -> None:
        self._stopping.set()
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def sync(self) -> PlcLogic:
        """Bring the PLC and the twin up to now; return the PLC logic."""
        logic = self.logic
        assert logic is not None
        events = logic.step(self.clock())
        self._after_step(events)
        if not self.drained.is_set() and logic.drained:
            self.drained.set()
        return logic

    def _after_step(self, events: list[Event]) -> None:
        """Called after every step of the PLC with the twin's events of that step (a
        simulator publishes its memory here)."""

    def _run_cycle(self) -> None:
        """One PLC cycle, then the next one armed for when something is due."""
        self._timer = None
        try:
            self.sync()
        except Exception:
            self.action_errors += 1
            log.exception("PLC cycle failed")
        self._arm_cycle()

    def _arm_cycle(self, at: float | None = None) -> None:
        at = self._next_cycle_at() if at is None else at
        self._cycle_at = at
        self._timer = asyncio.get_running_loop().call_later(at - self.clock(), self._run_cycle)

    def _next_cycle_at(self) -> float:
        """When the next cycle should run (on :attr:`clock`)."""
        now = self.clock()
        due = self.logic.next_due_s() if self.logic is not None else now
        return now + min(max(due - now, self.tick_s), MAX_CYCLE_WAIT_S)

    def _due_changed(self) -> None:
        """Run the next cycle sooner if something became due sooner (after a host write: a
        PackML command starts a transition, and the belt with it)."""
        if self._timer is None:
            return
        if (at := self._next_cycle_at()) < self._cycle_at:
            self._timer.cancel()
            self._arm_cycle(at)

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
            self._due_changed()

    def stall(self, seconds: float) -> None:
        """Answer no request for ``seconds`` (they are answered late)."""
        self._stall_until = self.clock() + seconds

    def freeze_heartbeat(self, frozen: bool = True) -> None:
        """Stop (or resume) incrementing the PLC's life counter."""
        assert self.logic is not None
        self.logic.heartbeat_frozen = frozen
