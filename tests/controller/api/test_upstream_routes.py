from tests.controller.line.helpers import finished, until


async def test_without_a_webhook_url_events_wait_in_the_outbox_and_are_listed(api):
    await until(lambda: finished(api.line) == 6 and len(api.line.tracker) == 0)
    await api.line.journal.barrier()
    await until(lambda: api.line.upstream.stats().pending >= 6, within=5)
    body = (await api.get("/api/v1/upstream")).json()
    assert body["webhook_url"] is None and body["pending"] >= 6 and body["dead"] == 0
    events = (await api.get("/api/v1/upstream/events", params={"state": "pending"})).json()
    assert {e["type"] for e in events} <= {
        "parcel.measured",
        "parcel.sorted",
        "parcel.rejected",
        "parcel.lost",
    }
    assert all(e["created"].endswith("Z") for e in events)
    page = (
        await api.get(
            "/api/v1/upstream/events", params={"state": "pending", "after": events[0]["id"]}
        )
    ).json()
    assert [e["id"] for e in page] == [e["id"] for e in events[1:]]


async def test_replay_of_unknown_events_is_404_and_of_no_dead_letters_is_zero(api):
    response = await api.send(
        "POST", "/api/v1/upstream/replay", "tms", json={"event_ids": ["no-such-event"]}
    )
    assert response.status_code == 404 and "no-such-event" in response.json()["detail"]
    response = await api.send("POST", "/api/v1/upstream/replay", "supervisor", json={})
    assert response.status_code == 200 and response.json()["replayed"] == 0
