from tests.controller.line_helpers import finished, until


async def test_a_sorted_parcel_by_barcode_with_events(api):
    await until(lambda: finished(api.line) == 6 and len(api.line.tracker) == 0)
    await api.line.journal.barrier()
    page = (await api.get("/api/v1/parcels", params={"state": "sorted"})).json()
    assert page["items"], page
    barcode = page["items"][0]["barcode"]
    parcel = (await api.get(f"/api/v1/parcels/{barcode}")).json()
    assert parcel["state"] == "sorted" and parcel["chute"] in (1, 2, 3)
    assert parcel["events"][0]["kind"] == "inducted"
    assert parcel["events"][-1]["kind"] == "terminal"
    assert parcel["events"][0]["time"].endswith("Z")


async def test_search_pages_follow_the_cursor(api):
    await until(lambda: finished(api.line) == 6 and len(api.line.tracker) == 0)
    await api.line.journal.barrier()
    seen, cursor = [], None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = (await api.get("/api/v1/parcels", params=params)).json()
        seen += [p["parcel_id"] for p in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == 6


async def test_an_unknown_barcode_is_404_and_bad_queries_name_the_field(api):
    response = await api.get("/api/v1/parcels/NOPE")
    assert response.status_code == 404 and response.json()["status"] == 404
    response = await api.get("/api/v1/parcels", params={"since": "yesterday"})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "query.since"
    response = await api.get("/api/v1/parcels", params={"since": "2026-11-22T10:00:00"})
    assert response.status_code == 422 and "time zone" in response.json()["detail"]
    response = await api.get("/api/v1/parcels", params={"cursor": "zz"})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "query.cursor"
