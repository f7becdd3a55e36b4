import asyncio
import contextlib
import random
import time
from collections import defaultdict
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from controller.alarms.board import AlarmBoard, Severity
from controller.errors import UpstreamError
from controller.journal.writer import Journal
from controller.parcels.state import ParcelTracker
from controller.upstream import delivery as delivery_module
from controller.upstream import outbox
from controller.upstream.delivery import (
    ALARM_DEAD_LETTER,
    ALARM_UNREACHABLE,
    UpstreamDelivery,
    backoff_delay,
)
from plc_configs.integration import UpstreamSection
from plc_configs.webhook import verify_signature
from tests.controller.upstream.helpers import (
    Receiver,
    measurement,
    outbox_rows,
    parcel_events,
    until,
)


def _config(url: str | None, **overrides) -> UpstreamSection:
    values = {
        "webhook_url": url,
        "concurrency": 4,
        "max_attempts": 1000,
        "backoff_min_ms": 2,
        "backoff_max_ms": 40,
        "timeout_ms": 1000,
    }
    return UpstreamSection(**(values | overrides))


@contextlib.asynccontextmanager
async def _line(
    path: Path, delivery: UpstreamDelivery, parcels: int, first_tid: int = 1
) -> AsyncIterator[Journal]:
    """A journal wired to ``delivery`` (both running), with ``parcels`` parcels written."""
    journal = Journal(path, "l", on_commit=delivery.notify_threadsafe)
    await journal.open()
    task = asyncio.create_task(delivery.run(), name="upstream-under-test")
    try:
        tracker = ParcelTracker()
        for tid in range(first_tid, first_tid + parcels):
            journal.extend(parcel_events(tracker, tid, measure=measurement()))
            await asyncio.sleep(0)
        await journal.barrier()
        yield journal
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await journal.close()


def _states(path: Path) -> dict[str, int]:
    counts: dict[str, int] = defaultdict(int)
    for row in outbox_rows(path):
        counts[row["state"]] += 1
    return dict(counts)


def _alarm_text(alarms: AlarmBoard, key: str) -> str:
    return next((a.text for a in alarms.active() if a.key == key), "")


def _assert_in_order_per_parcel(hits) -> None:
    last: dict[str, int] = {}
    for hit in hits:
        body = hit.json
        assert body["sequence"] > last.get(body["parcel_id"], 0), body
        last[body["parcel_id"]] = body["sequence"]


def test_backoff_is_full_jitter_up_to_the_cap():
    rng = random.Random(1)
    for attempt in range(12):
        ceiling = min(1.0, 0.01 * 2**attempt)
        delays = [backoff_delay(attempt, 0.01, 1.0, rng) for _ in range(200)]
        assert all(0 <= d <= ceiling for d in delays)
        assert max(delays) > ceiling * 0.8 and min(delays) < ceiling * 0.2
    assert backoff_delay(10_000, 0.5, 30.0, rng) <= 30.0  # no overflow


async def test_every_event_is_delivered_once_in_order_and_signed(tmp_path):
    tms = Receiver()
    await tms.start()
    path = tmp_path / "j.sqlite"
    alarms = AlarmBoard()
    delivery = UpstreamDelivery(_config(tms.url), path, alarms, secret="s3cret")
    try:
        async with _line(path, delivery, 40):
            await until(lambda: len(tms.hits) >= 80)
            await until(
                lambda: (delivery.stats().pending, delivery.stats().delivered_total) == (0, 80)
            )
            stats = delivery.stats()
            events = await delivery.list_events("delivered", limit=500)
    finally:
        await tms.stop()
    assert len(tms.hits) == 80 and len({h.key for h in tms.hits}) == 80
    _assert_in_order_per_parcel(tms.hits)
    rows = {r["event_id"]: r for r in outbox_rows(path)}
    for hit in tms.hits:
        signature = hit.headers["X-LaneSort-Signature"]
        assert verify_signature("s3cret", signature, hit.body, time.time()) is None
        assert hit.headers["Content-Type"] == "application/json"
        assert hit.headers["X-LaneSort-Event"] == hit.json["type"]
        assert hit.body == rows[hit.key]["payload"].encode()  # the exact bytes stored
        assert rows[hit.key]["state"] == "delivered" and rows[hit.key]["attempts"] == 1
    assert (stats.pending, stats.dead, stats.delivered_total) == (0, 0, 80)
    assert stats.last_error is None and stats.last_delivery_time is not None
    assert len(events) == 80 and set(events[0]) >= {
        "id",
        "event_id",
        "type",
        "barcode",
        "state",
        "attempts",
        "last_error",
        "created",
        "delivered",
    }
    assert not alarms.active()


async def test_http_500s_are_retried_with_the_same_key_until_delivered(tmp_path):
    answers = iter([500] * 30)
    tms = Receiver(answer=lambda hit: next(answers, 200))
    await tms.start()
    path = tmp_path / "j.sqlite"
    alarms = AlarmBoard()
    delivery = UpstreamDelivery(_config(tms.url, concurrency=3), path, alarms)
    seen_alarm: list[str] = []
    try:
        async with _line(path, delivery, 10):
            await until(lambda: alarms.is_active(ALARM_UNREACHABLE) or len(tms.hits) > 30)
            seen_alarm = [a.text for a in alarms.active()]
            await until(lambda: len(tms.delivered()) >= 20)
            await until(lambda: _states(path) == {"delivered": 20})
    finally:
        await tms.stop()
    failed = [h for h in tms.hits if h.status == 500]
    assert len(failed) == 30
    assert {h.key for h in failed} <= {h.key for h in tms.delivered()}  # same key on retry
    assert len(tms.delivered()) == 20 and len({h.key for h in tms.delivered()}) == 20
    assert "X-LaneSort-Signature" not in failed[0].headers  # no secret, no signature
    _assert_in_order_per_parcel(tms.delivered())
    assert seen_alarm and "unreachable since" in seen_alarm[0] and "HTTP 500" in seen_alarm[0]
    assert not alarms.is_active(ALARM_UNREACHABLE)  # cleared by the deliveries
    retried = [r for r in outbox_rows(path) if r["attempts"] > 1]
    assert retried and all(r["last_error"] is None for r in retried)


async def test_a_lane_held_by_a_failing_event_does_not_hold_back_the_others(tmp_path, monkeypatch):
    # a lane holds at most _BATCH rows: the feeder must go on feeding the other lane
    # past them, though its cursor cannot move past the held lane's rows
    monkeypatch.setattr(delivery_module, "_BATCH", 3)
    # and at once: with no new commit to wake it, the feeder must not wait for its poll
    monkeypatch.setattr(delivery_module, "_POLL_S", 60.0)
    poisoned: set[str] = set()

    def answer(hit) -> int:
        if not poisoned:
            poisoned.add(hit.json["parcel_id"])
        return 500 if hit.json["parcel_id"] in poisoned else 200

    tms = Receiver(answer=answer)
    await tms.start()
    path = tmp_path / "j.sqlite"
    delivery = UpstreamDelivery(_config(tms.url, concurrency=2), path, AlarmBoard())
    try:
        async with _line(path, delivery, 30):
            await until(lambda: poisoned)
            rows = outbox_rows(path)
            held = next(
                outbox.lane_of(r["lane_key"], 2) for r in rows if r["body"]["parcel_id"] in poisoned
            )
            others = {r["event_id"] for r in rows if outbox.lane_of(r["lane_key"], 2) != held}
            assert len(rows) - len(others) > 3  # the held lane has more rows than it may hold
            await until(lambda: {h.key for h in tms.delivered()} >= others)
    finally:
        await tms.stop()
    assert {h.key for h in tms.delivered()} == others  # the held lane waits, in order


async def test_a_tms_that_is_down_then_back_gets_everything(tmp_path):
    tms = Receiver()
    await tms.start()
    await tms.stop()  # the port now refuses connections
    path = tmp_path / "j.sqlite"
    alarms = AlarmBoard()
    delivery = UpstreamDelivery(_config(tms.url), path, alarms)
    async with _line(path, delivery, 10):
        await until(lambda: alarms.is_active(ALARM_UNREACHABLE))
        await until(lambda: any(r["attempts"] >= 3 for r in outbox_rows(path)))
        text = alarms.active()[0].text
        assert f"TMS {tms.url} unreachable since" in text and "connection refused" in text
        assert _states(path) == {"pending": 20}
        await tms.start()  # same port
        try:
            await until(lambda: _states(path) == {"delivered": 20})
            await until(lambda: delivery.stats().pending == 0)
        finally:
            await tms.stop()
    assert len(tms.hits) == 20 and len({h.key for h in tms.hits}) == 20
    _assert_in_order_per_parcel(tms.hits)
    assert not alarms.is_active(ALARM_UNREACHABLE)
    assert delivery.stats().last_error.startswith("connection refused")


async def test_dead_letters_raise_the_alarm_and_replay_delivers_them(tmp_path):
    status = {"code": 503}
    tms = Receiver(answer=lambda hit: status["code"])
    await tms.start()
    path = tmp_path / "j.sqlite"
    alarms = AlarmBoard()
    delivery = UpstreamDelivery(_config(tms.url, max_attempts=3), path, alarms)
    try:
        async with _line(path, delivery, 3):
            await until(lambda: _states(path) == {"dead": 6})
            await until(lambda: "6 upstream event(s)" in _alarm_text(alarms, ALARM_DEAD_LETTER))
            alarm = next(a for a in alarms.active() if a.key == ALARM_DEAD_LETTER)
            assert alarm.severity is Severity.CRITICAL
            assert "dead-lettered" in alarm.text and "HTTP 503" in alarm.text
            assert len(tms.hits) == 18  # 3 attempts each
            dead = await delivery.list_events("dead")
            assert len(dead) == 6 and {e["attempts"] for e in dead} == {3}
            assert dead[0]["last_error"] == "HTTP 503: TMS says no"
            with pytest.raises(UpstreamError, match="not-an-id"):
                await delivery.replay(["not-an-id", dead[0]["event_id"]])
            status["code"] = 200
            assert await delivery.replay([dead[0]["event_id"]]) == 1
            await until(lambda: len(tms.delivered()) == 1)
            assert await delivery.replay() == 5
            await until(lambda: _states(path) == {"delivered": 6})
            await until(lambda: not alarms.is_active(ALARM_DEAD_LETTER))
    finally:
        await tms.stop()
    assert len({h.key for h in tms.delivered()}) == 6


async def test_pending_events_survive_a_restart(tmp_path):
    path = tmp_path / "j.sqlite"
    tms = Receiver()
    # first run: no TMS configured yet, everything stays pending
    first = UpstreamDelivery(_config(None), path, AlarmBoard())
    async with _line(path, first, 5):
        await until(lambda: first.stats().pending == 10)
    assert _states(path) == {"pending": 10}
    await tms.start()
    try:
        second = UpstreamDelivery(_config(tms.url), path, AlarmBoard())
        async with _line(path, second, 5, first_tid=100) as journal:
            assert journal.session == 2
            await until(lambda: _states(path) == {"delivered": 20})
    finally:
        await tms.stop()
    sessions = {h.json["parcel_id"].split("-")[0] for h in tms.hits}
    assert len(tms.hits) == 20 and sessions == {"1", "2"}
    _assert_in_order_per_parcel(tms.hits)


async def test_replay_and_listing_work_without_the_deliverer_running(tmp_path):
    path = tmp_path / "j.sqlite"
    journal = Journal(path, "l")
    await journal.open()
    journal.extend(parcel_events(ParcelTracker(), 1))
    await journal.barrier()
    await journal.close()
    delivery = UpstreamDelivery(_config(None), path, AlarmBoard())
    try:
        (event,) = await delivery.list_events()
        assert event["state"] == "pending" and event["parcel_id"] == "1-1"
        assert await delivery.list_events("pending", after_id=event["id"]) == []
        assert await delivery.list_events("pending", 10, None) == [event]
        assert await delivery.replay(state="pending") == 1
        with pytest.raises(UpstreamError, match="unknown outbox state"):
            await delivery.list_events("gone")
    finally:
        await delivery.aclose()


async def test_a_slow_tms_times_out_and_cancelling_mid_post_leaves_nothing_running(tmp_path):
    tms = Receiver(delay=0.3)
    await tms.start()
    path = tmp_path / "j.sqlite"
    alarms = AlarmBoard()
    delivery = UpstreamDelivery(_config(tms.url, timeout_ms=50, concurrency=1), path, alarms)
    try:
        async with _line(path, delivery, 1):
            await until(lambda: alarms.is_active(ALARM_UNREACHABLE))
            assert (
                "no answer from" in alarms.active()[0].text
                and "within 50 ms" in alarms.active()[0].text
            )
            await asyncio.sleep(0.01)  # cancelled while a POST is in flight, most likely
    finally:
        await tms.stop()
    assert _states(path) == {"pending": 2}


async def test_delivered_rows_are_purged_after_keep_delivered_days(tmp_path):
    path = tmp_path / "j.sqlite"
    tms = Receiver()
    await tms.start()
    try:
        first = UpstreamDelivery(_config(tms.url), path, AlarmBoard())
        async with _line(path, first, 2):
            await until(lambda: _states(path) == {"delivered": 4})
        await asyncio.sleep(0.1)
        keep_briefly = _config(tms.url, keep_delivered_days=0.05 / 86400)
        second = UpstreamDelivery(keep_briefly, path, AlarmBoard())
        async with _line(path, second, 0):
            await until(lambda: outbox_rows(path) == [])
    finally:
        await tms.stop()
