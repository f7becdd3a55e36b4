"""The composition root: builds the line from its config and runs it in one TaskGroup.

:class:`LineController` owns the journal, the parcel tracker, the alarm board,
one supervisor per device and the manifest watcher. It hands out frozen
:class:`LineSnapshot` objects for the CLI (and later the API and HMI) and takes
the few commands a supervisor may give: Start, Stop, Reset, chute enable/disable,
alarm acknowledge and shelve.
"""

from __future__ import annotations

import asyncio
import logging
import math
import os
import time
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from controller import audit
from controller.alarm_history import AlarmHistory
from controller.alarms import Alarm, AlarmBoard, Severity
from controller.audit import CONSOLE, Actor, AuditLog
from controller.containers import ContainerBook, ContainerInfo
from controller.decision import SortPlan
from controller.errors import CommandRefused, ConfigError, ManifestError, ReportError
from controller.images import SCHEMA as IMAGES_SCHEMA
from controller.images import ImageStore
from controller.journal import Journal
from controller.line_states import SCHEMA as LINE_STATES_SCHEMA
from controller.line_states import LineStates
from controller.links import Backoff, LinkState
from controller.manifest_import import new_job_id, run_import
from controller.manifest_jobs import ImportJobs
from controller.manifest_store import ImportJob, ManifestStore
from controller.packml import check_command
from controller.parcel import ParcelTracker
from controller.parcel_queries import ParcelQueries
from controller.plc_link import LineParts, PlcLink
from controller.reader_link import ReaderLink
from controller.shift_report import SCHEMA as SHIFT_REPORT_SCHEMA
from controller.shift_report import ShiftReport, shift_report, throughput_series
from controller.sort_plan import SortPlanService, SortPlanStore
from controller.supervisor import DeviceSupervisor
from controller.tunnel_link import DimensionerLink, ScaleLink
from controller.upstream.delivery import UpstreamDelivery
from drivers.registry import (
    create_camera,
    create_dimensioner,
    create_plc,
    create_reader,
    create_scale,
)
from plc_configs.contract import PackMLCommand, PackMLState
from plc_configs.schema import LineConfig

log = logging.getLogger(__name__)

S = TypeVar("S", bound=DeviceSupervisor)


@dataclass(frozen=True)
class LineSnapshot:
    """Everything a screen shows about the line, at one moment."""

    line: str
    packml_state: PackMLState | None
    conveyor_running: bool
    heartbeat_ok: bool
    links: tuple[LinkState, ...]
    counts: dict[str, int]
    reasons: dict[str, int]
    on_belt: int
    alarms: tuple[Alarm, ...]
    """The displayed alarms (active and returned-unacknowledged, not shelved), oldest first."""
    shelved: tuple[Alarm, ...]
    chute_full: frozenset[int]
    chute_disabled: frozenset[int]
    answer_p50_ms: float | None
    answer_p99_ms: float | None
    manifest_size: int
    per_chute: dict[int, int]
    chute_fill: dict[int, int]
    containers: dict[int, ContainerInfo]
    """The container filling in each chute (the reject chute's too)."""
    plan_version: int


def percentile(values: list[float], q: float, *, ordered: bool = False) -> float | None:
    """The ``q``-th percentile (0..100, nearest rank) of ``values``, or None when empty.

    ``ordered``: ``values`` is sorted already (several percentiles of one sort).
    """
    if not values:
        return None
    ranked = values if ordered else sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ranked)))
    return ranked[rank - 1]


class _ManifestRoutes:
    """The manifest as the decision sees it: a failing database is an alarm, not a crash."""

    def __init__(self, store: ManifestStore, alarms: AlarmBoard, clock: Callable[[], float]):
        self.store = store
        self.alarms = alarms
        self.clock = clock

    def get(self, barcode: str, default: str | None = None) -> str | None:
        """The route of ``barcode``; ``default`` when unknown or the lookup failed."""
        try:
            route = self.store.route_of(barcode)
        except ManifestError as err:
            self.alarms.raise_("manifest-db", str(err), self.clock(), severity=Severity.CRITICAL)
            return default
        return default if route is None else route


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


class LineController:
    """The running line."""

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
        self.audit = AuditLog(self.journal.append, self.journal.path, clock)
        self.alarms = AlarmBoard(self.journal.append)
        self.alarm_history = AlarmHistory(self.journal.path)
        self.tracker = ParcelTracker()
        self.plan = SortPlan(config.sort_plan, config.topology.reject_chute.id)
        self.plan_service = SortPlanService(
            self.plan,
            SortPlanStore(data_dir / "sort-plan.sqlite"),
            config.sort_plan,
            config.topology.chute_ids,
            {r.route: f"labels.route_rules.{i}" for i, r in enumerate(config.labels.route_rules)},
        )
        self.manifest_path = data_dir / config.manifest.path
        self.manifest = ManifestStore(data_dir / "manifest.sqlite")
        self.imports = ImportJobs(self.manifest)
        self.manifest_ready = False
        self._manifest_mtime: float | None = None
        self.parcels = ParcelQueries(self.journal.path)
        self.upstream = UpstreamDelivery(
            config.upstream, self.journal.path, self.alarms, clock, _webhook_secret(config)
        )
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
            create_plc(config.plc_name, config.plc, config.register_map),
            self.alarms,
            LineParts(
                config,
                self.tracker,
                self.journal,
                self.plan,
                self.readers,
                _ManifestRoutes(self.manifest, self.alarms, clock),
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
        self.started = asyncio.Event()

    def _supervise(self, cls: type[S], driver: Any, device: Any) -> S:
        """One supervisor of class ``cls`` for ``driver``, with the device's backoff."""
        backoff = Backoff(device.reconnect_min_ms / 1000, device.reconnect_max_ms / 1000)
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
        try:
            await asyncio.to_thread(self.manifest.open)
            if failed := await asyncio.to_thread(self.manifest.fail_interrupted_jobs):
                log.warning("%d manifest imports were interrupted by a stop; upload again", failed)
            log.info("%s", await self.plan_service.load())
            await self.containers.restore()
            await self._import_manifest_file(startup=True)
            async with asyncio.TaskGroup() as group:
                self._group = group
                for make in services:
                    group.create_task(make())
                if ready:
                    waits = asyncio.gather(*(event.wait() for event in ready))
                    try:
                        await asyncio.wait_for(waits, 30)
                    except TimeoutError:
                        log.warning("a service did not report ready within 30 s; starting anyway")
                group.create_task(self.plc.run(), name="plc")
                for device in (*self.readers, *self.scales, *self.dimensioners):
                    group.create_task(device.run(), name=f"device-{device.driver.name}")
                group.create_task(self._watch_manifest(), name="manifest-watch")
                group.create_task(self.upstream.run(), name="upstream")
                group.create_task(self.line_states.run(), name="line-states")
                group.create_task(self.alarms.run_shelf_timer(self.clock), name="alarm-shelves")
                self.started.set()
        finally:
            self._group = None
            try:
                await self.imports.close()
                await asyncio.to_thread(self.manifest.close)
            finally:
                self.line_states.stopped(self.clock())
                await self.journal.close()

    def _outbox_committed(self) -> None:
        """Called by the journal's writer thread after it committed outbox rows."""
        self.upstream.notify_threadsafe()

    async def _import_manifest_file(self, startup: bool = False) -> None:
        """Import ``manifest.path`` (upsert, good rows) when it appeared or changed.

        At start-up, before the PLC link runs, the import runs in a thread of this
        process (no process start-up to wait for); later changes run as import jobs
        in their own process, so the event loop keeps its GIL.
        """
        now = self.clock()
        try:
            mtime = (await asyncio.to_thread(self.manifest_path.stat)).st_mtime
        except OSError:
            mtime = None
        if mtime is not None and mtime != self._manifest_mtime:
            self._manifest_mtime = mtime
            if startup:
                job = await asyncio.to_thread(
                    run_import,
                    self.manifest.path,
                    self.manifest_path,
                    "csv",
                    job_id=new_job_id(),
                    partial=True,
                    actor="file",
                    emit=lambda _message: None,
                )
                await asyncio.to_thread(self.manifest.count)
                self._log_import(job)
            else:
                try:
                    job = await self.imports.start(
                        self.manifest_path, "csv", partial=True, actor="file", delete_input=False
                    )
                except ManifestError as err:
                    self.alarms.raise_("manifest", str(err), now, severity=Severity.CRITICAL)
                    return
                log.info("manifest %s changed: importing (job %s)", self.manifest_path, job.id)
                self._spawn(self._report_import(job.id))
        if len(self.manifest) == 0:
            self.alarms.raise_(
                "manifest",
                f"the manifest is empty: every parcel is no-route (POST /api/v1/manifest or "
                f"put {self.manifest_path})",
                now,
                severity=Severity.CRITICAL,
            )
        elif self.alarms.is_active("manifest") and self.manifest_ready:
            self.alarms.clear("manifest", now)
        self.manifest_ready = True

    async def _report_import(self, job_id: str) -> None:
        job = await self.imports.wait(job_id)
        if job is not None:
            self._log_import(job)

    def _log_import(self, job: ImportJob) -> None:
        if job.error:
            self.alarms.raise_(
                "manifest", f"{self.manifest_path}: {job.error}", self.clock(), Severity.CRITICAL
            )
            return
        log.info(
            "manifest %s: %d rows loaded, %d bad, %d parcels in the manifest",
            self.manifest_path,
            job.rows_loaded,
            job.rows_bad,
            len(self.manifest),
        )
        for bad in job.bad_rows[:20]:
            log.warning("manifest row skipped: %s", bad)

    async def _watch_manifest(self) -> None:
        while True:
            await asyncio.sleep(2.0)
            await self._import_manifest_file()

    # -- commands --------------------------------------------------------------------------

    def command(self, command: PackMLCommand, actor: Actor = CONSOLE) -> None:
        """Send a PackML command to the PLC, or raise CommandRefused saying why not.

        Both outcomes are written to the audit log under ``actor``.
        """
        if not self.plc.link.up:
            why: str | None = f"{self.plc.driver.name} ({self.plc.driver.address}) is not connected"
        else:
            status = self.plc.status
            why = check_command(command, status.packml_state if status else PackMLState.UNDEFINED)
        self.audit.record(actor, f"line.{command.name.lower()}", "line", why, ok=why is None)
        if why:
            raise CommandRefused(why)
        self.plc.queue_command(command)
        self.line_states.on_command(command.name.lower(), actor.name, self.clock())

    def set_chute_enabled(self, chute: int, enabled: bool, actor: Actor = CONSOLE) -> None:
        """Enable or disable a sort chute (audited under ``actor``)."""
        if chute not in self.config.topology.chute_ids:
            raise CommandRefused(f"chute {chute} is not a sort chute of this line")
        disabled = set(self.plc.disabled_by_host)
        (disabled.discard if enabled else disabled.add)(chute)
        self.plc.set_disabled(frozenset(disabled))
        self.audit.record(actor, "chute.enable" if enabled else "chute.disable", f"chute {chute}")

    def acknowledge_alarm(self, key: str, actor: Actor = CONSOLE) -> None:
        """Acknowledge alarm ``key`` (ISA-18.2); audited as ``alarm.ack``, refusals too."""
        self._alarm_action(
            actor, "alarm.ack", key, None, lambda now: self.alarms.acknowledge(key, actor.name, now)
        )

    def shelve_alarm(
        self, key: str, minutes: float, reason: str | None = None, actor: Actor = CONSOLE
    ) -> None:
        """Hide alarm ``key`` from the active list for ``minutes`` (at most 8 h); audited."""
        self._alarm_action(
            actor,
            "alarm.shelve",
            key,
            f"{minutes:g} min" + (f": {reason}" if reason else ""),
            lambda now: self.alarms.shelve(key, actor.name, now + minutes * 60, now, reason),
        )

    def unshelve_alarm(self, key: str, actor: Actor = CONSOLE) -> None:
        """Show a shelved alarm again; audited as ``alarm.unshelve``."""
        self._alarm_action(
            actor, "alarm.unshelve", key, None, lambda t: self.alarms.unshelve(key, actor.name, t)
        )

    def _alarm_action(
        self,
        actor: Actor,
        action: str,
        key: str,
        detail: str | None,
        change: Callable[[float], None],
    ) -> None:
        """Run ``change`` on the board at the clock's now and audit it; re-raise a refusal."""
        try:
            change(self.clock())
        except CommandRefused as err:
            self.audit.record(actor, action, key, str(err), ok=False)
            raise
        self.audit.record(actor, action, key, detail)

    def image_file(self, relative: str) -> Path:
        """The file of a parcel image's relative path (``images[].path`` of a parcel lookup).

        Raises CommandRefused for a path that leads outside ``<data_dir>/images`` (``..``,
        absolute, a symlink out). Blocking (resolves symlinks): call it in a thread.
        """
        return self.images.resolve(relative)

    def close_container(
        self, chute: int, actor: Actor = CONSOLE, reason: str | None = None
    ) -> ContainerInfo:
        """Close out ``chute``'s container (full, or its route is done): the closed one.

        The chute's count and fill estimate start again; the record and its
        ``container.closed`` event are journaled. Audited as ``chute.close-out``;
        CommandRefused (audited too) for a chute this line does not have.
        """
        try:
            info = self.containers.close(chute, actor, reason)
        except CommandRefused as err:
            self.audit.record(actor, "chute.close-out", f"chute {chute}", str(err), ok=False)
            raise
        detail = f"container {info.id}: {info.count} parcels" + (f"; {reason}" if reason else "")
        self.audit.record(actor, "chute.close-out", f"chute {chute}", detail)
        return info

    async def container_history(self, chute: int | None = None, limit: int = 50) -> list[dict]:
        """Closed-out containers, newest first (of ``chute``, or of every chute).

        Each: ``id, session, chute, route, opened, closed, parcels, closed_by, reason``
        (times in wall-clock epoch seconds). JournalError when the journal cannot be read.
        """
        return await self.containers.history(chute, limit)

    # -- reports ---------------------------------------------------------------------------

    async def shift_report(self, since: float, until: float) -> ShiftReport:
        """The KPIs of ``[since, until)`` (wall-clock epoch s; see :mod:`controller.shift_report`).

        ReportError for since >= until or a span over 31 days; JournalError when unreadable.
        """
        return await shift_report(self.journal.path, since, until)

    async def throughput_series(
        self, minutes: int = 60, bucket_s: int = 60
    ) -> list[tuple[float, int]]:
        """Terminal parcels per ``bucket_s`` bucket over the last ``minutes`` (wall clock).

        Buckets are aligned to multiples of ``bucket_s``; the last one holds now and is
        still filling. Each item is (bucket start epoch s, parcels).
        """
        if bucket_s <= 0:
            raise ReportError("bucket_s", "bucket_s must be positive")
        until = (time.time() // bucket_s + 1) * bucket_s
        since = until - math.ceil(minutes * 60 / bucket_s) * bucket_s
        return await throughput_series(self.journal.path, since, until, bucket_s)

    # -- snapshot --------------------------------------------------------------------------

    def snapshot(self) -> LineSnapshot:
        """A frozen picture of the line now (ended alarm shelves expire first)."""
        self.alarms.expire_shelves(self.clock())
        status = self.plc.status
        latencies = sorted(self.plc.latencies_ms[-5000:])
        return LineSnapshot(
            line=self.config.line.name,
            packml_state=status.packml_state if status else None,
            conveyor_running=bool(status and status.conveyor_running),
            heartbeat_ok=self.plc.heartbeat_ok,
            links=(
                self.plc.link,
                *(d.link for d in (*self.readers, *self.scales, *self.dimensioners)),
            ),
            counts=dict(self.tracker.counts),
            reasons=dict(self.tracker.reasons),
            on_belt=len(self.tracker),
            alarms=tuple(self.alarms.active()),
            shelved=tuple(self.alarms.shelved()),
            chute_full=status.chute_full if status else frozenset(),
            chute_disabled=(status.chute_disabled if status else frozenset())
            | self.plc.disabled_by_host,
            answer_p50_ms=percentile(latencies, 50, ordered=True),
            answer_p99_ms=percentile(latencies, 99, ordered=True),
            manifest_size=len(self.manifest),
            per_chute=dict(self.tracker.per_chute),
            chute_fill=self.plc.chute_fill.counts(),
            containers=self.containers.infos(),
            plan_version=self.plan.version,
        )
