"""The manifest as the running line sees it: the decision's lookup and the manifest file.

:class:`ManifestRoutes` is what the decision reads (a failing database is an alarm, not
a crash); :class:`ManifestFeed` imports the data dir's manifest file at start-up and
whenever it changes (the TMS may also upload through the API, :mod:`controller.api`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from controller.alarms.board import AlarmBoard, Severity
from controller.errors import ManifestError
from controller.manifest.import_job import ImportJob
from controller.manifest.importer import new_job_id, run_import
from controller.manifest.jobs import ImportJobs
from controller.manifest.store import ManifestStore

log = logging.getLogger(__name__)


class ManifestRoutes:
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


class ManifestFeed:
    """The manifest file in the data dir (``manifest.path``), imported when it appears or
    changes, with an alarm while the manifest is empty or an import failed."""

    def __init__(
        self,
        path: Path,
        store: ManifestStore,
        imports: ImportJobs,
        alarms: AlarmBoard,
        clock: Callable[[], float],
        spawn: Callable[[Coroutine[Any, Any, None]], object],
    ):
        self.path = path
        self.store = store
        self.imports = imports
        self.alarms = alarms
        self.clock = clock
        self.spawn = spawn
        self.ready = False
        """True once the manifest file (if any) was loaded at start-up."""
        self._mtime: float | None = None

    async def load(self, startup: bool = False) -> None:
        """Import ``manifest.path`` (upsert, good rows) when it appeared or changed.

        At start-up, before the PLC link runs, the import runs in a thread of this
        process (no process start-up to wait for); later changes run as import jobs
        in their own process, so the event loop keeps its GIL.
        """
        now = self.clock()
        try:
            mtime = (await asyncio.to_thread(self.path.stat)).st_mtime
        except OSError:
            mtime = None
        if mtime is not None and mtime != self._mtime:
            self._mtime = mtime
            if startup:
                job = await asyncio.to_thread(
                    run_import,
                    self.store.path,
                    self.path,
                    "csv",
                    job_id=new_job_id(),
                    partial=True,
                    actor="file",
                    emit=lambda _message: None,
                )
                await asyncio.to_thread(self.store.count)
                self._log(job)
            else:
                try:
                    job = await self.imports.start(
                        self.path, "csv", partial=True, actor="file", delete_input=False
                    )
                except ManifestError as err:
                    self.alarms.raise_("manifest", str(err), now, severity=Severity.CRITICAL)
                    return
                log.info("manifest %s changed: importing (job %s)", self.path, job.id)
                self.spawn(self._report(job.id))
        if len(self.store) == 0:
            self.alarms.raise_(
                "manifest",
                f"the manifest is empty: every parcel is no-route (POST /api/v1/manifest or "
                f"put {self.path})",
                now,
                severity=Severity.CRITICAL,
            )
        elif self.alarms.is_active("manifest") and self.ready:
            self.alarms.clear("manifest", now)
        self.ready = True

    async def _report(self, job_id: str) -> None:
        job = await self.imports.wait(job_id)
        if job is not None:
            self._log(job)

    def _log(self, job: ImportJob) -> None:
        if job.error:
            self.alarms.raise_(
                "manifest", f"{self.path}: {job.error}", self.clock(), Severity.CRITICAL
            )
            return
        log.info(
            "manifest %s: %d rows loaded, %d bad, %d parcels in the manifest",
            self.path,
            job.rows_loaded,
            job.rows_bad,
            len(self.store),
        )
        for bad in job.bad_rows[:20]:
            log.warning("manifest row skipped: %s", bad)

    async def watch(self) -> None:
        """Look for a new or changed manifest file every 2 s, until cancelled."""
        while True:
            await asyncio.sleep(2.0)
            await self.load()
