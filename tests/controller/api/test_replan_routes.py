"""The proposal API on a running line: a route plan, a fresh proposal, apply, discard."""

from collections.abc import AsyncIterator

import httpx
import pytest

from controller.api.app import create_app
from controller.auth.tokens import TokenStore
from controller.line.controller import LineController
from tests.controller.api.conftest import Api
from tests.controller.line.helpers import (
    executing,
    line_config,
    pointed_at,
    running,
    simulated_line,
    until,
)

ROUTE_PLAN = {
    "trucks": [{"id": "T1", "door": "D1"}],
    "routes": [
        {"id": r, "truck": "T1", "stops": [{"sequence": 1, "consignee": f"C-{r}"}]}
        for r in ("A", "B", "C")
    ],
}


@pytest.fixture
async def api(tmp_path) -> AsyncIterator[Api]:
    config = line_config(
        simulation={"parcels": 1}, topology={"doors": [{"id": "D1", "position_mm": 900}]}
    )
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
            await line.replanner.worker.close()


async def test_no_route_plan_no_proposal(api):
    assert (await api.get("/api/v1/sort-plan/proposal")).status_code == 404
    response = await api.send("POST", "/api/v1/sort-plan/proposal", "supervisor")
    assert response.status_code == 422
    assert "no route plan yet" in response.json()["detail"]


async def test_a_route_plan_is_proposed_fresh_then_applied_by_a_supervisor(api):
    await api.line.route_plan.replace(ROUTE_PLAN, "tms-1", "tms")
    proposal = await until(lambda: api.line.replanner.proposal, within=60)  # the route plan's
    assert proposal.mode == "fresh" and proposal.state == "pending"
    body = (await api.get("/api/v1/sort-plan/proposal")).json()
    assert body["policy"] == "manual" and body["id"] == proposal.id
    assert set(body["plan"]) == {"A", "B", "C"} and body["figures"]["status"] != "fallback"
    viewer = await api.send("POST", f"/api/v1/sort-plan/proposal/{proposal.id}/apply", "viewer")
    assert viewer.status_code == 403
    version_before = api.line.plan.version
    applied = await api.send(
        "POST", f"/api/v1/sort-plan/proposal/{proposal.id}/apply", "supervisor"
    )
    assert applied.status_code == 200, applied.text
    assert applied.json()["version"] == version_before + 1
    assert api.line.plan.as_dict() == body["plan"]
    history = (await api.get("/api/v1/sort-plan/history")).json()
    assert history[0]["action"] == "replan" and history[0]["actor"] == "supervisor-1"
    again = await api.send("POST", f"/api/v1/sort-plan/proposal/{proposal.id}/apply", "supervisor")
    assert again.status_code == 409 and "applied" in again.json()["detail"]
    audit = (await api.get("/api/v1/audit", "supervisor", params={"action": "plan.apply"})).json()
    assert [(a["ok"], a["target"]) for a in audit] == [
        (False, f"proposal {proposal.id}"),
        (True, f"proposal {proposal.id}"),
    ]


async def test_a_requested_proposal_is_discarded_and_the_plan_stays(api):
    await api.line.route_plan.replace(ROUTE_PLAN, "tms-1", "tms")
    first = await until(lambda: api.line.replanner.proposal, within=60)
    response = await api.send("POST", "/api/v1/sort-plan/proposal", "tms", params={"fresh": True})
    assert response.status_code == 200, response.text
    second = response.json()
    assert second["id"] == first.id + 1 and second["trigger"] == "requested by tms-1"
    stale = await api.send("POST", f"/api/v1/sort-plan/proposal/{first.id}/discard", "tms")
    assert stale.status_code == 404
    plan = api.line.plan.as_dict()
    gone = await api.send("POST", f"/api/v1/sort-plan/proposal/{second['id']}/discard", "tms")
    assert gone.status_code == 200 and gone.json()["state"] == "discarded"
    assert api.line.plan.as_dict() == plan
