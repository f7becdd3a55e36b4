"""PUT/GET /api/v1/route-plan, its history and the manifest checked against it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest

from controller.api.app import create_app
from controller.auth.tokens import TokenStore
from controller.line.controller import LineController
from controller.manifest import ManifestRow
from tests.controller.api.conftest import Api
from tests.controller.line.helpers import (
    executing,
    line_config,
    pointed_at,
    running,
    simulated_line,
    until,
)
from tests.controller.routeplan.plans import DOORS, plan_body

URL = "/api/v1/route-plan"


@pytest.fixture
async def api(tmp_path) -> AsyncIterator[Api]:
    """The test line with four dock doors, its API and one token per role."""
    doors = [{"id": d, "position_mm": 600 + 100 * i} for i, d in enumerate(DOORS)]
    config = line_config(simulation={"parcels": 6}, api={"port": 0}, topology={"doors": doors})
    async with simulated_line(config, tmp_path) as sim:
        line = LineController(pointed_at(config, sim), tmp_path)
        store = TokenStore(tmp_path / "tokens.sqlite")
        tokens = {role: store.create(f"{role}-1", role) for role in ("tms", "supervisor", "viewer")}
        transport = httpx.ASGITransport(app=create_app(line, store))
        async with (
            running(line),
            httpx.AsyncClient(transport=transport, base_url="http://lanesort") as client,
        ):
            await until(lambda: executing(line))
            yield Api(client, tokens, line, sim)


async def test_before_the_first_plan_the_route_plan_is_empty(api):
    response = await api.get(URL)
    assert response.status_code == 200
    assert response.json() == {
        "version": 0,
        "time": None,
        "actor": "",
        "reason": None,
        "trucks": [],
        "routes": [],
    }


async def test_a_good_plan_is_stored_and_read_back(api):
    body = {**plan_body(), "reason": "morning wave", "expected_version": 0}
    response = await api.send("PUT", URL, "tms", json=body)
    assert response.status_code == 200, response.text
    stored = response.json()
    assert stored["version"] == 1 and stored["actor"] == "tms-1"
    assert stored["reason"] == "morning wave" and stored["time"].endswith("Z")
    assert stored["trucks"][0]["arrival"] == "2026-12-04T06:00:00Z"
    assert [r["id"] for r in stored["routes"]] == ["R001", "R017"]
    assert (await api.get(URL)).json() == stored
    assert api.line.route_plan.active.truck_of("R017") == "T01"


async def test_a_bad_plan_lists_every_field_and_changes_nothing(api):
    await api.send("PUT", URL, "tms", json=plan_body())
    before = (await api.get(URL)).json()
    body = plan_body()
    body["trucks"][0]["door"] = "D09"
    body["routes"][1]["truck"] = "T99"
    body["routes"][0]["stops"][2]["sequence"] = 1
    body["reason"] = 42
    response = await api.send("PUT", URL, "tms", json=body)
    assert response.status_code == 422
    problem = response.json()
    assert (
        problem["type"].endswith("/invalid-route-plan") and "nothing changed" in problem["detail"]
    )
    errors = {e["field"]: e["reason"] for e in problem["errors"]}
    assert set(errors) == {
        "body.trucks.0.door",
        "body.routes.R017.truck",
        "body.routes.R001.stops.2.sequence",
        "body.reason",
    }
    assert (
        "door D09 is not a dock door of this line (D01, D02, D03, D04)"
        in errors["body.trucks.0.door"]
    )
    assert (await api.get(URL)).json() == before


async def test_a_stale_expected_version_is_409(api):
    await api.send("PUT", URL, "tms", json=plan_body())
    response = await api.send("PUT", URL, "tms", json={**plan_body(), "expected_version": 0})
    assert response.status_code == 409
    assert "at version 1, not 0" in response.json()["detail"]
    assert api.line.route_plan.active.version == 1


@pytest.mark.parametrize("role", ["viewer", "supervisor"])
async def test_only_the_tms_sends_the_route_plan(api, role):
    response = await api.send("PUT", URL, role, json=plan_body())
    assert response.status_code == 403
    assert api.line.route_plan.active.version == 0


async def test_history_is_newest_first_with_who_why_and_counts(api):
    await api.send("PUT", URL, "tms", json={**plan_body(), "reason": "first"})
    smaller = plan_body()
    del smaller["routes"][1]
    await api.send("PUT", URL, "tms", json={**smaller, "reason": "R017 cancelled"})
    history = (await api.get(f"{URL}/history")).json()
    assert [(v["version"], v["reason"], v["routes"], v["stops"]) for v in history] == [
        (2, "R017 cancelled", 1, 3),
        (1, "first", 2, 4),
    ]
    assert history[0]["actor"] == "tms-1" and history[0]["role"] == "tms"
    assert history[0]["trucks"] == 2
    older = (await api.get(f"{URL}/history", params={"before": 2})).json()
    assert [v["version"] for v in older] == [1]


async def test_manifest_check_reports_unknown_routes_and_stops(api):
    await api.send("PUT", URL, "tms", json=plan_body())
    rows = [
        ManifestRow("RP-1", "R001", 1),  # a known stop
        ManifestRow("RP-2", "R001", 9),  # R001 has no stop 9
        ManifestRow("RP-3", "R001", 9),
        ManifestRow("RP-4", "R001"),  # no stop given: not checked
        ManifestRow("RP-5", "R404", 1),  # no such route
    ]
    await asyncio.to_thread(api.line.manifest.upsert, rows)
    response = await api.get(f"{URL}/manifest-check")
    assert response.status_code == 200
    check = response.json()
    assert check["route_plan_version"] == 1
    assert check["rows"] == len(api.line.manifest)
    assert check["unknown_stops"] == [{"route": "R001", "stop_sequence": 9, "parcels": 2}]
    unknown = {u["route"]: u["parcels"] for u in check["unknown_routes"]}
    assert unknown["R404"] == 1 and "R001" not in unknown
    assert sum(unknown.values()) == check["rows"] - 4  # every row but R001's four
