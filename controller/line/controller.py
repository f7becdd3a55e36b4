"""The composition root: builds the line from its config and runs it in one TaskGroup.

:class:`LineController` owns the journal, the parcel tracker, the alarm board,
one supervisor per device and the manifest watcher. It hands out frozen
:class:`LineSnapshot` objects for the CLI (and later the API and HMI) and takes
the few commands a supervisor may give: Start, Stop, Reset, chute enable/disable,
alarm acknowledge and shelve.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import time
from collections.abc import Callable, Coroutine, Sequence
from pathlib import Path
from typing import Any, TypeVar

from controller.alarms.board import AlarmBoard
from controller.alarms.history import AlarmHistory
from controller.auth import audit
from controller.auth.audit import AuditLog
from controller.containers.book import ContainerBook
from controller.devices.links import Backoff
from controller.devices.supervisor import DeviceSupervisor
from controller.errors import ConfigError
from controller.journal.images import SCHEMA as IMAGES_SCHEMA
from controller.journal.images import ImageStore
from controller.journal.open_parcels import read_open_records, read_recent_finished
from controller.journal.parcel_queries import ParcelQueries
from controller.journal.writer import Journal
from controller.line.actions import LineActions
from controller.line.loop_lag import LoopLagMonitor
from controller.line.machine_grants import MachineGrants
from controller.line.manifest_feed import ManifestFeed, ManifestRoutes
from controller.line.parts import LineParts
from controller.line.plc_link import PlcLink
from controller.line.reader_link import ReaderLink
from controller.line.site_link import build_site_link
from controller.line.snapshot import LineSnapshot, take_snapshot
from controller.line.tunnel_link import DimensionerLink, ScaleLink
from controller.loading.service import LoadingService
from controller.manifest.jobs import ImportJobs
from controller.manifest.store import ManifestStore
from controller.packml.history import SCHEMA as LINE_STATES_SCHEMA
from controller.packml.history import LineStates
from controller.parcels.decision import SortPlan
from controller.parcels.resume import remember_finished, resume_open
from controller.parcels.state import KEEP_TERMINAL, ParcelTracker
from controller.putwall.service import PutWallService
from controller.reports.shift import SCHEMA as SHIFT_REPORT_SCHEMA
from controller.routeplan import RoutePlanService, RoutePlanStore
from controller.sortplan.history import SortPlanService, SortPlanStore
from controller.sortplan.replanner import LineState, Replanner
from controller.transport.wiring import build_transport
from controller.upstream.delivery import UpstreamDelivery
from drivers.cancelling import start_guarded
from drivers.registry import (
    create_camera,
    create_dimensioner,
    create_plc,
    create_reader,
    create_scale,
)
from plc_configs.schema import LineConfig

log = logging.getLogger(__name__)

S = TypeVar("S", bound=DeviceSupervisor)


def _webhook_secret(config: LineConfig) -> str | None:
    """The webhook signing secret from the environment, or None when not configured."""
    name = config.upstream.secret_env
    if name is None:
        return None
    secret = os.environ.get(name)
    if not secret:
        raise ConfigError(
            f"upstream.secret_env: the environment variable {name} is not set or empty "
            "(it holds the webhook signing secret)"
        )
    return secret


def _freeze_startup_objects() -> None:
    """Put what start-up made (services, the OPC UA address space, the HMI) out of the
    garbage collector's reach before the first parcel, as ``controller.cli.command`` does with
    the modules: a full collection walks every object, and over an OPC UA server's
    address space one took 150-240 ms (measured in the test process)."""
    gc.collect()
    gc.freeze()


class LineController(LineActions):
    """The running line (its operator actions and reports: :class:`LineActions`)."""

    def __init__(
        self,
        config: LineConfig,
        data_dir: Path,
        config_text: str = "",
        clock: Callable[[], float] = time.monotonic,
    ):
        self.config = config
        self.data_dir = data_dir
        self.clock = clock
        self.journal = Journal(
            data_dir / "journal.sqlite",
            config.line.name,
            config_text,
            clock,
            upstream_events=config.upstream.events,
        )
        self.journal.add_schema(audit.SCHEMA)
        self.journal.add_schema(IMAGES_SCHEMA)
        self.journal.add_schema(LINE_STATES_SCHEMA)
        self.journal.add_schema(SHIFT_REPORT_SCHEMA)
        self.line_states = LineStates(self.journal.append, clock)
        self.images = ImageStore(data_dir / "images", config.images, self.journal)
        self.audit = AuditLog(self.journal.append, self.journal.path, clock, self.journal.committed)
        self.alarms = AlarmBoard(self.journal.append)
        self.alarm_history = AlarmHistory(self.journal.path)
        self.tracker = ParcelTracker()
        self.plan = SortPlan(config.sort_plan, config.topology.reject_chute.id)
        self.route_plan = RoutePlanService(
            RoutePlanStore(data_dir / "route-plan.sqlite"),
            [door.id for door in config.topology.doors],
            constraint=lambda plan: self.plan_service.route_plan_problems(plan.trucks_by_route()),
        )
        self.plan_service = SortPlanService(
            self.plan,
            SortPlanStore(data_dir / "sort-plan.sqlite"),
            config.sort_plan,
            config.topology.chute_ids,
            {r.route: f"labels.route_rules.{i}" for i, r in enumerate(config.labels.route_rules)},
            trucks=lambda: self.route_plan.active.trucks_by_route(),
        )
        self.replanner = Replanner(
            config.replanning,
            self.plan_service,
            self._replan_state,
            self._route_volumes,
            self.alarms,
            clock=clock,
        )
        self.route_plan.add_listener(self.replanner.route_plan_changed)
        self.manifest_path = data_dir / config.manifest.path
        self.manifest = ManifestStore(data_dir / "manifest.sqlite")
        self.imports = ImportJobs(self.manifest)
        self.manifest_feed = ManifestFeed(
            self.manifest_path, self.manifest, self.imports, self.alarms, clock, self._spawn
        )
        self.parcels = ParcelQueries(self.journal.path)
        self.upstream = UpstreamDelivery(
            config.upstream, self.journal.path, self.alarms, clock, _webhook_secret(config)
        )
        self.site = build_site_link(config, self.journal, self.alarms, clock)
        """The journal relay to the site store and the site's MQTT events (``site:``)."""
        self.api_url: str | None = None
        self.readers = [
            self._supervise(ReaderLink, create_reader(name, device), device)
            for name, device in config.readers.items()
        ] + [
            self._supervise(ReaderLink, create_camera(name, device), device)
            for name, device in config.cameras.items()
        ]
        self.scales = [
            self._supervise(ScaleLink, create_scale(name, device), device)
            for name, device in config.scales.items()
        ]
        self.dimensioners = [
            self._supervise(DimensionerLink, create_dimensioner(name, device), device)
            for name, device in config.dimensioners.items()
        ]
        self._group: asyncio.TaskGroup | None = None
        self.plc = PlcLink(
            create_plc(config, data_dir),
            self.alarms,
            LineParts(
                config,
                self.tracker,
                self.journal,
                self.plan,
                self.readers,
                ManifestRoutes(self.manifest, self.alarms, clock),
                self._spawn,
                self.scales,
                self.dimensioners,
                images=self.images,
                line_states=self.line_states,
            ),
            clock,
        )
        self.containers = ContainerBook(
            self.journal,
            (*config.topology.chute_ids, config.topology.reject_chute.id),
            self.tracker,
            self.plc.chute_fill,
            self.plan,
        )
        self.putwall = PutWallService(
            config, self.journal, self.alarms, self.audit, self.manifest, self.route_plan, clock
        )
        """The put walls (none configured: an idle service)."""
        self.loading = LoadingService(
            config, self.journal, self.alarms, self.audit, self.route_plan, self.putwall, clock
        )
        """Loading at the dock doors, last stop first."""
        parts = build_transport(
            config,
            self.journal,
            self.alarms,
            self.audit,
            self.putwall,
            self.loading,
            self.route_plan,
            clock,
        )
        self.fleet = parts.fleet
        """The AMR fleet over VDA 5050 (None without ``fleet.enabled``)."""
        self.buffer = parts.buffer
        """The AS/RS buffer (None without ``buffer.asrs``)."""
        self.transport = parts.transport
        """Closed containers to their trucks (None without a fleet)."""
        self.loop_lag = LoopLagMonitor()
        """The event loop's lag, sampled all the time (stalls are logged); the PLC link's
        pauses between reads are its samples while they are short."""
        self.plc.sleep = self.loop_lag.sleep
        self.started = asyncio.Event()

    def _supervise(self, cls: type[S], driver: Any, device: Any) -> S:
        """One supervisor of class ``cls`` for ``driver``, with the device's backoff."""
        backoff = Backoff.for_device(device)
        return cls(driver, self.alarms, backoff, self.clock)

    def _spawn(self, coro) -> asyncio.Task[None]:
        assert self._group is not None, "the line is not running"
        return self._group.create_task(coro)

    # -- running ---------------------------------------------------------------------------

    async def run(
        self,
        services: Sequence[Callable[[], Coroutine[Any, Any, None]]] = (),
        ready: Sequence[asyncio.Event] = (),
    ) -> None:
        """Open the stores, load the manifest file, run every device until cancelled.

        ``services`` (the API server, say) run in the same TaskGroup. They start first;
        the PLC link and the devices start once every ``ready`` event is set (at most
        30 s later), so a service's start-up work never delays a parcel's answer.
        """
        await self.journal.open()
        self.line_states.started(self.clock())
        grants = MachineGrants(self.config.line)
        try:
            await self._resume_open_parcels()
            await asyncio.to_thread(self.manifest.open)
            if failed := await asyncio.to_thread(self.manifest.fail_interrupted_jobs):
                log.warning("%d manifest imports were interrupted by a stop; upload again", failed)
            log.info("%s", await self.plan_service.load())
            log.info("%s", await self.route_plan.load())
            await self.containers.restore()
            await self.putwall.restore()
            await self.loading.restore()
            if self.transport is not None:
                await self.transport.restore()
            await self.manifest_feed.load(startup=True)
            await self.replanner.restored(self.route_plan.active.version)
            async with asyncio.TaskGroup() as group:
                self._group = group

                def part(coro: Coroutine[Any, Any, None], name: str) -> None:
                    start_guarded(group, coro, name)  # a swallowed stop is cancelled again

                for make in services:
                    part(make(), getattr(make, "__name__", "service"))
                if ready:
                    waits = asyncio.gather(*(event.wait() for event in ready))
                    try:
                        async with asyncio.timeout(30):
                            await waits
                    except TimeoutError:
                        log.warning("a service did not report ready within 30 s; starting anyway")
                _freeze_startup_objects()
                for key, text in grants.claim():  # refused: the supervisor sees it too
                    self.alarms.raise_(f"line:{key}", text, self.clock())
                self.plc.loop_priority = grants.loop_priority
                part(self.loop_lag.run(), "loop-lag")
                part(self.plc.run(), "plc")
                for device in (*self.readers, *self.scales, *self.dimensioners):
                    part(device.run(), f"device-{device.driver.name}")
                part(self.manifest_feed.watch(), "manifest-watch")
                part(self.upstream.run(), "upstream")
                if self.site.relay is not None:
                    part(self.site.relay.run(), "site-relay")
                if self.site.events is not None:
                    part(self.site.events.run(), "site-events")
                part(self.replanner.run(), "replanner")
                if self.config.putwall.walls or self.config.loading.stations:
                    part(self.putwall.run(), "putwall")
                    part(self.loading.run(), "loading")
                for name, service in (
                    ("fleet", self.fleet),
                    ("buffer", self.buffer),
                    ("transport", self.transport),
                ):
                    if service is not None:
                        part(service.run(), name)
                part(self.line_states.run(), "line-states")
                part(self.alarms.run_shelf_timer(self.clock), "alarm-shelves")
                self.started.set()
        finally:
            self._group = None
            self.plc.loop_priority = None
            grants.release()
            try:
                await self.imports.close()
                await asyncio.to_thread(self.manifest.close)
            finally:
                self.line_states.stopped(self.clock())
                await self.journal.close()

    async def _resume_open_parcels(self) -> None:
        """Take back the parcels an earlier run left on the belt (see :mod:`controller.parcels`)."""
        path, session = self.journal.path, self.journal.session
        resume_s = self.config.decision.resume_open_s
        finished = await asyncio.to_thread(
            read_recent_finished, path, session, time.time() - resume_s, KEEP_TERMINAL
        )
        remember_finished(self.tracker, finished)
        records = await asyncio.to_thread(read_open_records, path, session)
        if not records:
            return
        events = resume_open(
            self.tracker,
            records,
            self.clock(),
            time.time(),
            resume_s,
            measures=bool(self.scales or self.dimensioners),
        )
        self.journal.extend(events)
        closed = sum(1 for e in events if e.terminal)
        log.warning(
            "%d parcel(s) left open by an earlier run: %d resumed (their confirmation closes "
            "them), %d closed as lost",
            len(records),
            len(records) - closed,
            closed,
        )

    def _replan_state(self) -> LineState:
        """What the replanner reads of the line now: chutes, doors, the route plan, the
        chutes out of service or full, the parcels answered per route."""
        status = self.plc.status
        topology = self.config.topology
        route_plan = self.route_plan.active
        return LineState(
            tuple((c.id, c.position_mm) for c in topology.chutes),
            tuple((d.id, d.position_mm) for d in topology.doors),
            {t.id: t.door for t in route_plan.trucks},
            route_plan.trucks_by_route(),
            route_plan.version,
            (status.chute_disabled if status else frozenset()) | self.plc.disabled_by_host,
            status.chute_full if status else frozenset(),
            dict(self.tracker.per_route),
        )

    async def _route_volumes(self) -> dict[str, int]:
        """Parcels still to come per route, the volume the optimiser plans with: the
        manifest's parcels less those answered since the controller started (a repair
        late in the wave plans for what is left, not for what already went by)."""
        advised = await asyncio.to_thread(self.manifest.routes)
        arrived = self.tracker.per_route
        return {route: max(0, n - arrived.get(route, 0)) for route, n in advised.items()}

    def _outbox_committed(self) -> None:
        """Called by the journal's writer thread after it committed outbox rows."""
        self.upstream.notify_threadsafe()

    @property
    def manifest_ready(self) -> bool:
        """True once the manifest file (if any) was loaded at start-up."""
        return self.manifest_feed.ready

    def snapshot(self) -> LineSnapshot:
        """A frozen picture of the line now (ended alarm shelves expire first)."""
        return take_snapshot(self)
