"""Container close-out through the API with a running simulated line, up to the TMS."""

from __future__ import annotations

from simulators.tms import TmsSimulator
from tests.controller.api.conftest import serving
from tests.controller.line.helpers import (
    finished,
    line_config,
    until,
)
from tests.controller.upstream.helpers import outbox_rows


def _fullest(chutes: list[dict]) -> dict:
    """The chute whose container holds the most parcels."""
    return max(chutes, key=lambda c: c["container"]["parcels"])


async def test_close_out_resets_the_count_and_records_the_container(api):
    await until(lambda: finished(api.line) == 6 and len(api.line.tracker) == 0)
    chutes = (await api.get("/api/v1/chutes")).json()
    assert sum(c["container"]["parcels"] for c in chutes) == 6
    chute = _fullest(chutes)
    count = chute["container"]["parcels"]
    assert count > 0 and chute["container"]["opened"].endswith("Z")

    response = await api.send(
        "POST", f"/api/v1/chutes/{chute['id']}/close-out", "supervisor", json={"reason": "full"}
    )
    assert response.status_code == 200, response.text
    record = response.json()
    assert record["id"].startswith(f"C-{chute['id']}-") and record["chute"] == chute["id"]
    assert record["parcels"] == count and record["closed_by"] == "supervisor-1"
    assert record["reason"] == "full" and record["opened"] < record["closed"]
    assert record["route"] == (",".join(chute["routes"]) or None)

    after = {c["id"]: c for c in (await api.get("/api/v1/chutes")).json()}[chute["id"]]
    assert after["container"]["parcels"] == 0 and after["fill_estimate"] == 0
    assert after["container"]["opened"] == record["closed"]
    assert after["parcels_this_session"] == count  # the session counter goes on

    listed = (await api.get("/api/v1/containers")).json()
    assert [c["id"] for c in listed] == [record["id"]]
    assert listed[0] == record
    mine = await api.get("/api/v1/containers", params={"chute": chute["id"], "limit": 5})
    assert [c["id"] for c in mine.json()] == [record["id"]]
    other = next(c["id"] for c in chutes if c["id"] != chute["id"])
    assert (await api.get("/api/v1/containers", params={"chute": other})).json() == []

    (row,) = outbox_rows(api.line.journal.path, "type = 'container.closed'")
    body = row["body"]
    assert body["container_id"] == record["id"] and body["parcel_count"] == count
    assert len(body["parcels"]) == count
    for item in body["parcels"]:  # each one did land in that chute
        parcel = api.line.tracker.get(item["tracking_id"])
        assert parcel is not None and parcel.landed_chute == chute["id"]
        assert item["barcode"] == parcel.barcode and item["parcel_id"] == f"1-{parcel.uid}"

    audit = (await api.get("/api/v1/audit", role="supervisor")).json()
    assert (audit[0]["action"], audit[0]["target"]) == ("chute.close-out", f"chute {chute['id']}")
    assert f"{count} parcels" in audit[0]["detail"] and "full" in audit[0]["detail"]


async def test_the_reject_chute_closes_out_too_and_the_body_is_optional(api):
    reject = api.line.config.topology.reject_chute.id
    response = await api.send("POST", f"/api/v1/chutes/{reject}/close-out", "supervisor")
    assert response.status_code == 200, response.text
    assert response.json()["chute"] == reject and response.json()["reason"] is None


async def test_closing_an_unknown_chute_is_404_and_audited(api):
    response = await api.send("POST", "/api/v1/chutes/77/close-out", "supervisor", json={})
    assert response.status_code == 404
    assert "chute 77 is not a chute" in response.json()["detail"]
    await api.line.journal.barrier()
    audit = (await api.get("/api/v1/audit", role="supervisor")).json()
    assert (audit[0]["action"], audit[0]["ok"]) == ("chute.close-out", False)
    bad = await api.get("/api/v1/containers", params={"limit": 0})
    assert bad.status_code == 422


async def test_the_tms_simulator_receives_container_closed(tmp_path):
    async with TmsSimulator() as tms:
        config = line_config(
            simulation={"parcels": 4},
            upstream={"webhook_url": tms.webhook_url, "backoff_min_ms": 10, "backoff_max_ms": 50},
        )
        async with serving(config, tmp_path, "lead", "supervisor") as (line, api):
            await until(lambda: finished(line) == 4 and len(line.tracker) == 0)
            chute = _fullest((await api.get("/api/v1/chutes")).json())
            answer = await api.post(f"/api/v1/chutes/{chute['id']}/close-out", json={})
            assert answer.status_code == 200, answer.text
            await until(lambda: tms.stats()["by_type"].get("container.closed") == 1, 15)
            await until(lambda: tms.stats()["received"] == 5, 15)
    stats = tms.stats()
    assert (stats["rejected_malformed"], stats["order_violations"]) == (0, 0)
    assert stats["header_mismatches"] == 0 and stats["parcels"] == 4
    (record,) = [r for r in tms.ledger.records if r["event"]["type"] == "container.closed"]
    event = record["event"]
    assert record["problems"] == []
    assert event["container_id"] == answer.json()["id"] and event["chute"] == chute["id"]
    assert event["parcel_count"] == chute["container"]["parcels"] == len(event["parcels"])
    parcel_ids = {r["event"]["parcel_id"] for r in tms.ledger.records if "parcel_id" in r["event"]}
    assert {p["parcel_id"] for p in event["parcels"]} <= parcel_ids
