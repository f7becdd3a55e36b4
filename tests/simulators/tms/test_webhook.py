"""Receiving webhook events: recording, idempotency, order, signatures, malformed bodies."""

from __future__ import annotations

import json
import time

from simulators.tms import TmsSimulator
from tests.simulators.tms.helpers import control, make_event

SECRET = "s3cret"


async def test_accepted_event_is_recorded(tms: TmsSimulator, deliver, http):
    event = make_event("P-1", 1, "parcel.measured")
    status, answer = await deliver(tms.webhook_url, event)
    assert status == 200
    assert answer == {"status": "accepted", "event_id": event["event_id"]}
    events = await control(http, tms, "GET", "/events")
    assert len(events) == 1
    record = events[0]
    assert record["index"] == 1
    assert record["event"] == event
    assert record["order_violation"] is False
    assert record["sequence_gap"] is False
    assert record["problems"] == []
    stats = await control(http, tms, "GET", "/stats")
    assert stats == {
        "received": 1,
        "duplicates": 0,
        "order_violations": 0,
        "sequence_gaps": 0,
        "bad_signatures": 0,
        "rejected_malformed": 0,
        "errors_answered": 0,
        "header_mismatches": 0,
        "by_type": {"parcel.measured": 1},
        "parcels": 1,
        "mode": "up",
    }


async def test_duplicate_event_id_counted_not_recorded(tms: TmsSimulator, deliver, http):
    event = make_event()
    assert (await deliver(tms.webhook_url, event))[0] == 200
    status, answer = await deliver(tms.webhook_url, event)
    assert status == 200
    assert answer["status"] == "duplicate"
    stats = await control(http, tms, "GET", "/stats")
    assert (stats["received"], stats["duplicates"]) == (1, 1)
    assert len(tms.ledger.records) == 1


async def test_order_violation_and_gap_counted_and_flagged(tms: TmsSimulator, deliver, http):
    for parcel, seq in [("P-1", 1), ("P-1", 3), ("P-1", 2), ("P-2", 1), ("P-2", 2)]:
        status, _ = await deliver(tms.webhook_url, make_event(parcel, seq))
        assert status == 200
    stats = await control(http, tms, "GET", "/stats")
    assert stats["received"] == 5
    assert stats["order_violations"] == 1
    assert stats["sequence_gaps"] == 1
    assert stats["parcels"] == 2
    flags = [(r["order_violation"], r["sequence_gap"]) for r in tms.ledger.records]
    assert flags == [(False, False), (False, True), (True, False), (False, False), (False, False)]


async def test_header_mismatch_counted(tms: TmsSimulator, deliver):
    status, _ = await deliver(tms.webhook_url, make_event(), headers={"Idempotency-Key": "other"})
    assert status == 200
    assert tms.stats()["header_mismatches"] == 1
    assert tms.ledger.records[0]["problems"] == ["Idempotency-Key is not the event_id"]


async def test_signatures_good_bad_missing_stale(tms_factory, deliver, http):
    tms = await tms_factory(secret=SECRET)
    url = tms.webhook_url
    assert (await deliver(url, make_event(), secret=SECRET))[0] == 200
    status, answer = await deliver(url, make_event(), secret="wrong")
    assert status == 401
    assert "does not match" in answer["reason"]
    status, answer = await deliver(url, make_event())
    assert status == 401
    assert "missing" in answer["reason"]
    stale = int(time.time()) - 3600
    status, answer = await deliver(url, make_event(), secret=SECRET, timestamp=stale)
    assert status == 401
    assert "off" in answer["reason"]
    stats = await control(http, tms, "GET", "/stats")
    assert (stats["received"], stats["bad_signatures"]) == (1, 3)


async def test_malformed_bodies_answer_400(tms: TmsSimulator, deliver, http):
    no_event_id = make_event()
    del no_event_id["event_id"]
    no_parcel = make_event()
    del no_parcel["parcel_id"]
    text_sequence = {**make_event(), "sequence": "1"}
    bodies = [
        b"{not json",
        b"\xff\xfe",
        b"[1, 2]",
        json.dumps(no_event_id).encode(),
        json.dumps(no_parcel).encode(),
        json.dumps(text_sequence).encode(),
    ]
    for raw in bodies:
        status, answer = await deliver(tms.webhook_url, raw=raw)
        assert status == 400, raw
        assert answer["error"] == "malformed"
    stats = await control(http, tms, "GET", "/stats")
    assert (stats["received"], stats["rejected_malformed"]) == (0, len(bodies))


async def test_events_after_limit_and_reset(tms: TmsSimulator, deliver, http):
    for seq in (1, 2, 3):
        await deliver(tms.webhook_url, make_event("P-1", seq))
    after = await control(http, tms, "GET", "/events?after=1")
    assert [r["event"]["sequence"] for r in after] == [2, 3]
    limited = await control(http, tms, "GET", "/events?after=0&limit=1")
    assert [r["index"] for r in limited] == [1]
    async with http.get(tms.control_url + "/events?after=x") as response:
        assert response.status == 400
    stats = await control(http, tms, "POST", "/reset")
    assert stats["received"] == 0
    assert await control(http, tms, "GET", "/events") == []
    # after a reset the same parcel starts again at 1 without a violation
    await deliver(tms.webhook_url, make_event("P-1", 1))
    assert tms.stats()["order_violations"] == 0


async def test_events_file_gets_one_json_line_per_accepted_event(tms_factory, deliver, tmp_path):
    path = tmp_path / "out" / "events.jsonl"
    tms = await tms_factory(events_file=path)
    first, second = make_event("P-1", 1), make_event("P-1", 2)
    for event in (first, second, first):  # the duplicate is not written again
        await deliver(tms.webhook_url, event)
    await deliver(tms.webhook_url, raw=b"junk")
    lines = path.read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["event"] for line in lines] == [first, second]
    tms.ledger.reset()
    assert path.read_text(encoding="utf-8") == ""
    await deliver(tms.webhook_url, make_event("P-9", 1))
    assert len(path.read_text(encoding="utf-8").splitlines()) == 1


async def test_custom_path(tms_factory, deliver, http):
    tms = await tms_factory(path="/webhook")
    assert tms.webhook_url.endswith("/webhook")
    assert (await deliver(tms.webhook_url))[0] == 200
    async with http.post(tms.webhook_url.replace("/webhook", "/lanesort/events")) as response:
        assert response.status == 404


async def test_manifest_served(tms_factory, http, tmp_path):
    manifest = tmp_path / "manifest.csv"
    manifest.write_text("barcode,route\n1Z999,R01\n", encoding="utf-8")
    tms = await tms_factory(manifest=manifest)
    async with http.get(tms.manifest_url) as response:
        assert response.status == 200
        assert response.content_type == "text/csv"
        assert await response.text() == "barcode,route\n1Z999,R01\n"


async def test_no_manifest_is_404(tms: TmsSimulator, http):
    async with http.get(tms.manifest_url) as response:
        assert response.status == 404
