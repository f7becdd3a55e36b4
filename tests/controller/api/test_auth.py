"""Every endpoint needs a token of the right role; health and readiness need none."""

import pytest

from tests.controller.line.helpers import until

# (method, path, json body, roles allowed)
ENDPOINTS = [
    ("GET", "/api/v1/line", None, {"tms", "supervisor", "viewer"}),
    ("GET", "/api/v1/chutes", None, {"tms", "supervisor", "viewer"}),
    ("GET", "/api/v1/alarms", None, {"tms", "supervisor", "viewer"}),
    ("GET", "/api/v1/alarms/history", None, {"tms", "supervisor", "viewer"}),
    ("POST", "/api/v1/alarms/no:such/ack", None, {"supervisor"}),
    ("POST", "/api/v1/alarms/no:such/shelve", {"minutes": 10}, {"supervisor"}),
    ("DELETE", "/api/v1/alarms/no:such/shelve", None, {"supervisor"}),
    ("GET", "/api/v1/sort-plan", None, {"tms", "supervisor", "viewer"}),
    ("GET", "/api/v1/sort-plan/history", None, {"tms", "supervisor", "viewer"}),
    ("GET", "/api/v1/routes", None, {"tms", "supervisor", "viewer"}),
    ("GET", "/api/v1/manifest", None, {"tms", "supervisor", "viewer"}),
    ("GET", "/api/v1/manifest/jobs", None, {"tms", "supervisor", "viewer"}),
    ("GET", "/api/v1/parcels", None, {"tms", "supervisor", "viewer"}),
    ("GET", "/api/v1/parcels/NOPE/images/0", None, {"tms", "supervisor", "viewer"}),
    ("GET", "/api/v1/upstream", None, {"tms", "supervisor", "viewer"}),
    ("GET", "/api/v1/upstream/events", None, {"tms", "supervisor", "viewer"}),
    ("GET", "/api/v1/audit", None, {"supervisor"}),
    ("GET", "/metrics", None, {"tms", "supervisor", "viewer"}),
    ("PATCH", "/api/v1/sort-plan", {"routes": {"A": [1]}}, {"tms"}),
    ("PUT", "/api/v1/sort-plan", {"routes": {"A": [1], "B": [2], "C": [3]}}, {"tms"}),
    ("POST", "/api/v1/manifest", [{"barcode": "X1", "route": "A"}], {"tms"}),
    ("DELETE", "/api/v1/manifest/NOPE", None, {"tms"}),
    ("PATCH", "/api/v1/chutes/2", {"enabled": True}, {"supervisor"}),
    ("POST", "/api/v1/chutes/2/close-out", {"reason": "auth test"}, {"supervisor"}),
    ("GET", "/api/v1/containers", None, {"tms", "supervisor", "viewer"}),
    ("GET", "/api/v1/reports/shift", None, {"tms", "supervisor", "viewer"}),
    ("GET", "/api/v1/line/throughput", None, {"tms", "supervisor", "viewer"}),
    ("POST", "/api/v1/line/commands", {"command": "stop"}, {"supervisor"}),
    ("POST", "/api/v1/upstream/replay", {"state": "dead"}, {"tms", "supervisor"}),
]


@pytest.mark.parametrize(("method", "path", "body", "allowed"), ENDPOINTS)
async def test_each_role_gets_in_where_it_may_and_403_elsewhere(api, method, path, body, allowed):
    for role in ("tms", "supervisor", "viewer"):
        response = await api.send(method, path, role, json=body)
        if role in allowed:
            assert response.status_code not in (401, 403), (role, response.text)
        else:
            assert response.status_code == 403, (role, response.text)
            problem = response.json()
            assert response.headers["content-type"] == "application/problem+json"
            assert f"has role {role}" in problem["detail"]


@pytest.mark.parametrize(("method", "path", "body", "allowed"), ENDPOINTS)
async def test_a_missing_or_wrong_token_is_401(api, method, path, body, allowed):
    response = await api.client.request(method, path, json=body)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    wrong = api.tokens["tms"][:-2] + "xx"
    response = await api.client.request(
        method, path, json=body, headers={"Authorization": f"Bearer {wrong}"}
    )
    assert response.status_code == 401
    assert "unknown, revoked or malformed" in response.json()["detail"]


async def test_health_and_readiness_need_no_token(api):
    assert (await api.client.get("/health")).json() == {"status": "ok"}
    await until(lambda: api.line.plc.link.up)
    ready = await api.client.get("/ready")
    assert ready.status_code == 200 and ready.json()["checks"]["plc_link"] is True


async def test_a_revoked_token_is_refused(api):
    store = api.client._transport.app.state.tokens  # the app's own store
    token = store.create("temp", "viewer")
    headers = {"Authorization": f"Bearer {token}"}
    assert (await api.client.get("/api/v1/line", headers=headers)).status_code == 200
    store.revoke("temp")
    assert (await api.client.get("/api/v1/line", headers=headers)).status_code == 401


async def test_the_docs_page_works_offline_and_the_spec_lists_every_area(api):
    page = (await api.client.get("/docs")).text
    assert "swagger-ui" in page and "cdn." not in page
    static = [part.split('"')[0] for part in page.split('src="')[1:]]
    assert static and all(src.startswith("/") for src in static)
    assert (await api.client.get(static[0])).status_code == 200
    spec = (await api.client.get("/openapi.json")).json()
    assert {"/api/v1/manifest", "/api/v1/sort-plan", "/api/v1/parcels/{barcode}"} <= set(
        spec["paths"]
    )
    assert spec["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
