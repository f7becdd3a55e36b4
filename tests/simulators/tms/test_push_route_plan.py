"""The TMS pushing a route plan to LaneSort: PUT, path, bearer token, JSON body, errors.

LaneSort's API is played by a tiny aiohttp app on loopback that records what it received.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web

from plc_configs.route_plan import RoutePlanSimulation
from simulators.route_plan import generate_route_plan
from simulators.tms import RoutePlanPushError, push_route_plan

TOKEN = "tok-456"


@pytest.fixture
async def fake_api() -> AsyncIterator[tuple[str, list[dict[str, Any]]]]:
    received: list[dict[str, Any]] = []

    async def route_plan(request: web.Request) -> web.Response:
        body = await request.read()
        received.append(
            {
                "method": request.method,
                "path": request.path,
                "authorization": request.headers.get("Authorization"),
                "content_type": request.content_type,
                "body": body,
            }
        )
        plan = json.loads(body)
        if not plan["routes"]:
            return web.json_response({"detail": "routes: at least one"}, status=422)
        return web.json_response({"trucks": len(plan["trucks"]), "routes": len(plan["routes"])})

    app = web.Application()
    app.router.add_route("*", "/api/v1/route-plan", route_plan)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    port = runner.addresses[0][1]
    try:
        yield f"http://127.0.0.1:{port}/", received
    finally:
        await runner.cleanup()


async def test_push_route_plan_puts_json_with_bearer_token(fake_api):
    url, received = fake_api
    plan = generate_route_plan(RoutePlanSimulation(), 1).as_tms_json()
    answer = await push_route_plan(url, TOKEN, plan)
    assert answer == {"trucks": 6, "routes": 24}
    [request] = received
    assert (request["method"], request["path"]) == ("PUT", "/api/v1/route-plan")
    assert request["authorization"] == f"Bearer {TOKEN}"
    assert request["content_type"] == "application/json"
    assert json.loads(request["body"]) == plan


async def test_push_route_plan_422_raises_with_status_and_body(fake_api):
    url, _ = fake_api
    with pytest.raises(RoutePlanPushError) as info:
        await push_route_plan(url, TOKEN, {"trucks": [], "routes": []})
    assert info.value.status == 422
    assert json.loads(info.value.body) == {"detail": "routes: at least one"}
    assert info.value.url.endswith("/api/v1/route-plan")
    assert "HTTP 422" in str(info.value) and "at least one" in str(info.value)
