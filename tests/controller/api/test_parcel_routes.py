import asyncio

import cv2
import numpy as np

from simulators.tms import TmsSimulator
from tests.controller.api.conftest import serving
from tests.controller.line.helpers import (
    camera_line_config,
    finished,
    until,
)


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


async def test_a_parcel_lookup_lists_its_pending_upstream_events_and_no_images(api):
    await until(lambda: finished(api.line) == 6 and len(api.line.tracker) == 0)
    await api.line.journal.barrier()
    page = (await api.get("/api/v1/parcels", params={"state": "sorted"})).json()
    barcode = page["items"][0]["barcode"]
    parcel = (await api.get(f"/api/v1/parcels/{barcode}")).json()
    assert parcel["images"] == []  # a barcode reader sends no image
    (event,) = parcel["upstream"]  # no webhook URL: waiting in the outbox
    assert event["type"] == "parcel.sorted" and event["state"] == "pending"
    assert event["attempts"] == 0 and event["last_error"] is None and event["sequence"] == 1
    assert event["next_attempt"].endswith("Z") and event["delivered"] is None
    response = await api.get(f"/api/v1/parcels/{barcode}/images/0")
    assert response.status_code == 404 and response.json()["type"].endswith("no-image")
    response = await api.get("/api/v1/parcels/NOPE/images/0")
    assert response.status_code == 404 and response.json()["type"].endswith("unknown-parcel")
    assert (await api.get(f"/api/v1/parcels/{barcode}/images/-1")).status_code == 422


async def test_camera_images_and_dead_then_delivered_upstream_events(tmp_path):
    async with TmsSimulator() as tms:
        await tms.set_mode("error", status=500)
        config = camera_line_config(
            6,
            upstream={
                "webhook_url": tms.webhook_url,
                "max_attempts": 2,
                "backoff_min_ms": 10,
                "backoff_max_ms": 20,
            },
        )
        async with serving(config, tmp_path, "viewer-1", "viewer") as (line, api):
            await until(lambda: finished(line) == 6 and len(line.tracker) == 0, within=30)
            await until(lambda: line.upstream.stats().dead == 6, within=45)
            page = (await api.get("/api/v1/parcels", params={"state": "sorted"})).json()
            assert page["items"], "no parcel read by the camera in time"
            barcode = page["items"][0]["barcode"]
            parcel = (await api.get(f"/api/v1/parcels/{barcode}")).json()
            (image,) = parcel["images"]
            assert image["device"] == "cam" and image["time"].endswith("Z")
            assert image["url"] == f"/api/v1/parcels/{barcode}/images/0"
            response = await api.get(image["url"])
            assert response.status_code == 200
            assert response.headers["content-type"] == "image/jpeg"
            frame = cv2.imdecode(np.frombuffer(response.content, np.uint8), 0)
            assert frame.shape == (1024, 1280)
            assert (tmp_path / "images" / image["path"]).read_bytes() == response.content
            assert (await api.get(f"/api/v1/parcels/{barcode}/images/1")).status_code == 404
            (event,) = parcel["upstream"]
            assert event["state"] == "dead" and event["attempts"] == 2
            assert event["last_error"].startswith("HTTP 500")
            assert event["next_attempt"] is None and event["delivered"] is None
            await tms.set_mode("up")
            await line.upstream.replay(None, "dead")
            await until(lambda: tms.stats()["received"] == 6, within=30)
            for _ in range(300):  # until the deliverer has marked it (up to 15 s)
                event = (await api.get(f"/api/v1/parcels/{barcode}")).json()["upstream"][0]
                if event["state"] != "pending":
                    break
                await asyncio.sleep(0.05)
    assert tms.stats()["received"] == 6
    assert event["state"] == "delivered" and event["attempts"] == 1
    assert event["delivered"].endswith("Z") and event["last_error"] is None
