"""Dead letters through the real app: a TMS that keeps answering 500, then recovers.

The test line has no scale or dimensioner: one event (sorted or rejected) per parcel.
"""

from __future__ import annotations

from simulators.tms import TmsSimulator
from tests.controller.api.conftest import serving
from tests.controller.line.helpers import (
    finished,
    line_config,
    until,
)


async def test_dead_letters_raise_an_alarm_and_replay_delivers_them(tmp_path):
    async with TmsSimulator() as tms:
        await tms.set_mode("error", status=500)
        config = line_config(
            simulation={"parcels": 4},
            upstream={
                "webhook_url": tms.webhook_url,
                "max_attempts": 2,
                "backoff_min_ms": 10,
                "backoff_max_ms": 20,
            },
        )
        async with serving(config, tmp_path, "tms-1", "tms") as (line, api):
            await until(lambda: finished(line) == 4 and len(line.tracker) == 0)
            await until(lambda: line.upstream.stats().dead == 4, within=15)
            assert line.alarms.is_active("upstream-dead-letter")
            dead = (await api.get("/api/v1/upstream/events", params={"state": "dead"})).json()
            assert len(dead) == 4 and all(e["attempts"] == 2 for e in dead)
            assert all(e["last_error"].startswith("HTTP 500") for e in dead)
            metrics = (await api.get("/metrics")).text
            assert 'lanesort_outbox_events{line="test-line",state="dead"} 4.0' in metrics
            assert tms.stats()["received"] == 0
            await tms.set_mode("up")
            answer = await api.post("/api/v1/upstream/replay", json={"state": "dead"})
            assert answer.status_code == 200 and answer.json()["replayed"] == 4
            await until(lambda: tms.stats()["received"] == 4, within=15)
    ids = {e["event_id"] for e in dead}
    assert {r["event"]["event_id"] for r in tms.ledger.records} == ids
