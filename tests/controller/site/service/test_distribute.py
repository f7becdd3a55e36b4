"""Manifests and route plans through the site to a real line's API over HTTP, and to a
small stub line that is down at first (its parts wait, then go in order on retry)."""

from __future__ import annotations

import asyncio
import contextlib
import csv
import io
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI, Request

from controller.alarms.board import Severity
from controller.api.app import create_app
from controller.auth.tokens import TokenStore
from controller.cli.serve import bind, serve
from controller.line.controller import LineController
from controller.site.service import Site
from tests.conftest import free_port
from tests.controller.line.helpers import (
    executing,
    line_config,
    pointed_at,
    running,
    simulated_line,
    until,
)
from tests.controller.routeplan.plans import DOORS, plan_body
from tests.controller.site.service.conftest import SiteApi, open_site, site_config


@contextlib.asynccontextmanager
async def served(app: FastAPI, port: int) -> AsyncIterator[str]:
    """``app`` on a real socket (uvicorn) for the block; its base URL."""
    task = asyncio.create_task(serve(app, bind("127.0.0.1", port)))
    await _wait_up(port)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def _wait_up(port: int) -> None:
    for _ in range(500):
        with contextlib.suppress(OSError):
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"nothing listens on {port}")


def stub_line(received: list[dict[str, Any]]) -> FastAPI:
    """A line API that takes everything and notes what it got."""
    app = FastAPI()

    @app.post("/api/v1/manifest")
    @app.put("/api/v1/route-plan")
    async def take(request: Request) -> dict[str, Any]:
        received.append(
            {
                "path": request.url.path,
                "query": dict(request.query_params),
                "auth": request.headers.get("authorization"),
                "type": request.headers.get("content-type"),
                "body": (await request.body()).decode(),
            }
        )
        return {"state": "done"}

    @app.get("/api/v1/line")
    async def state() -> dict[str, Any]:
        return {"packml_state": "Execute", "active_alarms": 2}

    return app


@pytest.fixture
async def hub(tmp_path: Path) -> AsyncIterator[tuple[SiteApi, LineController, int]]:
    """The site with a real line ``north`` (its API served on a socket) and ``south`` at a
    port where nothing listens yet; the site store is not needed here."""
    doors = [{"id": d, "position_mm": 600 + 100 * i} for i, d in enumerate(DOORS)]
    config = line_config(simulation={"parcels": 4}, api={"port": 0}, topology={"doors": doors})
    north_port, south_port = free_port(), free_port()
    async with simulated_line(config, tmp_path) as sim:
        line = LineController(pointed_at(config, sim), tmp_path / "north")
        store = TokenStore(tmp_path / "north-tokens.sqlite")
        north_token = store.create("site", "tms")
        async with running(line), served(create_app(line, store), north_port) as north_url:
            await until(lambda: executing(line))
            lines = {
                "north": {"api_url": north_url, "token_env": "NORTH_TOKEN", "timeout_s": 5},
                "south": {
                    "api_url": f"http://127.0.0.1:{south_port}",
                    "token_env": "SOUTH_TOKEN",
                    "timeout_s": 1,
                },
            }
            routes = {"map": {"R001": "north", "R017": "north"}, "prefixes": {"S": "south"}}
            env = {"NORTH_TOKEN": north_token, "SOUTH_TOKEN": "lst_south"}
            api = await open_site(site_config(lines=lines, routes=routes), env, tmp_path)
            try:
                yield api, line, south_port
            finally:
                await api.client.aclose()
                await api.site.distributor.close()
                await api.site.watcher.close()


async def test_parts_go_to_their_lines_and_wait_for_a_line_that_is_down(hub) -> None:
    api, line, south_port = hub
    tms = {**api.auth("tms")}
    manifest = "barcode,route,stop_sequence\nN1,R001,1\nS1,S5,\nN2,R017,0\nU1,Z9,\nU2,Z9,\n"
    r = await api.client.post(
        "/api/v1/manifest", content=manifest, headers={**tms, "Content-Type": "text/csv"}
    )
    assert r.status_code == 207, r.text
    body = r.json()
    assert body["complete"] is False and body["rows"] == 5
    north, south = body["lines"]["north"], body["lines"]["south"]
    assert north["status"] == "accepted" and north["rows"] == 2
    assert north["answer"]["rows_loaded"] == 2
    assert south["status"] == "pending" and south["pending"] == 1
    assert f"line south unreachable at http://127.0.0.1:{south_port}" in south["detail"]
    assert body["unassigned"] == {"rows": 2, "routes": {"Z9": 2}}
    record = await asyncio.to_thread(line.manifest.record, "N2")
    assert record is not None and record.route == "R017" and record.stop_sequence == 0
    assert await asyncio.to_thread(line.manifest.record, "S1") is None

    plan = plan_body()
    plan["routes"].append({"id": "S5", "truck": "T09", "stops": []})
    plan["trucks"].append({"id": "T09", "door": "D02"})
    r = await api.client.put("/api/v1/route-plan", json={**plan, "reason": "wave"}, headers=tms)
    assert r.status_code == 207, r.text
    body = r.json()
    assert body["lines"]["north"]["status"] == "accepted"
    assert body["lines"]["north"]["answer"]["version"] == 1
    assert [r["id"] for r in body["lines"]["north"]["answer"]["routes"]] == ["R001", "R017"]
    assert body["lines"]["south"]["status"] == "pending"
    assert body["unassigned"] == {"routes": [], "trucks": ["T02"]}
    waiting = (await api.get("/api/v1/distribution")).json()["pending"]
    assert [p["kind"] for p in waiting["south"]] == ["manifest", "route-plan"]
    assert waiting["north"] == []

    received: list[dict[str, Any]] = []
    async with served(stub_line(received), south_port):
        r = await api.client.post("/api/v1/distribution/retry", headers=tms)
        assert r.status_code == 200, r.text
        assert r.json()["lines"]["south"]["status"] == "accepted"
        assert r.json()["pending"]["south"] == []
        # In order: the manifest first, then the plan; CSV stays CSV with its header.
        assert [x["path"] for x in received] == ["/api/v1/manifest", "/api/v1/route-plan"]
        assert received[0]["auth"] == "Bearer lst_south"
        assert received[0]["type"] == "text/csv"
        assert received[0]["query"] == {"partial": "false", "wait_s": "1"}
        assert list(csv.reader(io.StringIO(received[0]["body"]))) == [
            ["barcode", "route", "stop_sequence"],
            ["S1", "S5", ""],
        ]
        south_plan = json.loads(received[1]["body"])
        assert [r["id"] for r in south_plan["routes"]] == ["S5"]
        assert [t["id"] for t in south_plan["trucks"]] == ["T09"]
        assert south_plan["reason"] == "wave"

        critical = Severity.CRITICAL
        line.alarms.raise_(
            "jam:north", "jam at the induction", line.clock(), device="plc", severity=critical
        )
        await api.site.watcher.poll_once()
        lines = {x["line"]: x for x in (await api.get("/api/v1/lines")).json()}
        jam = [a for a in lines["north"]["status"]["alarms"] if a["key"] == "jam:north"]
        assert [(a["severity"], a["device"], a["text"]) for a in jam] == [
            ("critical", "plc", "jam at the induction")
        ]
        assert lines["north"]["status"]["active_alarms"] == len(lines["north"]["status"]["alarms"])
        assert lines["south"]["status"]["packml_state"] == "Execute"
        assert lines["south"]["status"]["active_alarms"] == 2
        assert lines["north"]["status"]["reachable"] is True
        assert lines["north"]["status"]["packml_state"] == "Execute"
        # Keep-alive connections closed first, so the stub stops without waiting for them.
        await api.site.distributor.close()
        await api.site.watcher.close()


async def test_a_line_that_refuses_says_why_and_nothing_waits(hub) -> None:
    api, _line, _port = hub
    plan = plan_body()
    plan["trucks"][0]["door"] = "D99"
    r = await api.client.put("/api/v1/route-plan", json=plan, headers=api.auth("tms"))
    assert r.status_code == 207
    north = r.json()["lines"]["north"]
    assert north["status"] == "refused" and north["http_status"] == 422
    assert north["detail"].startswith("line north refused it (422): the route plan is invalid")
    assert any("D99" in e["reason"] for e in north["answer"]["errors"])
    assert (await api.get("/api/v1/distribution")).json()["pending"]["north"] == []
    # A line without its token configured is refused by the site itself, naming the variable.
    api.site.distributor.env = {}
    r = await api.client.post(
        "/api/v1/manifest",
        content=b'{"barcode": "A", "route": "R001"}\n',
        headers={**api.auth("tms"), "Content-Type": "application/x-ndjson"},
    )
    north = r.json()["lines"]["north"]
    assert north["status"] == "refused"
    assert "set the environment variable NORTH_TOKEN" in north["detail"]
    bad = await api.client.post(
        "/api/v1/manifest",
        content=b'{"barcode": "A"}\n',
        headers={**api.auth("tms"), "Content-Type": "application/x-ndjson"},
    )
    assert bad.status_code == 422
    assert bad.json()["errors"] == [{"field": "line 1.route", "reason": "a route is needed (text)"}]


async def test_a_pending_part_outlives_a_site_restart(hub, tmp_path: Path) -> None:
    """Kept on disk before the answer says pending: a site started again sends it on."""
    api, _line, south_port = hub
    manifest = "barcode,route,stop_sequence\nS1,S5,\nS2,S5,\n"
    headers = {**api.auth("tms"), "Content-Type": "text/csv"}
    r = await api.client.post("/api/v1/manifest", content=manifest, headers=headers)
    assert r.json()["lines"]["south"]["status"] == "pending"
    # the site service stops, and starts again on the same data folder
    env = dict(api.site.distributor.env)
    await api.site.distributor.close()
    assert api.site.distributor.kept is not None
    api.site.distributor.kept.close()
    again = Site.from_config(api.site.config, env=env, data_dir=tmp_path)
    try:
        [kept] = again.distributor.pending()["south"]
        assert (kept["kind"], kept["rows"], kept["attempts"]) == ("manifest", 2, 1)
        assert f"127.0.0.1:{south_port}" in kept["last_error"]
        received: list[dict[str, Any]] = []
        async with served(stub_line(received), south_port):
            results = await again.distributor.retry()
        assert results["south"].status == "accepted"
        assert list(csv.reader(io.StringIO(received[0]["body"]))) == [
            ["barcode", "route", "stop_sequence"], ["S1", "S5", ""], ["S2", "S5", ""],
        ]  # fmt: skip
        assert again.distributor.pending()["south"] == []
    finally:
        await again.distributor.close()
        assert again.distributor.kept is not None
        again.distributor.kept.close()
    third = Site.from_config(api.site.config, env=env, data_dir=tmp_path)
    assert third.distributor.pending() == {"north": [], "south": []}  # delivered: forgotten
    assert third.distributor.kept is not None
    third.distributor.kept.close()
