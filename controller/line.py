"""The composition root: builds the line from its config and runs it in one TaskGroup.

:class:`LineController` owns the journal, the parcel tracker, the alarm board,
one supervisor per device and the manifest watcher. It hands out frozen
:class:`LineSnapshot` objects for the CLI (and later the API and HMI) and takes
the few commands a supervisor may give: Start, Stop, Reset, chute enable/disable.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from controller.alarms import Alarm, AlarmBoard, Severity
from controller.decision import SortPlan
from controller.errors import CommandRefused, ManifestError
from controller.journal import Journal
from controller.links import Backoff, LinkState
from controller.manifest import Manifest, load_manifest
from controller.packml import check_command
from controller.parcel import ParcelTracker
from controller.plc_link import LineParts, PlcLink
from controller.reader_link import ReaderLink
from controller.supervisor import DeviceSupervisor
from controller.tunnel_link import DimensionerLink, ScaleLink
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
    chute_full: frozenset[int]
    chute_disabled: frozenset[int]
    answer_p50_ms: float | None
    answer_p99_ms: float | None
    manifest_size: int


def percentile(values: list[float], q: float) -> float | None:
    """The ``q``-th percentile (0..100, nearest rank) of ``values``, or None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


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
        self.journal = Journal(data_dir / "journal.sqlite", config.line.name, config_text, clock)
        self.alarms = AlarmBoard(self.journal.append)
        self.tracker = ParcelTracker()
        self.plan = SortPlan(config.sort_plan, config.topology.reject_chute.id)
        self.manifest_path = data_dir / config.manifest.path
        self._manifest = Manifest({}, str(self.manifest_path))
        self._manifest_mtime: float | None = None
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
                lambda: self._manifest,
                self._spawn,
                self.scales,
                self.dimensioners,
            ),
            clock,
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

    async def run(self) -> None:
        """Open the journal, load the manifest, run every device until cancelled."""
        await self.journal.open()
        try:
            await self._reload_manifest()
            async with asyncio.TaskGroup() as group:
                self._group = group
                group.create_task(self.plc.run(), name="plc")
                for device in (*self.readers, *self.scales, *self.dimensioners):
                    group.create_task(device.run(), name=f"device-{device.driver.name}")
                group.create_task(self._watch_manifest(), name="manifest-watch")
                self.started.set()
        finally:
            self._group = None
            await self.journal.close()

    async def _reload_manifest(self) -> None:
        now = self.clock()
        try:
            mtime = self.manifest_path.stat().st_mtime
        except OSError:
            self.alarms.raise_(
                "manifest",
                f"manifest {self.manifest_path} not found: every parcel is no-route",
                now,
                severity=Severity.CRITICAL,
            )
            return
        if mtime == self._manifest_mtime:
            return
        try:
            manifest = await asyncio.to_thread(load_manifest, self.manifest_path)
        except ManifestError as err:
            self.alarms.raise_("manifest", str(err), now, severity=Severity.CRITICAL)
            return
        self._manifest, self._manifest_mtime = manifest, mtime
        self.alarms.clear("manifest", now)
        log.info(
            "manifest %s: %d parcels, %d rows skipped",
            manifest.source,
            len(manifest),
            len(manifest.skipped_rows),
        )
        for row in manifest.skipped_rows[:20]:
            log.warning("manifest row skipped: %s", row)

    async def _watch_manifest(self) -> None:
        while True:
            await asyncio.sleep(2.0)
            await self._reload_manifest()

    # -- commands --------------------------------------------------------------------------

    def command(self, command: PackMLCommand) -> None:
        """Send a PackML command to the PLC, or raise CommandRefused saying why not."""
        if not self.plc.link.up:
            raise CommandRefused(
                f"{self.plc.driver.name} ({self.plc.driver.address}) is not connected"
            )
        status = self.plc.status
        state = status.packml_state if status else PackMLState.UNDEFINED
        why = check_command(command, state)
        if why:
            raise CommandRefused(why)
        self.plc.queue_command(command)

    def set_chute_enabled(self, chute: int, enabled: bool) -> None:
        """Enable or disable a sort chute."""
        if chute not in self.config.topology.chute_ids:
            raise CommandRefused(f"chute {chute} is not a sort chute of this line")
        disabled = set(self.plc.disabled_by_host)
        (disabled.discard if enabled else disabled.add)(chute)
        self.plc.set_disabled(frozenset(disabled))

    # -- snapshot --------------------------------------------------------------------------

    def snapshot(self) -> LineSnapshot:
        """A frozen picture of the line now."""
        status = self.plc.status
        latencies = self.plc.latencies_ms[-5000:]
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
            chute_full=status.chute_full if status else frozenset(),
            chute_disabled=(status.chute_disabled if status else frozenset())
            | self.plc.disabled_by_host,
            answer_p50_ms=percentile(latencies, 50),
            answer_p99_ms=percentile(latencies, 99),
            manifest_size=len(self._manifest),
        )
