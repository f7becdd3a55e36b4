"""The sorter PLC link: the poll loop that runs the handshake with the PLC.

Each cycle reads the PLC area once, then, in this order: records new scan
events (and triggers the readers for them), records sort confirmations, answers
the open destination request (waiting for the readers up to the deadline),
acknowledges ring entries the journal has committed, and does housekeeping
(life counter, PackML commands, chute disables, lost-parcel sweep).
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections import deque
from collections.abc import Awaitable, Callable

from controller.alarms.board import AlarmBoard, Severity
from controller.containers.fill import ChuteFill
from controller.devices.links import Backoff
from controller.devices.supervisor import DeviceSupervisor
from controller.histogram import Histogram
from controller.line.parts import LineParts
from controller.line.plc_status import PlcHousekeeping
from controller.line.poll_pace import PollPace
from controller.line.realtime import LoopPriority
from controller.line.tunnel_binding import TunnelBinding, entered_after_bound
from controller.parcels.decision import (
    Decision,
    Identification,
    RejectReason,
    decide,
)
from controller.parcels.incidents import IncidentResponse, respond
from controller.parcels.measurement import Measurement, check_measurement
from controller.parcels.state import Parcel, ParcelState
from drivers.cancelling import raise_if_cancelling
from drivers.errors import DriverError
from drivers.plc.base import PLC_CLOCK_RESOLUTION_S, DestinationRequest, PlcStatus, SorterPlc
from plc_configs.contract import PackMLCommand, PackMLState, PlcFault

log = logging.getLogger(__name__)

LATENCY_WINDOW = 5000
"""Answers the live latency figures are taken over (about two minutes at 150,000/h)."""

_PLC_SIDE_REASONS = frozenset(
    {
        RejectReason.ANSWER_TOO_LATE,
        RejectReason.CHUTE_FULL,
        RejectReason.CHUTE_DISABLED,
        RejectReason.INVALID_ANSWER,
    }
)


class PlcLink(PlcHousekeeping, DeviceSupervisor):
    """Supervises the sorter PLC and runs the handshake while connected."""

    driver: SorterPlc

    def __init__(
        self, driver: SorterPlc, alarms: AlarmBoard, parts: LineParts, clock: Callable[[], float]
    ):
        device = parts.config.plc
        super().__init__(
            driver,
            alarms,
            Backoff.for_device(device),
            clock,
        )
        self.parts = parts
        self.device = device
        self.status: PlcStatus | None = None
        self.heartbeat_ok = False
        self.latencies_ms: deque[float] = deque(maxlen=LATENCY_WINDOW)
        """The latest answer latencies (ms), for the live p50/p99 (the journal has all)."""
        self.chute_fill = ChuteFill()
        self.answer_histogram = Histogram()
        """Answer latency in seconds as the controller saw it (for /metrics)."""
        self.disabled_by_host: frozenset[int] = frozenset()
        self._disabled_written: frozenset[int] | None = None
        self._commands: deque[PackMLCommand] = deque()
        self._auto_start = parts.config.line.auto_start
        self._acks: deque[tuple[int, int | None, int | None]] = deque()
        """(journal mark, scan ring index, confirm ring index): acknowledged once committed."""
        self._hb_value: int | None = None
        self._hb_changed_at = 0.0
        self._hb_counter = 0
        self._hb_written_at = 0.0
        self._swept_at = 0.0
        self._faults = 0
        self._hb_timeout_s = device.heartbeat_timeout_ms / 1000
        self._hb_interval_s = device.heartbeat_interval_ms / 1000
        self.tunnel = TunnelBinding(parts, clock)
        self.clock_tick_s: float = getattr(driver, "clock_resolution_s", PLC_CLOCK_RESOLUTION_S)
        """How far a stamped scan's age may be off (the PLC clock's step)."""
        self.adaptive_poll = getattr(driver, "polled", False)
        """Pace the reads (a polled driver); a subscribing one waits for changes itself,
        and its pace only says when the loop must be quick to wake (``answering``)."""
        self.pace = self._new_pace()
        self.reads = 0
        """Cycles run (reads of the PLC area), for diagnostics and tests."""
        self.loop_priority: LoopPriority | None = None
        """The loop's real-time priority, held while an answer can be due (set by the
        line when it runs with ``line.realtime_priority``)."""
        self.sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
        """The pause between reads: the line's ``LoopLagMonitor.sleep``
        (:mod:`controller.line.loop_lag`), which samples the loop's lag at each wake-up."""

    # -- the cycle -------------------------------------------------------------------------

    async def session(self) -> None:
        """Poll until the link fails (raises DriverError)."""
        try:
            await self._cycles()
        finally:
            if self.loop_priority is not None:
                self.loop_priority.answering(False)  # no answer is due on a dead link

    async def _cycles(self) -> None:
        now = self.clock()
        self._acks.clear()
        self._hb_value, self._hb_changed_at = None, now
        self._disabled_written = None
        pace = self.pace = self._new_pace(self.pace.learned_times)
        tracker, journal = self.parts.tracker, self.parts.journal
        previous_poll: float | None = None  # nothing read yet in this session
        me = asyncio.current_task()
        overflow_before = False
        priority = self.loop_priority
        while True:
            sent = self.clock()
            poll = await self.driver.poll()
            raise_if_cancelling(me)
            now = self.clock()
            overflow = bool(poll.status.fault_word & (1 << PlcFault.RING_OVERFLOW))
            entered_after = entered_after_bound(
                poll, now, previous_poll, overflow_before or overflow
            )
            appeared_after, previous_poll, overflow_before = previous_poll, sent, overflow
            self._on_status(poll.status, now)
            for problem in poll.problems:
                self.alarms.raise_(
                    f"register:{self.driver.name}:{problem.register.split(' ')[0]}",
                    f"{self.driver.name} ({self.driver.address}): {problem}; entry skipped",
                    now,
                    device=self.driver.name,
                )
            if poll.scans:
                self.tunnel.on_scans(poll, entered_after, now)
                for scan in poll.scans:
                    if scan.age_s is None or entered_after == -math.inf:
                        pace.on_scan(scan.tracking_id, entered_after, now)
                    else:  # the PLC's image was taken during the read; its clock steps by tick
                        age, tick = scan.age_s, self.clock_tick_s
                        pace.on_scan(scan.tracking_id, sent - age - tick, now - age + tick)
            for confirmation in poll.confirmations:
                events = tracker.on_confirmation(
                    confirmation.tracking_id, confirmation.chute, confirmation.result, now
                )
                journal.extend(events)
                if events and confirmation.chute:
                    self.chute_fill.on_landed(confirmation.chute)
                self._after_confirmation(events, now)
            if poll.scans or poll.confirmations:
                self._acks.append(
                    (
                        journal.mark(),
                        poll.scans[-1].ring_index if poll.scans else None,
                        poll.confirmations[-1].ring_index if poll.confirmations else None,
                    )
                )
            if poll.request is not None:
                if appeared_after is not None:
                    pace.on_request(poll.request.tracking_id, appeared_after, now)
                if priority is not None:
                    priority.answering(True)  # a request no window foresaw
                await self._on_request(poll.request, now)
            acks = self._acks
            if acks and journal.is_committed(acks[0][0]):
                await self._acknowledge()
            await self._housekeeping(now)
            raise_if_cancelling(me)
            requested = poll.request.tracking_id if poll.request is not None else None
            pace.on_cycle(requested is not None, poll.status.pending_requests, requested)
            self.reads += 1
            wait = pace.wait(self.clock())
            if priority is not None:
                priority.answering(pace.answering)
            await self.sleep(wait if self.adaptive_poll else pace.fast_s)

    def _new_pace(self, learned: tuple[tuple[float, float], ...] = ()) -> PollPace:
        """Fast only while a request can be pending (see :mod:`controller.line.poll_pace`);
        ``learned``: the scan-to-request times the last connection's pace learned."""
        topology, fast_s = self.parts.config.topology, self.device.poll_interval_ms / 1000
        return PollPace(
            fast_s,
            topology.read_budget_ms() / 1000,
            topology.scan_window_ms() / 1000,
            (topology.answer_window_ms() - self.parts.config.decision.deadline_ms) / 1000,
            learned=learned,
        )

    def _waiting_for_tunnel(self, parcel: Parcel) -> bool:
        return parcel.identification is None or (self.parts.measures and parcel.measurement is None)

    async def _on_request(self, request: DestinationRequest, now: float) -> None:
        tracker = self.parts.tracker
        parcel, events = tracker.on_request(request.tracking_id, now)
        if events:
            self.parts.journal.extend(events)
        if parcel.terminal:
            # An expired request the mailbox still shows (the parcel was confirmed while
            # the link was down): close it with the reject chute; the PLC ignores it.
            log.info(
                "%s: request for finished tracking id %d closed",
                self.driver.name,
                parcel.tracking_id,
            )
            await self.driver.answer(request, self.parts.plan.reject_chute)
            return
        if parcel.state is ParcelState.ASSIGNED:
            # The answer for this parcel was written but the PLC has not taken it yet
            # (e.g. the link dropped right after): answer again with the same decision.
            assert parcel.decision is not None
            await self.driver.answer(request, parcel.decision.chute)
            return
        identification = parcel.identification
        if self._waiting_for_tunnel(parcel) and not parcel.terminal:
            waited_ms = (now - (parcel.request_seen_at or now)) * 1000
            if waited_ms < self.parts.config.decision.deadline_ms:
                return  # readers, scale or dimensioner still at work; ask again next cycle
            if identification is None:
                identification = Identification(
                    None,
                    RejectReason.DEVICE_FAULT,
                    f"no reader result {waited_ms:.0f} ms after the request",
                )
            if self.parts.measures and parcel.measurement is None:
                late = f"no measurement {waited_ms:.0f} ms after the request"
                self.parts.journal.extend(
                    tracker.on_measured(
                        parcel, Measurement(weight_error=late, dimensions_error=late), now
                    )
                )
        plan_version = self.parts.plan.version  # the plan the decision reads (no await between)
        route_decision = self._decide(identification or Identification(None, RejectReason.NO_READ))
        decision = self._apply_measurement(parcel, route_decision, now)
        await self.driver.answer(request, decision.chute)
        answered = self.clock()
        events = tracker.on_answered(parcel, decision, answered, plan_version)
        self.parts.journal.extend(events)
        if events and parcel.request_seen_at is not None:
            latency = answered - parcel.request_seen_at
            self.latencies_ms.append(latency * 1000)
            self.answer_histogram.observe(latency)
        if route_decision.reason is not None:
            self._incident(route_decision.reason, f"tracking id {parcel.tracking_id}", answered)

    def _apply_measurement(self, parcel: Parcel, decision: Decision, now: float) -> Decision:
        """Measurement incidents: alarms, and a reject where the policy asks for one."""
        if parcel.measurement is None:
            return decision
        incidents = check_measurement(
            parcel.measurement,
            self.parts.config.tunnel,
            weighs=bool(self.parts.scales),
            dimensions=bool(self.parts.dimensioners),
        )
        for incident in incidents:
            response = self._incident(
                incident.reason, f"tracking id {parcel.tracking_id}: {incident.detail}", now
            )
            if response is not None and response.reject and not decision.rejected:
                decision = Decision(
                    self.parts.plan.reject_chute,
                    decision.route,
                    incident.reason,
                    incident.detail,
                )
        return decision

    def _decide(self, identification: Identification) -> Decision:
        status = self.status
        full = status.chute_full if status else frozenset()
        disabled = (status.chute_disabled if status else frozenset()) | self.disabled_by_host
        return decide(identification, self.parts.manifest, self.parts.plan, full, disabled)

    def _after_confirmation(self, events: list, now: float) -> None:
        for event in events:
            if not event.terminal:
                continue
            if "anomaly" in event.detail:
                self.alarms.raise_(
                    f"misdivert:{self.driver.name}",
                    f"{self.driver.name}: tracking id {event.tracking_id}: "
                    f"{event.detail['anomaly']}",
                    now,
                    device=self.driver.name,
                    severity=Severity.CRITICAL,
                )
            if event.reason and RejectReason(event.reason) in _PLC_SIDE_REASONS:
                self._incident(RejectReason(event.reason), f"tracking id {event.tracking_id}", now)

    def _incident(self, reason: RejectReason, what: str, now: float) -> IncidentResponse | None:
        response = respond(reason, self.parts.config.incidents)
        if response is None:
            return None
        if response.alarm:
            self.alarms.raise_(
                f"incident:{response.incident}",
                f"{response.incident.replace('_', ' ')}: {what}",
                now,
                severity=Severity.CRITICAL if response.stop_line else Severity.WARNING,
            )
        stoppable = self.status is not None and self.status.packml_state not in (
            PackMLState.STOPPED,
            PackMLState.STOPPING,
        )
        if response.stop_line and stoppable:
            log.error("stopping the line: incident policy for %s is 'stop'", response.incident)
            self.queue_command(PackMLCommand.STOP)
        return response

    async def _acknowledge(self) -> None:
        scans_through = confirms_through = None
        is_committed = self.parts.journal.is_committed
        while self._acks and is_committed(self._acks[0][0]):
            _, scan_index, confirm_index = self._acks.popleft()
            scans_through = scan_index if scan_index is not None else scans_through
            confirms_through = confirm_index if confirm_index is not None else confirms_through
        if scans_through is not None or confirms_through is not None:
            await self.driver.acknowledge(scans_through, confirms_through)

    def _down(self, err: DriverError) -> None:
        super()._down(err)
        if self.parts.line_states is not None:
            self.parts.line_states.on_link_down(self.link.last_error, self.clock())
