"""The PLC link's status side: faults, the life counters, auto start, housekeeping writes.

:class:`PlcHousekeeping` is a base of :class:`~controller.line.plc_link.PlcLink` (which
runs the handshake): each cycle hands it the PLC's status (alarms for faults, the PLC's
life counter watched, Reset/Start sent once connected when ``line.auto_start``), and
its housekeeping writes the controller's life counter, queued PackML commands and the
chutes the host disables, and sweeps parcels that were never confirmed.
"""

from __future__ import annotations

import logging
from collections import deque

from controller.alarms.board import AlarmBoard, Severity
from controller.containers.fill import ChuteFill
from controller.line.parts import LineParts
from drivers.plc.base import PlcStatus, SorterPlc
from plc_configs.contract import PackMLCommand, PackMLState, PlcFault

log = logging.getLogger("controller.line.plc_link")  # the link's log, as before the split

_FAULT_TEXT = {
    PlcFault.ESTOP: ("emergency stop pressed", Severity.CRITICAL),
    PlcFault.JAM: ("jam on the sorter", Severity.CRITICAL),
    PlcFault.HOST_HEARTBEAT_LOST: ("the PLC does not see our life counter", Severity.CRITICAL),
    PlcFault.RING_OVERFLOW: (
        "a PLC ring is full: the controller is not keeping up",
        Severity.WARNING,
    ),
}


class PlcHousekeeping:
    """The status side of the PLC link (see the module); the link sets these up."""

    driver: SorterPlc
    alarms: AlarmBoard
    parts: LineParts
    status: PlcStatus | None
    heartbeat_ok: bool
    chute_fill: ChuteFill
    disabled_by_host: frozenset[int]
    _disabled_written: frozenset[int] | None
    _commands: deque[PackMLCommand]
    _auto_start: bool
    _hb_value: int | None
    _hb_changed_at: float
    _hb_counter: int
    _hb_written_at: float
    _hb_timeout_s: float
    _hb_interval_s: float
    _swept_at: float
    _faults: int

    def queue_command(self, command: PackMLCommand) -> None:
        """Send ``command`` in the next cycle (validated by the caller)."""
        self._commands.append(command)

    def set_disabled(self, chutes: frozenset[int]) -> None:
        """The chutes the controller wants disabled (written in the next cycle)."""
        self.disabled_by_host = chutes

    def _on_status(self, status: PlcStatus, now: float) -> None:
        previous = self.status
        if status is previous:  # the driver saw the same status registers: only time moved
            self._check_heartbeat_stuck(status, now)
            if self._auto_start:
                self._auto_start_step(status.packml_state)
            return
        self.status = status
        self.chute_fill.on_full(status.chute_full)
        if previous is None or previous.packml_state != status.packml_state:
            log.info("%s: PackML state %s", self.driver.name, status.packml_state.name)
        if self.parts.line_states is not None:
            self.parts.line_states.on_plc_state(status.packml_state, status.fault_word, now)
        if status.heartbeat != self._hb_value:
            self._hb_value, self._hb_changed_at = status.heartbeat, now
            if not self.heartbeat_ok:
                self.heartbeat_ok = True
                self.alarms.clear(f"heartbeat:{self.driver.name}", now)
        else:
            self._check_heartbeat_stuck(status, now)
        if status.fault_word != self._faults:
            for fault, (text, severity) in _FAULT_TEXT.items():
                key = f"plc-fault:{self.driver.name}:{fault.name.lower()}"
                if status.fault_word & (1 << fault):
                    self.alarms.raise_(
                        key,
                        f"{self.driver.name}: {text}",
                        now,
                        device=self.driver.name,
                        severity=severity,
                    )
                else:
                    self.alarms.clear(key, now)
            self._faults = status.fault_word
        if self._auto_start:
            self._auto_start_step(status.packml_state)

    def _check_heartbeat_stuck(self, status: PlcStatus, now: float) -> None:
        """The PLC's life counter has not changed: an alarm once it is stuck too long."""
        if self.heartbeat_ok and now - self._hb_changed_at > self._hb_timeout_s:
            self.heartbeat_ok = False
            self.alarms.raise_(
                f"heartbeat:{self.driver.name}",
                f"{self.driver.name} ({self.driver.address}): PLC life counter stuck at "
                f"{status.heartbeat} for {now - self._hb_changed_at:.1f} s",
                now,
                device=self.driver.name,
                severity=Severity.CRITICAL,
            )

    def _auto_start_step(self, state: PackMLState) -> None:
        if self._commands:
            return
        if state in (PackMLState.STOPPED, PackMLState.COMPLETE):
            self.queue_command(PackMLCommand.RESET)
        elif state is PackMLState.ABORTED:
            self.queue_command(PackMLCommand.CLEAR)
        elif state is PackMLState.IDLE:
            self.queue_command(PackMLCommand.START)
        elif state is PackMLState.EXECUTE:
            self._auto_start = False

    async def _housekeeping(self, now: float) -> None:
        if now - self._hb_written_at >= self._hb_interval_s:
            self._hb_counter = (self._hb_counter + 1) & 0xFFFF
            await self.driver.write_heartbeat(self._hb_counter)
            self._hb_written_at = now
        while self._commands:
            command = self._commands.popleft()
            await self.driver.send_command(command)
            log.info("%s: sent PackML command %s", self.driver.name, command.name)
        if self._disabled_written != self.disabled_by_host:
            await self.driver.request_chutes_disabled(self.disabled_by_host)
            self._disabled_written = self.disabled_by_host
        if now - self._swept_at >= 1.0:
            self._swept_at = now
            lost = self.parts.tracker.sweep_lost(now, self.parts.config.decision.lost_after_s)
            if lost:
                self.parts.journal.extend(lost)
                self.alarms.raise_(
                    f"lost:{self.driver.name}",
                    f"{len(lost)} parcel(s) without confirmation for "
                    f"{self.parts.config.decision.lost_after_s:.0f} s: recorded as lost",
                    now,
                    device=self.driver.name,
                )
