"""The sorter PLC program over a live register list (pure: the caller passes the time).

:class:`PlcLogic` owns the PLC area of the register map and reacts to writes into the
host area. It is what :mod:`simulators.plc_modbus` serves over Modbus TCP, and can be
stepped without sockets in unit tests. Addresses come from ``config.register_map``.
"""

from __future__ import annotations

import logging
import math
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

from plc_configs.contract import (
    PackMLCommand,
    PlcFault,
    chute_bits_to_ids,
    chute_ids_to_bits,
    join_u32,
    split_u32,
)
from plc_configs.register_map import RegisterMap
from plc_configs.schema import LineConfig
from simulators.packml import START_STATES, PackMLMachine
from simulators.rings import RegisterRing
from simulators.scenario import ChuteFaultAt
from simulators.twin import Belt, Event, EventKind, LineTwin

log = logging.getLogger(__name__)


def clock_ms(t_s: float, step_ms: int = 1) -> int:
    """The PLC's free-running millisecond counter at ``t_s`` (low 16 bits), counting in
    steps of ``step_ms`` (10 on an S7-300)."""
    ms = int(t_s * 1000)
    return (ms - ms % step_ms) & 0xFFFF


def register_count(rm: RegisterMap) -> int:
    """Registers 0..N-1 that cover both the PLC and the host area."""
    ends = [a + n for a, n in (*rm.plc_registers().values(), *rm.host_registers().values())]
    return max(ends)


@dataclass
class PlcStats:
    """Counters of the simulated PLC."""

    requests_posted: int = 0
    answers_accepted: int = 0
    mismatched_answers: int = 0
    invalid_answers: int = 0
    """Accepted answers naming a chute the PLC does not have (-> INVALID_ANSWER)."""
    unanswered: int = 0
    invalid_host_values: int = 0
    host_writes: int = 0


class PlcLogic:
    """The PLC: heartbeat, PackML, rings, destination mailbox, chute bits."""

    def __init__(self, config: LineConfig, twin: LineTwin, registers: list[int]):
        self.config = config
        self.rm = config.register_map
        self.twin = twin
        self.regs = registers
        need = register_count(self.rm)
        if len(registers) < need:
            raise ValueError(f"register list has {len(registers)} registers; the map needs {need}")
        psim = config.simulation.plc
        self.packml = PackMLMachine(START_STATES[psim.start_state], psim.transition_ms / 1000)
        self.belt = Belt(twin.belt_speed_mps)
        p = self.rm.plc
        self.scan_ring = RegisterRing(registers, p.scan_ring, p.scan_write_index)
        self.confirm_ring = RegisterRing(registers, p.confirm_ring, p.confirm_write_index)
        self.queue: deque[int] = deque()
        self.request_seq = 0
        self.posted_at: float | None = None
        self.stats = PlcStats()
        self.heartbeat = 0
        self.heartbeat_interval_s = psim.heartbeat_interval_ms / 1000
        self.heartbeat_frozen = False
        self._next_heartbeat: float | None = None
        self.host_timeout_s = psim.host_heartbeat_timeout_ms / 1000
        self._host_hb: int = registers[self.rm.host.heartbeat]
        self._host_hb_changed_at: float | None = None
        self.host_heartbeat_lost = False
        self._command_seq = registers[self.rm.host.command_seq]
        self.now_s = 0.0
        self._chute_faults: tuple[ChuteFaultAt, ...] = ()
        self._scenario_origin_s = 0.0
        self._publish()

    def schedule_chute_faults(self, faults: Sequence[ChuteFaultAt], origin_s: float) -> None:
        """Jam chutes as a scenario says; scenario time 0 is ``origin_s`` on this PLC's clock."""
        self._chute_faults = tuple(faults)
        self._scenario_origin_s = origin_s
        self._update_jams()
        self._publish()

    def _update_jams(self) -> None:
        if not self._chute_faults:
            return
        t = self.now_s - self._scenario_origin_s
        jammed = frozenset(e.chute for e in self._chute_faults if e.active(t))
        if jammed != self.twin.jammed:
            log.warning("scenario: jammed chutes at %.1f s: %s", t, sorted(jammed) or "none")
            self.twin.set_jammed(jammed)

    # -- time -----------------------------------------------------------------------

    def step(self, now_s: float) -> list[Event]:
        """Advance the PLC and the line to ``now_s``; return the twin's events."""
        self.now_s = max(self.now_s, now_s)
        belt_mm = self.belt.update(self.now_s, self.packml.executing)
        self.packml.step(self.now_s)
        self._update_jams()
        events = self.twin.advance(self.now_s, belt_mm)
        for event in events:
            self._on_event(event)
        self._tick_heartbeat()
        self._watch_host_heartbeat()
        self._publish()
        return events

    def next_due_s(self) -> float:
        """When the PLC next changes on its own, on the clock :meth:`step` is given: the
        belt reaching the next parcel event, the life counter, a PackML transition, a
        chute emptied, the host's life counter timing out, a scenario jam starting or
        ending. ``inf`` when only a host write can change anything; ``-inf`` (at once)
        before the first step."""
        if self._next_heartbeat is None:
            return -math.inf
        due = [self.packml.due_s, self.twin.next_emptying_s()]
        if self.packml.executing:
            due.append(self.belt.time_at(self.twin.next_event_mm()))
        due.append(self._next_heartbeat)
        if self._host_hb_changed_at is not None and not self.host_heartbeat_lost:
            due.append(self._host_hb_changed_at + self.host_timeout_s)
        t = self.now_s - self._scenario_origin_s
        for fault in self._chute_faults:
            ends = math.inf if fault.seconds is None else fault.at_s + fault.seconds
            due += [self._scenario_origin_s + b for b in (fault.at_s, ends) if b > t]
        return min(due)

    def _tick_heartbeat(self) -> None:
        if self._next_heartbeat is None:
            self._next_heartbeat = self.now_s + self.heartbeat_interval_s
        if self.now_s >= self._next_heartbeat:
            if not self.heartbeat_frozen:
                self.heartbeat = (self.heartbeat + 1) & 0xFFFF
            self._next_heartbeat = self.now_s + self.heartbeat_interval_s

    def _watch_host_heartbeat(self) -> None:
        if self._host_hb_changed_at is None:
            return
        lost = self.now_s - self._host_hb_changed_at >= self.host_timeout_s
        if lost and not self.host_heartbeat_lost:
            log.warning("host heartbeat unchanged for %.1f s", self.host_timeout_s)
        self.host_heartbeat_lost = lost

    # -- twin events ----------------------------------------------------------------

    def _on_event(self, event: Event) -> None:
        tid = event.parcel.tracking_id
        if event.kind is EventKind.SCANNED:
            words = list(split_u32(tid))
            if self.rm.plc.clock is not None:  # stamped with the clock at the photo-eye
                at_s = self.belt.time_of(event.belt_mm)
                words.append(clock_ms(at_s, self.rm.plc.clock_resolution_ms))
            self.scan_ring.push(words)
        elif event.kind is EventKind.REQUESTED:
            self.queue.append(tid)
            if len(self.queue) == 1:
                self._post_head()
        elif event.kind is EventKind.DECIDED:
            if tid in self.queue:
                head = self.queue[0] == tid
                self.queue.remove(tid)
                self.stats.unanswered += 1
                if head:
                    self._post_head()
        elif event.kind is EventKind.LANDED:
            parcel = event.parcel
            assert parcel.landed_chute is not None and parcel.result is not None
            self.confirm_ring.push([*split_u32(tid), parcel.landed_chute, int(parcel.result)])

    def _post_head(self) -> None:
        if not self.queue:
            self.posted_at = None
            return
        tid = self.queue[0]
        p = self.rm.plc
        hi, lo = split_u32(tid)
        self.regs[p.request_tracking_id] = hi
        self.regs[p.request_tracking_id + 1] = lo
        self.request_seq = self.request_seq % 0xFFFF + 1
        self.regs[p.request_seq] = self.request_seq
        self.posted_at = self.now_s
        self.stats.requests_posted += 1

    # -- host writes ----------------------------------------------------------------

    def on_host_write(self, address: int, values: list[int], now_s: float) -> None:
        """React to a host write of ``values`` at ``address`` that arrived at ``now_s``.

        The values are applied to the registers here (applying them again is harmless).
        """
        self.step(now_s)
        self.stats.host_writes += 1
        values = [int(v) & 0xFFFF for v in values]
        self.regs[address : address + len(values)] = values
        written = range(address, address + len(values))
        h = self.rm.host
        if h.heartbeat in written:
            self._on_host_heartbeat(self.regs[h.heartbeat])
        if h.command_seq in written and self.regs[h.command_seq] != self._command_seq:
            self._command_seq = self.regs[h.command_seq]
            self._on_command(self.regs[h.command])
        if h.answer_seq in written:
            self._on_answer()
        rings = ((self.scan_ring, h.scan_read_index), (self.confirm_ring, h.confirm_read_index))
        for ring, reg in rings:
            if reg in written and not ring.set_read_index(self.regs[reg]):
                size = ring.layout.size
                self._bad_value(f"read index {self.regs[reg]} at {reg} (ring of {size})")
        words = range(h.chute_disable_request, h.chute_disable_request + self.rm.chute_words)
        if any(w in written for w in words):
            self._on_disable_request([self.regs[w] for w in words])
        self._publish()

    def _bad_value(self, what: str) -> None:
        self.stats.invalid_host_values += 1
        log.warning("ignored out-of-range host value: %s", what)

    def _on_host_heartbeat(self, value: int) -> None:
        if value != self._host_hb:
            self._host_hb_changed_at = self.now_s
            if self.host_heartbeat_lost:
                log.info("host heartbeat back")
            self.host_heartbeat_lost = False
        self._host_hb = value

    def _on_command(self, code: int) -> None:
        before = self.packml.state
        if self.packml.command(code, self.now_s):
            log.info("PackML command %d: %s -> %s", code, before.name, self.packml.state.name)
            self.packml.step(self.now_s)
        elif code not in PackMLCommand._value2member_map_:
            log.warning("ignored out-of-range PackML command %d", code)
        else:
            log.debug("PackML command %d ignored in %s", code, before.name)

    def _on_answer(self) -> None:
        h = self.rm.host
        seq = self.regs[h.answer_seq]
        tid = join_u32(self.regs[h.answer_tracking_id], self.regs[h.answer_tracking_id + 1])
        chute = self.regs[h.answer_chute]
        if not self.queue or seq != self.request_seq or tid != self.queue[0]:
            self.stats.mismatched_answers += 1
            log.debug(
                "answer seq=%d id=%d ignored (request seq=%d id=%s)",
                seq,
                tid,
                self.request_seq,
                self.queue[0] if self.queue else None,
            )
            return
        if chute not in self.twin.chutes and chute != self.twin.reject.id:
            self.stats.invalid_answers += 1
            log.warning("answer for parcel %d names chute %d, which does not exist", tid, chute)
        latency_ms = None if self.posted_at is None else (self.now_s - self.posted_at) * 1000
        self.twin.record_answer(tid, chute, latency_ms)
        self.stats.answers_accepted += 1
        self.queue.popleft()
        self._post_head()

    def _on_disable_request(self, words: list[int]) -> None:
        ids = chute_bits_to_ids(words)
        known = frozenset(self.twin.chutes)
        if ids - known:
            self._bad_value(f"disable request for unknown chutes {sorted(ids - known)}")
        self.twin.set_host_disabled(ids & known)

    # -- registers ------------------------------------------------------------------

    @property
    def fault_word(self) -> int:
        """The PLC's fault bits now."""
        word = 0
        if self.host_heartbeat_lost:
            word |= 1 << PlcFault.HOST_HEARTBEAT_LOST
        if self.scan_ring.backlog or self.confirm_ring.backlog:
            word |= 1 << PlcFault.RING_OVERFLOW
        return word

    def _publish(self) -> None:
        p = self.rm.plc
        r = self.regs
        r[p.heartbeat] = self.heartbeat
        r[p.packml_state] = int(self.packml.state)
        r[p.conveyor_running] = int(self.packml.executing)
        r[p.fault_word] = self.fault_word
        r[p.pending_requests] = min(len(self.queue), 0xFFFF)
        if p.clock is not None:
            r[p.clock] = clock_ms(self.now_s, p.clock_resolution_ms)
        w = self.rm.chute_words
        r[p.chute_full : p.chute_full + w] = chute_ids_to_bits(self.twin.full_chutes(), w)
        r[p.chute_disabled : p.chute_disabled + w] = chute_ids_to_bits(
            self.twin.disabled_chutes(), w
        )

    @property
    def drained(self) -> bool:
        """A parcel limit was set, all were inducted and all confirmations are in the ring."""
        return (
            self.twin.parcel_limit is not None
            and self.twin.all_inducted
            and self.confirm_ring.written >= self.twin.stats.inducted
        )
