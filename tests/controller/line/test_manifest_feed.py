"""The manifest as the running line sees it: the decision's lookup and the manifest file."""

from __future__ import annotations

import asyncio
import itertools

import pytest

from controller.alarms import AlarmBoard, Severity
from controller.line.manifest_feed import ManifestFeed, ManifestRoutes
from controller.manifest import ImportJobs, ManifestStore
from tests.controller.line.helpers import until
from tests.controller.manifest.helpers import BAD, GOOD

CLOCK = itertools.count(1.0)


@pytest.fixture
def store(tmp_path):
    store = ManifestStore(tmp_path / "manifest.sqlite")
    store.open()
    yield store
    store.close()


def test_a_failing_manifest_database_is_a_critical_alarm_and_no_route(store):
    alarms = AlarmBoard()
    routes = ManifestRoutes(store, alarms, lambda: next(CLOCK))
    store.close()
    assert routes.get("A1", "no-route") == "no-route"
    alarm = alarms.get("manifest-db")
    assert alarm is not None and alarm.severity is Severity.CRITICAL
    assert "not open" in alarm.text


async def test_the_file_is_loaded_at_start_up_with_its_good_rows(tmp_path, store):
    (tmp_path / "manifest.csv").write_text(BAD)
    alarms = AlarmBoard()
    jobs = ImportJobs(store, grace_s=5.0)
    spawned: list[object] = []
    feed = ManifestFeed(tmp_path / "manifest.csv", store, jobs, alarms, lambda: 0.0, spawned.append)
    try:
        assert not feed.ready
        await feed.load(startup=True)
    finally:
        await jobs.close()
    assert feed.ready and not alarms.is_active("manifest") and spawned == []  # no job process
    assert ManifestRoutes(store, alarms, lambda: 0.0).get("A4") == "R4"
    assert store.route_of("A3") is None  # the bad rows are skipped, the good ones loaded


async def test_an_empty_manifest_is_an_alarm_until_a_file_arrives(tmp_path, store):
    path = tmp_path / "manifest.csv"
    alarms = AlarmBoard()
    jobs = ImportJobs(store, grace_s=5.0)
    tasks: list[asyncio.Task[None]] = []
    feed = ManifestFeed(
        path,
        store,
        jobs,
        alarms,
        lambda: 0.0,
        lambda coro: tasks.append(asyncio.ensure_future(coro)),
    )
    try:
        await feed.load(startup=True)
        empty = alarms.get("manifest")
        assert empty is not None and "the manifest is empty" in empty.text
        path.write_text(GOOD)
        await feed.load()  # the file appeared: an import job in its own process
        assert len(tasks) == 1
        await asyncio.wait_for(tasks[0], 60)
        await until(lambda: len(store) == 3)
        await feed.load()  # the next look clears the alarm
        assert not alarms.is_active("manifest")
    finally:
        await jobs.close()
