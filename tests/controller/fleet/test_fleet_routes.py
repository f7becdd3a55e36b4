"""The fleet's REST API: create a task (roles, 422 and 409 naming the field), read it,
cancel it (supervisor, audited)."""

from __future__ import annotations

import types

import httpx
from fastapi import FastAPI

from controller.alarms.board import AlarmBoard
from controller.api import problems, routes_fleet
from controller.auth.audit import AuditLog
from controller.auth.tokens import TokenStore
from controller.fleet.service import FleetService
from controller.journal.writer import Journal
from drivers.mqtt.link import MqttLink
from drivers.vda5050.fleet_link import FleetLink
from tests.controller.fleet.conftest import fleet_section


async def test_create_read_and_cancel_a_task_through_the_api(tmp_path):
    fleet = fleet_section()
    journal = Journal(tmp_path / "j.sqlite", "api")
    audited: list = []
    audit = AuditLog(audited.append, journal.path, lambda: 0.0)
    link = FleetLink(fleet, MqttLink("fleet", fleet.mqtt, client_id="api-test"))
    service = FleetService(fleet, journal, AlarmBoard(), audit, link)
    await journal.open()
    store = TokenStore(tmp_path / "tokens.sqlite")
    tokens = {r: store.create(f"{r}-1", r) for r in ("tms", "supervisor", "viewer")}
    app = FastAPI()
    app.state.line = types.SimpleNamespace(fleet=service, audit=audit)
    app.state.tokens = store
    problems.install(app)
    app.include_router(routes_fleet.router)

    def auth(role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {tokens[role]}"}

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://lanesort") as client:
        body = {"container": "W1-C0007", "from": "wall-W1", "to": "door-D01"}
        assert (
            await client.post("/api/v1/fleet/tasks", json=body, headers=auth("viewer"))
        ).status_code == 403
        created = await client.post("/api/v1/fleet/tasks", json=body, headers=auth("tms"))
        assert created.status_code == 201 and created.json()["state"] == "queued"
        again = await client.post("/api/v1/fleet/tasks", json=body, headers=auth("tms"))
        assert again.status_code == 409 and again.json()["errors"][0]["field"] == "body.container"
        bad = await client.post(
            "/api/v1/fleet/tasks",
            json={**body, "container": "X", "to": "door-D99"},
            headers=auth("tms"),
        )
        assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "body.to"
        task_id = created.json()["id"]
        one = await client.get(f"/api/v1/fleet/tasks/{task_id}", headers=auth("viewer"))
        assert one.json()["location"]["text"] == "at station wall-W1"
        refused = await client.post(
            f"/api/v1/fleet/tasks/{task_id}/cancel", json={"reason": "no"}, headers=auth("tms")
        )
        assert refused.status_code == 403
        cancelled = await client.post(
            f"/api/v1/fleet/tasks/{task_id}/cancel",
            json={"reason": "truck gone"},
            headers=auth("supervisor"),
        )
        assert cancelled.status_code == 200 and cancelled.json()["state"] == "cancelled"
        snapshot = (await client.get("/api/v1/fleet", headers=auth("viewer"))).json()
        assert snapshot["counters"]["cancelled"] == 1 and len(snapshot["vehicles"]) == 4
    assert [e.action for e in audited] == ["fleet.task.create", "fleet.task.cancel"]
    await journal.close()
