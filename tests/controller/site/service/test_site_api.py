"""The site API over a real PostgreSQL filled by INSERTs in the relay's shape."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from controller.site.service import Site
from controller.site.service.errors import SiteStoreUnavailable
from tests.conftest import free_port
from tests.controller.site.service.conftest import SiteApi, as_url, open_site, site_config


async def test_parcel_lookup_across_lines(site_api: SiteApi) -> None:
    r = await site_api.get("/api/v1/parcels/BC-1")
    assert r.status_code == 200, r.text
    parcels = r.json()["parcels"]
    # Newest first: south's lost parcel (30 s ago) before north's sorted one (60 s ago).
    assert [(p["line"], p["state"]) for p in parcels] == [("south", "lost"), ("north", "sorted")]
    north = parcels[1]
    assert north["chute"] == 3 and north["route"] == "R01" and north["weight_kg"] == 1.5
    assert [e["kind"] for e in north["events"]] == ["inducted", "terminal"]
    assert north["events"][1]["detail"] == {"n": 1}
    missing = await site_api.get("/api/v1/parcels/NOPE")
    assert missing.status_code == 404
    assert "NOPE" in missing.json()["detail"]


async def test_counters_per_line_and_site(site_api: SiteApi) -> None:
    r = await site_api.get("/api/v1/counters")
    assert r.status_code == 200, r.text
    body = r.json()
    north, south = body["lines"]["north"], body["lines"]["south"]
    assert north["states"] == {"sorted": 1, "rejected": 1, "assigned": 1}
    assert north["terminal"] == 2 and north["last_hour"] == 1  # the reject was 7000 s ago
    assert south["terminal"] == 2 and south["last_hour"] == 2
    assert body["site"]["terminal"] == north["terminal"] + south["terminal"]
    assert body["site"]["states"]["sorted"] == 2
    assert north["relay"]["events"]["position"] == 31
    # A line's relay age is its freshest stream's: north's events 2 s ago (trucks 40 s).
    assert 2 <= north["relay_age_s"] < south["relay_age_s"] - 9
    assert south["relay_age_s"] >= 12
    # The HMI and metrics share one count up to max_age_s old; the API counts afresh.
    store = site_api.site.store
    shared = await store.counters(max_age_s=60)
    assert await store.counters(max_age_s=60) is shared
    assert await store.counters() is not shared


async def test_trucks_and_lines(site_api: SiteApi) -> None:
    trucks = (await site_api.get("/api/v1/trucks")).json()
    assert [(t["line"], t["truck"]) for t in trucks] == [("south", "T02"), ("north", "T01")]
    one = (await site_api.get("/api/v1/trucks", params={"truck": "T01"})).json()
    assert [t["summary"] for t in one] == [{"parcels": 12}]
    lines = (await site_api.get("/api/v1/lines")).json()
    assert [ln["line"] for ln in lines] == ["north", "south"]
    assert lines[0]["hmi_url"] == "http://127.0.0.1:1/hmi"
    assert lines[0]["status"]["reachable"] is False  # never polled yet
    assert lines[0]["relay_age_s"] >= 5 and lines[0]["store_error"] is None


async def test_tokens_and_roles(site_api: SiteApi) -> None:
    no_token = await site_api.client.get("/api/v1/counters")
    assert no_token.status_code == 401
    assert no_token.headers["www-authenticate"] == "Bearer"
    wrong = await site_api.client.get(
        "/api/v1/counters", headers={"Authorization": "Bearer lst_00000000_" + "x" * 40}
    )
    assert wrong.status_code == 401
    viewer_push = await site_api.client.post(
        "/api/v1/manifest",
        content=b'[{"barcode": "A", "route": "R01"}]',
        headers={**site_api.auth("viewer"), "Content-Type": "application/json"},
    )
    assert viewer_push.status_code == 403
    assert "viewer" in viewer_push.json()["detail"]
    assert (await site_api.client.get("/health")).status_code == 200


async def test_metrics(site_api: SiteApi) -> None:
    r = await site_api.get("/metrics")
    assert r.status_code == 200
    text = r.text
    assert "lanesort_site_postgres_up 1.0" in text
    assert 'lanesort_site_parcels_total{line="north",state="sorted"} 1.0' in text
    assert 'lanesort_site_parcels_total{line="south",state="lost"} 1.0' in text
    assert 'lanesort_site_parcels_last_hour{line="north"} 1.0' in text
    assert 'lanesort_site_relay_age_seconds{line="south"}' in text
    assert 'lanesort_site_line_reachable{line="north"} 0.0' in text


async def test_postgres_down_answers_503(tmp_path: Path) -> None:
    """No PostgreSQL at the configured address: the store's reads answer 503 naming it;
    /lines and /metrics still answer."""
    port = free_port()
    url = f"postgresql://lanesort@127.0.0.1:{port}/lanesort"
    api = await open_site(site_config(url), {"SITE_PG_PW": "secret-pw"}, tmp_path)
    try:
        down = await api.get("/api/v1/counters")
        assert down.status_code == 503
        assert down.headers["content-type"] == "application/problem+json"
        detail = down.json()["detail"]
        assert f"site store (PostgreSQL at 127.0.0.1:{port}/lanesort) is unavailable" in detail
        assert "secret-pw" not in detail
        assert (await api.get("/api/v1/parcels/BC-1")).status_code == 503
        assert (await api.get("/api/v1/trucks")).status_code == 503
        assert (await api.client.get("/ready")).status_code == 503
        lines = await api.get("/api/v1/lines")
        assert lines.status_code == 200
        assert "unavailable" in lines.json()[0]["store_error"]
        metrics = await api.get("/metrics")
        assert metrics.status_code == 200
        assert "lanesort_site_postgres_up 0.0" in metrics.text
    finally:
        await api.client.aclose()
        await api.site.store.close()


async def test_a_dropped_connection_is_reopened(site_api: SiteApi, postgres_database: str) -> None:
    """The server ends the site's session (as a restart does): the next read reconnects."""
    assert (await site_api.get("/api/v1/counters")).status_code == 200
    dbname = dict(p.split("=", 1) for p in postgres_database.split())["dbname"]
    with psycopg.connect(postgres_database, autocommit=True) as conn:
        ended = conn.execute(
            "SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = %s AND pid <> pg_backend_pid()) t",
            (dbname,),
        ).fetchone()
    assert ended == (1,)
    again = await site_api.get("/api/v1/counters")
    assert again.status_code == 200, again.text
    assert again.json()["site"]["terminal"] == 4
    assert site_api.site.store.up


async def test_the_site_makes_the_schema_and_answers_before_any_line_relayed(
    postgres_database: str, tmp_path: Path
) -> None:
    url, password = as_url(postgres_database)
    site = Site.from_config(site_config(url), env={"SITE_PG_PW": password}, data_dir=tmp_path)
    try:
        with pytest.raises(SiteStoreUnavailable, match="parcel_state_counts"):
            await site.store.counters()  # an empty database: no tables yet
        await site.store.prepare_schema()
        counters = await site.store.counters()
        assert counters["lines"] == {} and counters["site"]["terminal"] == 0
        await site.store.prepare_schema()  # again: nothing to do, no error
    finally:
        await site.store.close()
