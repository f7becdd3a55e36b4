"""The manifest import job manager: one import process at a time, with live status.

The controller's side of :mod:`controller.manifest.importer`: it starts
``python -m controller.manifest.importer`` for each upload (FIFO, one at a time, so
two imports never fight over the write lock), reads the progress lines, keeps a
frozen :class:`~controller.manifest.store.ImportJob` snapshot per job, and cancels,
reaps and cleans up.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import os
import sys
import time
from collections import deque
from pathlib import Path
from typing import Any

from controller.errors import ManifestError
from controller.manifest.import_job import MAX_BAD_ROWS, ImportJob, JobState
from controller.manifest.importer import PACKAGE_ROOT, new_job_id
from controller.manifest.rows import FORMATS, BadRow
from controller.manifest.store import ManifestStore

log = logging.getLogger(__name__)


class ImportJobs:
    """Runs manifest imports as subprocesses, one at a time (FIFO), and keeps their status.

    From a successful :meth:`start` on, the manager owns the input (spool) file
    and deletes it when the job ends, whatever the outcome. When a job ends its
    ``import_jobs`` row is written and the store's cached count refreshed.
    """

    def __init__(
        self,
        store: ManifestStore,
        *,
        batch: int = 20_000,
        grace_s: float = 10.0,
        keep: int = 100,
        nice: int = 10,
    ):
        self.store, self.batch, self.grace_s, self.keep = store, batch, grace_s, keep
        self.nice = nice  # the importer yields the CPU to the controller
        self._jobs: dict[str, ImportJob] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._procs: dict[str, asyncio.subprocess.Process] = {}
        self._inputs: dict[str, tuple[Path, bool]] = {}  # until the job is wrapped up
        self._turn = asyncio.Lock()  # one import at a time, in order
        self._ending: set[str] = set()  # jobs recording their end: not to be cancelled
        self._closed = False

    async def start(
        self,
        input_path: str | Path,
        fmt: str,
        partial: bool = False,
        actor: str | None = None,
        *,
        delete_input: bool = True,
    ) -> ImportJob:
        """Queue an import of ``input_path`` (csv, ndjson or json); its first snapshot."""
        if self._closed:
            raise ManifestError("the import manager is closed")
        if fmt not in FORMATS:
            raise ManifestError(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")
        path = Path(input_path)
        if not await asyncio.to_thread(path.is_file):
            raise ManifestError(f"{path}: no such file to import")
        job = ImportJob(new_job_id(), JobState.QUEUED, fmt, partial, time.time(), actor)
        await asyncio.to_thread(self.store.save_job, job)
        self._jobs[job.id], self._inputs[job.id] = job, (path, delete_input)
        self._tasks[job.id] = asyncio.create_task(self._run(job.id), name=f"import-{job.id}")
        return job

    def status(self, job_id: str) -> ImportJob | None:
        """The latest snapshot of a job this manager runs or ran, or None."""
        return self._jobs.get(job_id)

    def list(self) -> list[ImportJob]:
        """Every job this manager remembers (the last ``keep`` ended ones), newest first."""
        return sorted(self._jobs.values(), key=lambda j: j.created, reverse=True)

    async def wait(self, job_id: str, timeout: float | None = None) -> ImportJob | None:  # noqa: ASYNC109
        """The job's snapshot once it has ended or after ``timeout`` s (None if unknown).

        The timeout only bounds the wait: the job goes on.
        """
        if (task := self._tasks.get(job_id)) is not None:
            await asyncio.wait({task}, timeout=timeout)
        return self._jobs.get(job_id)

    async def cancel(self, job_id: str) -> ImportJob | None:
        """Cancel a queued or running job and wait until it has ended (None if unknown).

        A running importer gets SIGTERM and stops at its next check (a partial
        import keeps the batches already committed); after ``grace_s`` it is killed.
        """
        if (task := self._tasks.get(job_id)) is None:
            return self._jobs.get(job_id)
        if (proc := self._procs.get(job_id)) is None:
            task.cancel()  # still queued
        elif proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                proc.terminate()
        await asyncio.wait({task}, timeout=self.grace_s)
        if job_id not in self._ending:  # it ignored SIGTERM: kill it
            task.cancel()
        await self._settle([job_id])
        return self._jobs.get(job_id)

    async def close(self) -> None:
        """Cancel every queued and running job, reap the processes and end the tasks."""
        self._closed = True
        for job_id, task in list(self._tasks.items()):
            if job_id not in self._ending:  # else it is only recording its end
                task.cancel()
        await self._settle(list(self._tasks))

    async def _settle(self, job_ids: list[str]) -> None:
        """Wait for the jobs' tasks; wrap up a job whose task was cancelled before it ran."""
        tasks = [self._tasks[j] for j in job_ids if j in self._tasks]
        await asyncio.gather(*tasks, return_exceptions=True)
        for job_id in job_ids:
            if job_id in self._inputs:
                await self._wrap_up(job_id, self._cancelled(job_id))

    def _set(self, job_id: str, **changes: Any) -> None:
        self._jobs[job_id] = dataclasses.replace(self._jobs[job_id], **changes)

    def _ended(self, job_id: str, state: JobState, error: str, **changes: Any) -> ImportJob:
        job = self._jobs[job_id]
        return dataclasses.replace(job, state=state, error=error, finished=time.time(), **changes)

    def _cancelled(self, job_id: str) -> ImportJob:
        ran = self._jobs[job_id].started is not None
        return self._ended(
            job_id, JobState.CANCELLED, "cancelled" if ran else "cancelled before it started"
        )

    async def _run(self, job_id: str) -> None:
        final = None
        try:
            async with self._turn:
                final = await self._execute(job_id)
        except asyncio.CancelledError:
            if self._jobs[job_id].started is not None:
                final = await asyncio.to_thread(self._recorded, job_id)  # ended as we stopped it?
        except Exception as err:  # the process could not be started
            log.exception("manifest import %s failed", job_id)
            final = self._ended(job_id, JobState.FAILED, str(err))
        finally:
            if final is None or not final.state.finished:
                final = self._cancelled(job_id)
            await self._wrap_up(job_id, final)

    async def _wrap_up(self, job_id: str, final: ImportJob) -> None:
        """Delete the input, record the job, refresh the store's count, then publish ``final``."""
        self._ending.add(job_id)
        path, delete_input = self._inputs.pop(job_id)
        self._procs.pop(job_id, None)
        if delete_input:
            with contextlib.suppress(OSError):
                await asyncio.to_thread(path.unlink, missing_ok=True)
        try:
            await asyncio.to_thread(self.store.save_job, final)
            await asyncio.to_thread(self.store.count)
        except ManifestError as err:
            log.warning("manifest import %s: %s", job_id, err)
        self._jobs[job_id] = final
        self._tasks.pop(job_id, None)
        self._ending.discard(job_id)
        for old in [j for j in self.list() if j.state.finished][self.keep :]:
            del self._jobs[old.id]

    async def _execute(self, job_id: str) -> ImportJob:
        job, (path, _) = self._jobs[job_id], self._inputs[job_id]
        path_list = filter(None, [PACKAGE_ROOT, os.environ.get("PYTHONPATH")])
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(path_list)}
        env["SQLITE_TMPDIR"] = str(self.store.path.parent)  # staging spills next to the store
        args = ["--db", str(self.store.path), "--input", str(path), "--format", job.format]
        args += ["--job", job.id, "--batch", str(self.batch), "--nice", str(self.nice)]
        args += ["--partial"] * job.partial + (["--actor", job.actor] if job.actor else [])
        proc = await asyncio.create_subprocess_exec(
            *(sys.executable, "-m", "controller.manifest.importer", *args),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,  # a traceback ends up in the job's error
            env=env,
            limit=16 * 1024 * 1024,
        )
        self._procs[job_id] = proc
        self._set(job_id, state=JobState.RUNNING, started=time.time())
        final: dict[str, Any] | None = None
        other: deque[str] = deque(maxlen=20)
        try:
            assert proc.stdout is not None
            while raw := await proc.stdout.readline():
                message = _json_object(raw)
                if message is None:
                    other.append(raw.decode(errors="replace").strip())
                elif message.get("final"):
                    final = message
                else:
                    bad = self._jobs[job_id].bad_rows + tuple(
                        BadRow(**b) for b in message.pop("bad_rows", ())
                    )
                    self._set(job_id, **message, bad_rows=bad[:MAX_BAD_ROWS])
            await proc.wait()
        except BaseException:  # cancelled (or a bug): never leave the process behind
            await self._reap(proc)
            raise
        if final is None:  # no result line: did it commit before it died?
            recorded = await asyncio.to_thread(self._recorded, job_id)
            final = recorded.as_dict() if recorded and recorded.state.finished else None
        if final is not None:
            mine = self._jobs[job_id]
            return dataclasses.replace(
                ImportJob.from_dict(final), created=mine.created, started=mine.started
            )
        code = proc.returncode or 0
        why = f"the importer was killed by signal {-code}" if code < 0 else f"it exited {code}"
        detail = "; ".join(line for line in other if line)[-2000:]
        loaded = self._jobs[job_id].rows_loaded if job.partial else 0
        error = f"{why}: {detail}" if detail else why
        return self._ended(job_id, JobState.FAILED, error, rows_loaded=loaded)

    def _recorded(self, job_id: str) -> ImportJob | None:
        with contextlib.suppress(ManifestError):
            return self.store.job(job_id)
        return None

    async def _reap(self, proc: asyncio.subprocess.Process) -> None:
        """Terminate ``proc``, kill it after ``grace_s``, and wait for it (no zombie)."""
        if proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                proc.terminate()
            try:
                async with asyncio.timeout(self.grace_s):
                    await proc.wait()
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
                await proc.wait()


def _json_object(raw: bytes) -> dict[str, Any] | None:
    with contextlib.suppress(ValueError):
        message = json.loads(raw)
        return message if isinstance(message, dict) else None
    return None
