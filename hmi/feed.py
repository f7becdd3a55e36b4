"""The HMI's one view of the line: a compact frozen state, refreshed a few times a second.

Every open page reads :attr:`LineFeed.state`; none of them asks the controller
itself. One task samples :meth:`LineController.snapshot` every
``interval_s`` (0.5 s: twice a second, whatever the number of screens open), adds
what the screens derive from it (throughput now, chute states, parcel positions
on the belt) and, every ``series_every_s``, the last hour's throughput from the
journal (SQL in a thread). So the cost to the control loop is one snapshot per
tick, not one per screen.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from controller.alarms import Alarm
from controller.line import (
    ChuteState,
    LineController,
    LineSnapshot,
    ThroughputMeter,
    chute_fill,
    chute_routes,
    chute_state,
    terminal_count,
)

log = logging.getLogger("lanesort.hmi")


@dataclass(frozen=True, slots=True)
class ChuteView:
    """One chute as the screens show it."""

    id: int
    position_mm: int
    capacity: int
    reject: bool
    routes: tuple[str, ...]
    state: ChuteState
    container_count: int
    session_count: int
    fill: float
    """0..1: the container's parcels over the chute's capacity (an estimate)."""
    disabled_by_host: bool
    truck: str | None = None
    """The truck its routes go on (the TMS's route plan), or None."""
    truck_index: int | None = None
    """That truck's place in the route plan (its colour on the screens)."""


@dataclass(frozen=True, slots=True)
class ParcelDot:
    """A parcel on the belt, where it is now (estimated from its scan time and belt speed)."""

    tracking_id: int
    position_mm: float
    barcode: str | None
    chute: int | None
    state: str


@dataclass(frozen=True)
class FeedState:
    """Everything the pages draw, at one moment."""

    snapshot: LineSnapshot
    taken: float
    throughput_pph: float
    chutes: tuple[ChuteView, ...]
    parcels: tuple[ParcelDot, ...]
    series: tuple[tuple[float, int], ...] = ()
    unacked_critical: tuple[Alarm, ...] = ()
    belt_length_mm: float = 0.0
    terminal_total: int = 0


class LineFeed:
    """Samples the line for the HMI; start it once per process with :meth:`run`."""

    def __init__(
        self,
        line: LineController,
        interval_s: float = 0.5,
        series_every_s: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.line = line
        self.interval_s = interval_s
        self.series_every_s = series_every_s
        self.clock = clock
        self._throughput = ThroughputMeter(interval_s)
        self._series: tuple[tuple[float, int], ...] = ()
        self._series_at = -1e9
        self._series_task: asyncio.Task | None = None
        self.ticks = 0
        topo = line.config.topology
        self._chute_at = {c.id: c.position_mm for c in (*topo.chutes, topo.reject_chute)}
        self.state = self.sample()

    # -- sampling --------------------------------------------------------------------------

    def sample(self) -> FeedState:
        """Build the state now (cheap: one snapshot, a pass over chutes and parcels)."""
        line = self.line
        now = self.clock()
        snap = line.snapshot()
        terminal = terminal_count(snap)
        return FeedState(
            snapshot=snap,
            taken=now,
            throughput_pph=self._throughput.add(now, terminal),
            chutes=self._chutes(snap),
            parcels=self._parcels(now),
            series=self._series,
            unacked_critical=tuple(line.alarms.unacknowledged_critical()),
            belt_length_mm=self._belt_length(),
            terminal_total=terminal,
        )

    def _belt_length(self) -> float:
        topo = self.line.config.topology
        last = max(c.position_mm for c in (*topo.chutes, topo.reject_chute))
        return float(last + 1000)

    def _chutes(self, snap: LineSnapshot) -> tuple[ChuteView, ...]:
        line = self.line
        topo = line.config.topology
        routes = chute_routes(line.plan)
        by_host = line.plc.disabled_by_host
        containers = snap.containers
        route_plan = line.route_plan.active
        truck_index = {t.id: i for i, t in enumerate(route_plan.trucks)}
        views = []
        for chute in (*topo.chutes, topo.reject_chute):
            cid = chute.id
            state = chute_state(cid, snap, by_host)
            container = containers.get(cid)
            count = container.count if container is not None else snap.per_chute.get(cid, 0)
            trucks = (route_plan.truck_of(r) for r in routes.get(cid, ()))
            truck = next((t for t in trucks if t is not None), None)
            views.append(
                ChuteView(
                    id=cid,
                    position_mm=chute.position_mm,
                    capacity=chute.capacity,
                    reject=cid == topo.reject_chute.id,
                    routes=tuple(routes.get(cid, ())),
                    state=state,
                    container_count=count,
                    session_count=snap.per_chute.get(cid, 0),
                    fill=chute_fill(chute, snap),
                    disabled_by_host=cid in by_host,
                    truck=truck,
                    truck_index=truck_index.get(truck) if truck is not None else None,
                )
            )
        return tuple(views)

    def _parcels(self, now: float) -> tuple[ParcelDot, ...]:
        line = self.line
        topo = line.config.topology
        speed_mm_s = topo.belt_speed_mps * 1000
        dots = []
        for parcel in line.tracker.active()[:200]:
            target = parcel.decision.chute if parcel.decision is not None else None
            position = topo.scan_point_mm + (now - parcel.inducted_at) * speed_mm_s
            if target is not None and target in self._chute_at:
                position = min(position, self._chute_at[target])
            dots.append(
                ParcelDot(
                    parcel.tracking_id,
                    round(position, 1),
                    parcel.barcode,
                    target,
                    parcel.state.value,
                )
            )
        return tuple(dots)

    def refresh_now(self) -> None:
        """Take a new sample at once (after an operator's action, so the screen shows it)."""
        self.state = self.sample()

    # -- running ---------------------------------------------------------------------------

    async def run(self) -> None:
        """Refresh :attr:`state` every ``interval_s`` until cancelled."""
        try:
            while True:
                await asyncio.sleep(self.interval_s)
                try:
                    self.state = self.sample()
                    self.ticks += 1
                    self._refresh_series()
                except Exception:  # a screen must never take the line down
                    log.exception("HMI feed: sampling the line failed")
        finally:
            if self._series_task is not None:
                self._series_task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await self._series_task

    def _refresh_series(self) -> None:
        now = self.clock()
        busy = self._series_task is not None and not self._series_task.done()
        if busy or now - self._series_at < self.series_every_s:
            return
        self._series_at = now
        self._series_task = asyncio.create_task(self._load_series(), name="hmi-series")

    async def _load_series(self) -> None:
        try:
            self._series = tuple(await self.line.throughput_series(60, 60))
        except Exception as err:  # the journal may be busy or gone: keep the last one
            log.warning("HMI feed: throughput of the last hour unavailable: %s", err)
