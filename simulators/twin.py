"""The line twin: parcels on a belt, photo-eyes, decision point and chutes.

Pure and deterministic: no I/O, no clock of its own. The caller passes the time
(seconds, any monotonic origin) and the belt distance (mm since start, it grows only
while the PLC runs the conveyor) to :meth:`LineTwin.advance`, which returns the events
that happened, in belt order. A parcel at induction belt distance ``d0`` has its front
at position ``belt_mm - d0``.

Per parcel, in belt order: ``INDUCTED`` (front at 0), ``SCANNED`` (front at the scan
point), ``REQUESTED`` (front at the request point), ``DECIDED`` (front at the decision
point: the fate is fixed from the answer), ``LANDED`` (front at the chute it falls into,
with a :class:`SortResult`).
"""

from __future__ import annotations

import heapq
import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import Enum

from plc_configs.contract import SortResult
from plc_configs.schema import LineConfig
from simulators.parcels import Arrivals, ParcelFactory, ParcelSpec, effective_belt_speed
from simulators.scenario import VolumeShiftAt

ROUNDING_MARGIN_S = 1e-9
"""What :meth:`Belt.time_at` adds against floating-point rounding (4 nm of belt at 4 m/s)."""


class EventKind(Enum):
    """What happened to a parcel."""

    INDUCTED = 0
    SCANNED = 1
    REQUESTED = 2
    DECIDED = 3
    AT_CHUTE = 4
    LANDED = 5


@dataclass
class Parcel:
    """A parcel on the belt: its spec and what happened to it so far."""

    spec: ParcelSpec
    induct_mm: float
    answered_chute: int | None = None
    answer_latency_ms: float | None = None
    target_chute: int | None = None
    """Set at the decision point: where the PLC will try to divert it."""
    pending_result: SortResult | None = None
    """Set at the decision point for parcels already bound for the reject chute."""
    result: SortResult | None = None
    landed_chute: int | None = None

    @property
    def tracking_id(self) -> int:
        """The PLC's tracking id."""
        return self.spec.tracking_id


@dataclass(frozen=True)
class Event:
    """One event of the twin."""

    kind: EventKind
    parcel: Parcel
    belt_mm: float


@dataclass
class ChuteState:
    """Fill state of one chute."""

    id: int
    position_mm: int
    capacity: int
    count: int = 0
    empty_at: float | None = None
    """Time at which the operator swaps the full container."""
    forced_full: bool = False

    @property
    def full(self) -> bool:
        """Full when the count reached the capacity (or forced by a test)."""
        return self.forced_full or self.count >= self.capacity


@dataclass
class Belt:
    """Integrates belt distance from time while the conveyor runs."""

    speed_mps: float
    belt_mm: float = 0.0
    last_s: float | None = None

    def update(self, now_s: float, running: bool) -> float:
        """Advance to ``now_s``; the belt moved only if it was ``running`` since last time."""
        if self.last_s is not None and running and now_s > self.last_s:
            self.belt_mm += (now_s - self.last_s) * self.speed_mps * 1000
        self.last_s = now_s if self.last_s is None else max(self.last_s, now_s)
        return self.belt_mm

    def time_of(self, belt_mm: float) -> float:
        """When the belt was at ``belt_mm``, a point it passed since the last update (it
        ran at speed since then: the twin's events between two updates)."""
        if self.last_s is None or self.speed_mps <= 0:
            return self.last_s or 0.0
        return self.last_s - max(0.0, self.belt_mm - belt_mm) / (self.speed_mps * 1000)

    def time_at(self, belt_mm: float) -> float:
        """When the running belt has reached ``belt_mm`` (``inf`` if it never will): a
        nanosecond late, so that an update at that time is past it whatever the rounding."""
        if self.last_s is None or self.speed_mps <= 0:
            return math.inf
        run_s = max(0.0, belt_mm - self.belt_mm) / (self.speed_mps * 1000)
        return self.last_s + run_s + ROUNDING_MARGIN_S


@dataclass
class TwinStats:
    """Counters of the twin."""

    inducted: int = 0
    landed: int = 0
    results: dict[str, int] = field(default_factory=dict)


class LineTwin:
    """The deterministic model of the line (see the module docstring)."""

    def __init__(
        self,
        config: LineConfig,
        *,
        seed: int | None = None,
        rate_pph: float | None = None,
        parcels: int | None = None,
        belt_speed_mps: float | None = None,
        volume_shifts: Sequence[VolumeShiftAt] = (),
    ):
        sim = config.simulation
        self.config = config
        self.topology = config.topology
        self.seed = sim.seed if seed is None else seed
        self.rate_pph = sim.rate_pph if rate_pph is None else rate_pph
        self.parcel_limit = sim.parcels if parcels is None else parcels
        if belt_speed_mps is None:
            belt_speed_mps = effective_belt_speed(config, self.rate_pph)
        self.belt_speed_mps = belt_speed_mps
        self.factory = ParcelFactory(
            config, self.seed, rate_pph=self.rate_pph, volume_shifts=volume_shifts
        )
        self.arrivals = Arrivals(
            self.rate_pph,
            self.belt_speed_mps,
            sim.min_gap_mm,
            self.seed,
            min_pitch_mm=self.topology.min_parcel_pitch_mm,
            mean_length_mm=sum(sim.parcel_length_mm) / 2,
        )
        self.empty_after_s = sim.chute_empty_after_s
        override = sim.chute_capacity_override
        self.chutes: dict[int, ChuteState] = {
            c.id: ChuteState(c.id, c.position_mm, override.get(c.id, c.capacity))
            for c in self.topology.chutes
        }
        rj = self.topology.reject_chute
        self.reject = ChuteState(rj.id, rj.position_mm, override.get(rj.id, rj.capacity))
        self.host_disabled: frozenset[int] = frozenset()
        self.forced_disabled: set[int] = set()
        self.jammed: frozenset[int] = frozenset()
        """Chutes a scenario jams now (the PLC reports them disabled)."""
        self.parcels: dict[int, Parcel] = {}
        self.belt_mm = 0.0
        self.now_s = 0.0
        self.stats = TwinStats()
        self._heap: list[tuple[float, int, int, EventKind, int]] = []
        self._order = itertools.count()
        self._last_scanned: Parcel | None = None
        self._next: Parcel | None = None
        self.listeners: list[Callable[[Event], None]] = []
        """Called with each event :meth:`advance` returns (device simulators that push)."""
        self._prepare_next()

    # -- parcels --------------------------------------------------------------------

    def _prepare_next(self) -> None:
        tid = len(self.parcels) + 1
        if self.parcel_limit is not None and tid > self.parcel_limit:
            self._next = None
            return
        spec = self.factory.spec(tid)
        self._next = Parcel(spec, self.arrivals.next_induct(spec.length_mm))

    @property
    def all_inducted(self) -> bool:
        """True when a parcel limit is set and every parcel was inducted."""
        return self._next is None

    def _push(self, at_mm: float, kind: EventKind, parcel: Parcel) -> None:
        heapq.heappush(self._heap, (at_mm, kind.value, next(self._order), kind, parcel.tracking_id))

    def _induct(self, parcel: Parcel) -> None:
        self.parcels[parcel.tracking_id] = parcel
        self.stats.inducted += 1
        t = self.topology
        d0 = parcel.induct_mm
        self._push(d0 + t.scan_point_mm, EventKind.SCANNED, parcel)
        self._push(d0 + t.request_point_mm, EventKind.REQUESTED, parcel)
        self._push(d0 + t.decision_point_mm, EventKind.DECIDED, parcel)
        self._prepare_next()

    # -- host input -----------------------------------------------------------------

    def record_answer(self, tracking_id: int, chute: int, latency_ms: float | None) -> None:
        """The PLC accepted the controller's answer ``chute`` for this parcel."""
        parcel = self.parcels[tracking_id]
        parcel.answered_chute = chute
        parcel.answer_latency_ms = latency_ms

    def set_host_disabled(self, chutes: frozenset[int]) -> None:
        """Chutes the host asks to disable (its disable-request bits)."""
        self.host_disabled = frozenset(chutes)

    def set_jammed(self, chutes: frozenset[int]) -> None:
        """Chutes jammed now (a scenario's ``chutes:`` entries): disabled by the PLC."""
        self.jammed = frozenset(chutes)

    def disabled_chutes(self) -> frozenset[int]:
        """Chutes disabled now: the host's requests plus any the simulator disabled or jammed."""
        return self.host_disabled | frozenset(self.forced_disabled) | self.jammed

    def full_chutes(self) -> frozenset[int]:
        """Chutes (including the reject chute) that are full now."""
        return frozenset(c.id for c in (*self.chutes.values(), self.reject) if c.full)

    def force_full(self, chute: int, full: bool = True) -> None:
        """Fault injection: hold a chute full (or release it)."""
        state = self.reject if chute == self.reject.id else self.chutes[chute]
        state.forced_full = full

    # -- stepping -------------------------------------------------------------------

    def next_event_mm(self) -> float:
        """The belt distance of the next event or induction (``inf`` when none is left)."""
        ahead = [self._heap[0][0]] if self._heap else []
        if self._next is not None:
            ahead.append(self._next.induct_mm)
        return min(ahead, default=math.inf)

    def next_emptying_s(self) -> float:
        """When the next full chute is emptied (``inf`` when none waits for it)."""
        return min(
            (c.empty_at for c in (*self.chutes.values(), self.reject) if c.empty_at is not None),
            default=math.inf,
        )

    def advance(self, now_s: float, belt_mm: float) -> list[Event]:
        """Move to time ``now_s`` and belt distance ``belt_mm``; return what happened."""
        self.now_s = max(self.now_s, now_s)
        for chute in (*self.chutes.values(), self.reject):
            if chute.empty_at is not None and self.now_s >= chute.empty_at:
                chute.count = 0
                chute.empty_at = None
        events: list[Event] = []
        target = max(self.belt_mm, belt_mm)
        while True:
            nxt_induct = self._next.induct_mm if self._next is not None else None
            nxt_event = self._heap[0][0] if self._heap else None
            if (
                nxt_induct is not None
                and nxt_induct <= target
                and (nxt_event is None or nxt_induct <= nxt_event)
            ):
                parcel = self._next
                assert parcel is not None
                self.belt_mm = nxt_induct
                self._induct(parcel)
                events.append(Event(EventKind.INDUCTED, parcel, nxt_induct))
                continue
            if nxt_event is not None and nxt_event <= target:
                at, _, _, kind, tid = heapq.heappop(self._heap)
                self.belt_mm = at
                events.extend(self._handle(kind, self.parcels[tid], at))
                continue
            break
        self.belt_mm = target
        for event in events:
            for listener in self.listeners:
                listener(event)
        return events

    def _handle(self, kind: EventKind, parcel: Parcel, at: float) -> list[Event]:
        t = self.topology
        if kind is EventKind.SCANNED:
            self._last_scanned = parcel
        elif kind is EventKind.DECIDED:
            self._decide(parcel)
            chute = self.chutes.get(parcel.target_chute) if parcel.target_chute else None
            where = chute.position_mm if chute is not None else t.reject_chute.position_mm
            next_kind = EventKind.AT_CHUTE if chute is not None else EventKind.LANDED
            self._push(parcel.induct_mm + where, next_kind, parcel)
        elif kind is EventKind.AT_CHUTE:
            return self._at_chute(parcel, at)
        elif kind is EventKind.LANDED:
            return [self._land(parcel, self.reject, parcel.pending_result, at)]
        return [Event(kind, parcel, at)]

    def _decide(self, parcel: Parcel) -> None:
        answer = parcel.answered_chute
        if answer is None:
            parcel.pending_result = SortResult.NO_ANSWER
        elif answer == self.reject.id:
            parcel.pending_result = SortResult.REJECT_REQUESTED
        elif answer not in self.chutes:
            parcel.pending_result = SortResult.INVALID_ANSWER
        else:
            parcel.target_chute = answer

    def _at_chute(self, parcel: Parcel, at: float) -> list[Event]:
        assert parcel.target_chute is not None
        chute = self.chutes[parcel.target_chute]
        if chute.full:
            parcel.pending_result = SortResult.CHUTE_FULL
        elif chute.id in self.disabled_chutes():
            parcel.pending_result = SortResult.CHUTE_DISABLED
        else:
            return [self._land(parcel, chute, SortResult.DIVERTED, at)]
        self._push(parcel.induct_mm + self.reject.position_mm, EventKind.LANDED, parcel)
        return []

    def _land(
        self, parcel: Parcel, chute: ChuteState, result: SortResult | None, at: float
    ) -> Event:
        assert result is not None
        parcel.result = result
        parcel.landed_chute = chute.id
        chute.count += 1
        if chute.count >= chute.capacity and chute.empty_at is None:
            chute.empty_at = self.now_s + self.empty_after_s
        self.stats.landed += 1
        self.stats.results[result.name] = self.stats.results.get(result.name, 0) + 1
        return Event(EventKind.LANDED, parcel, at)

    # -- queries --------------------------------------------------------------------

    def parcel_in_scan_field(self) -> Parcel | None:
        """The parcel the reader sees now: the last one past the scan eye, if still in field."""
        parcel = self._last_scanned
        if parcel is None:
            return None
        rear = self.belt_mm - parcel.induct_mm - parcel.spec.length_mm
        if rear < self.topology.scan_point_mm + self.topology.scan_field_mm:
            return parcel
        return None

    def front_position(self, tracking_id: int) -> float:
        """Position (mm from the induct) of a parcel's front now."""
        return self.belt_mm - self.parcels[tracking_id].induct_mm
