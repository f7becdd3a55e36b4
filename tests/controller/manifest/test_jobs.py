import asyncio

import pytest

from controller.errors import ManifestError
from controller.manifest.import_job import JobState
from controller.manifest.jobs import ImportJobs
from controller.manifest.rows import BadRow
from tests.controller.manifest.helpers import BAD, BIG, GOOD, write
from tests.simulators.sim_helpers import wait_for


async def test_the_manager_runs_a_job_deletes_the_spool_and_refreshes_the_count(
    tmp_path, store, jobs
):
    spool = write(tmp_path, "upload.csv", GOOD)
    queued = await jobs.start(spool, "csv", actor="alice")
    assert queued.state is JobState.QUEUED and queued.actor == "alice"
    await wait_for(lambda: jobs.status(queued.id).state.finished, within=60)  # as the API polls
    assert store.size == 3  # refreshed before the job shows as done
    done = await jobs.wait(queued.id, timeout=60)
    assert done.state is JobState.DONE and done.rows_loaded == 3 and done.rows_per_s > 0
    assert done.started >= done.created and done.finished >= done.started
    assert not spool.exists()
    assert store.size == 3 and store.route_of("A2") == "R2"
    assert jobs.status(queued.id) == done and jobs.list() == [done]
    stored = await asyncio.to_thread(store.job, queued.id)
    assert stored.state is JobState.DONE and stored.actor == "alice"


async def test_the_manager_reports_bad_rows(tmp_path, jobs):
    job = await jobs.start(write(tmp_path, "u.csv", BAD), "csv", partial=True)
    done = await jobs.wait(job.id, timeout=60)
    assert done.state is JobState.DONE and done.rows_bad == 2
    assert done.bad_rows[0] == BadRow(3, "barcode", "contains whitespace (U+0020) at position 1")
    assert done.as_dict()["bad_rows"][1] == {"line": 4, "field": "route", "reason": "is required"}


async def test_jobs_run_one_at_a_time(tmp_path, store, jobs, big_csv):
    big = tmp_path / "big.csv"
    big.write_bytes(big_csv.read_bytes())
    first = await jobs.start(big, "csv")
    second = await jobs.start(write(tmp_path, "small.csv", GOOD), "csv")
    await wait_running(jobs, first.id)  # 200,000 rows: it runs for a while yet
    assert jobs.status(first.id).state is JobState.RUNNING
    assert jobs.status(second.id).state is JobState.QUEUED
    done = await jobs.wait(second.id, timeout=120)
    assert done.state is JobState.DONE
    assert done.started >= jobs.status(first.id).finished
    assert store.size == BIG + 3


async def wait_running(jobs, job_id):
    """Wait until the importer has reported rows read (it is past its start-up)."""

    def reading() -> bool:
        job = jobs.status(job_id)
        assert job.state in (JobState.QUEUED, JobState.RUNNING), job
        return job.rows_read > 0

    await wait_for(reading, within=60)


@pytest.mark.parametrize("partial", [False, True])
async def test_cancel_a_running_import(tmp_path, store, jobs, big_csv, partial):
    big = tmp_path / "big.csv"
    big.write_bytes(big_csv.read_bytes())
    job = await jobs.start(big, "csv", partial=partial)
    await wait_running(jobs, job.id)
    cancelled = await jobs.cancel(job.id)
    assert cancelled.state is JobState.CANCELLED and cancelled.finished is not None
    assert not big.exists()
    assert store.size == (cancelled.rows_loaded if partial else 0)
    stored = await asyncio.to_thread(store.job, job.id)
    assert stored.state is JobState.CANCELLED


async def test_cancel_a_queued_import(tmp_path, jobs, big_csv):
    big = tmp_path / "big.csv"
    big.write_bytes(big_csv.read_bytes())
    first = await jobs.start(big, "csv")
    second = await jobs.start(write(tmp_path, "small.csv", GOOD), "csv")
    cancelled = await jobs.cancel(second.id)
    assert cancelled.state is JobState.CANCELLED and cancelled.started is None
    assert cancelled.error == "cancelled before it started"
    assert (await jobs.wait(first.id, timeout=120)).state is JobState.DONE


async def test_close_terminates_a_running_import_and_reaps_it(tmp_path, store, big_csv):
    jobs = ImportJobs(store, grace_s=5.0)
    big = tmp_path / "big.csv"
    big.write_bytes(big_csv.read_bytes())
    job = await jobs.start(big, "csv")
    await wait_running(jobs, job.id)
    proc = jobs._procs[job.id]
    await jobs.close()
    assert proc.returncode is not None
    assert jobs.status(job.id).state is JobState.CANCELLED
    with pytest.raises(ManifestError, match="closed"):
        await jobs.start(big, "csv")


async def test_a_killed_importer_fails_the_job(tmp_path, store, jobs, big_csv):
    big = tmp_path / "big.csv"
    big.write_bytes(big_csv.read_bytes())
    job = await jobs.start(big, "csv")
    await wait_running(jobs, job.id)
    jobs._procs[job.id].kill()
    failed = await jobs.wait(job.id, timeout=60)
    assert failed.state is JobState.FAILED and "killed by signal 9" in failed.error
    assert store.size == 0


async def test_start_refuses_what_cannot_be_imported(tmp_path, jobs):
    with pytest.raises(ManifestError, match="unknown format"):
        await jobs.start(write(tmp_path, "m.xml", "<m/>"), "xml")
    with pytest.raises(ManifestError, match="no such file"):
        await jobs.start(tmp_path / "missing.csv", "csv")
    assert await jobs.wait("nope") is None and await jobs.cancel("nope") is None
