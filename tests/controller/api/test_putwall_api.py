"""The put-wall and loading routes against a running line with a wall (lights, printer and
scanner over their real wires, :mod:`tests.controller.putwall.rig`), through httpx."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator

import httpx
import pytest

from controller.api.app import create_app
from controller.auth.tokens import TokenStore
from drivers.ptl.base import Colour
from tests.controller.api.conftest import Api
from tests.controller.line.helpers import until
from tests.controller.putwall.rig import Wall, lit, wall_rig


@pytest.fixture
async def rig(tmp_path) -> AsyncIterator[tuple[Api, Wall]]:
    async with wall_rig(tmp_path) as wall:
        store = TokenStore(tmp_path / "tokens.sqlite")
        tokens = {role: store.create(f"{role}-1", role) for role in ("tms", "supervisor", "viewer")}
        transport = httpx.ASGITransport(app=create_app(wall.line, store))
        async with httpx.AsyncClient(transport=transport, base_url="http://lanesort") as client:
            yield Api(client, tokens, wall.line, None), wall  # type: ignore[arg-type]


async def _audit(api: Api) -> list[tuple[str, str, str, bool]]:
    await api.line.journal.barrier()
    rows = await api.line.audit.query()
    return [(r["action"], r["target"], r["user"], bool(r["ok"])) for r in rows]


async def test_a_viewer_reads_walls_and_trucks_but_may_not_act(rig):
    api, _ = rig
    walls = (await api.get("/api/v1/put-walls")).json()
    assert [w["id"] for w in walls] == ["W1"]
    assert [c["id"] for c in walls[0]["cubbies"]] == ["W1-01", "W1-02", "W1-03", "W1-04"]
    assert walls[0]["link_up"] is True
    trucks = (await api.get("/api/v1/trucks")).json()
    assert {(t["truck"], t["door"], t["state"]) for t in trucks} == {
        ("T1", "D1", "loading"),
        ("T2", "D2", "loading"),
    }
    assert (await api.get("/api/v1/trucks/T1/load")).json()["door"] == "D1"
    assert (await api.get("/api/v1/put-walls/W1/events")).status_code == 200
    assert (await api.get("/api/v1/wall-containers")).json() == []
    for path, body in (
        ("/api/v1/put-walls/W1/cubbies/W1-01/close", None),
        ("/api/v1/put-walls/W1/cubbies/W1-01/reassign", {}),
        ("/api/v1/wall-containers/X/release", {"reason": "x"}),
        ("/api/v1/trucks/T1/close", {"reason": "x"}),
    ):
        refused = await api.send("POST", path, "viewer", json=body)
        assert refused.status_code == 403, (path, refused.text)
        assert "needs supervisor" in refused.json()["detail"]
    assert (await api.client.get("/api/v1/put-walls")).status_code == 401


async def test_unknown_things_are_404_and_bad_bodies_422(rig):
    api, _ = rig
    for method, path, role, body, words in (
        ("GET", "/api/v1/put-walls/W9/events", "viewer", None, "no put wall 'W9'"),
        ("POST", "/api/v1/put-walls/W9/scan", "viewer", {"code": "P1"}, "no put wall 'W9'"),
        ("POST", "/api/v1/put-walls/W9/cubbies/W1-01/close", "supervisor", None, "no put wall"),
        ("POST", "/api/v1/put-walls/W1/cubbies/Z9/close", "supervisor", None, "no cubby 'Z9'"),
        ("POST", "/api/v1/put-walls/W1/cubbies/Z9/reassign", "supervisor", {}, "no cubby 'Z9'"),
        ("POST", "/api/v1/wall-containers/C9/release", "supervisor", {"reason": "ok"}, "'C9'"),
        ("GET", "/api/v1/trucks/T9/load", "viewer", None, "no truck 'T9'"),
        ("GET", "/api/v1/trucks/T9/load-sheet", "viewer", None, "no truck 'T9'"),
        ("POST", "/api/v1/trucks/T9/close", "supervisor", {"reason": "x"}, "no truck 'T9'"),
        ("POST", "/api/v1/doors/D9/scan", "viewer", {"code": "P1"}, "no dock door 'D9'"),
    ):
        answer = await api.send(method, path, role, json=body)
        assert answer.status_code == 404, (path, answer.text)
        assert words in answer.json()["detail"], (path, answer.json())
    cubby = "/api/v1/put-walls/W1/cubbies/W1-01/reassign"
    for path, body, field in (
        ("/api/v1/put-walls/W1/scan", {}, "body.code"),
        ("/api/v1/put-walls/W1/scan", {"code": ""}, "body.code"),
        ("/api/v1/doors/D1/scan", {"code": "P1", "extra": 1}, "body.extra"),
        ("/api/v1/trucks/T1/close", {}, "body.reason"),
        (cubby, {"route": "A"}, "body.stop_sequence"),
        (cubby, {"route": "Z", "stop_sequence": 1}, "body.route"),
        (cubby, {"route": "A", "stop_sequence": 7}, "body.stop_sequence"),
    ):
        answer = await api.send("POST", path, "supervisor", json=body)
        assert answer.status_code == 422, (path, answer.text)
        assert field in [e["field"] for e in answer.json()["errors"]], answer.json()
    bad = await api.get("/api/v1/trucks/T1/load-sheet", params={"format": "xls"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "query.format"
    # refused supervisor actions are in the audit log too, marked refused
    audit = await _audit(api)
    assert ("cubby.close", "W1/Z9", "supervisor-1", False) in audit
    assert ("truck.close", "T9", "supervisor-1", False) in audit
    assert ("container.release", "C9", "supervisor-1", False) in audit


async def test_from_a_scan_to_a_loaded_truck(rig):
    api, wall = rig
    scanned = await api.send("POST", "/api/v1/put-walls/W1/scan", "viewer", json={"code": "P1"})
    assert scanned.status_code == 200, scanned.text
    (light,) = scanned.json()["lights"]
    assert light["colour"] == "green"
    node = await until(lambda: lit(wall.bank), 5)  # the simulator's module shows it
    assert node == light["node"] and wall.bank.modules[node].colour == Colour.GREEN.value
    walls = (await api.get("/api/v1/put-walls")).json()
    assert walls[0]["pending"] == {"parcel_id": "P1", "cubby": "W1-01"}
    wall.bank.press(node)
    await until(lambda: "P1" in api.line.putwall.units["W1"].wall.put, 5)
    stranger = await api.send("POST", "/api/v1/put-walls/W1/scan", "viewer", json={"code": "Q1"})
    assert stranger.json()["records"][0]["kind"] == "exception"
    assert "truck T2" in stranger.json()["records"][0]["reason"]

    empty = await api.send("POST", "/api/v1/put-walls/W1/cubbies/W1-02/close", "supervisor")
    assert empty.status_code == 409 and "holds no parcel" in empty.json()["detail"]
    closed = await api.send("POST", "/api/v1/put-walls/W1/cubbies/W1-01/close", "supervisor")
    assert closed.status_code == 200, closed.text
    container_id = closed.json()["container_id"]
    assert container_id

    async def container() -> dict | None:
        rows = (await api.get("/api/v1/wall-containers", params={"truck": "T1"})).json()
        return next((c for c in rows if c["id"] == container_id and c["state"] == "ok"), None)

    found = await until(container, 5)
    assert found["parcels"] == ["P1"] and found["cubby"] == "W1-01"  # P2 never came
    assert (await api.get("/api/v1/wall-containers", params={"truck": "T2"})).json() == []
    not_held = await api.send(
        "POST",
        f"/api/v1/wall-containers/{container_id}/release",
        "supervisor",
        json={"reason": "x"},
    )
    assert not_held.status_code == 409 and "not held" in not_held.json()["detail"]
    freed = await api.send(
        "POST", "/api/v1/put-walls/W1/cubbies/W1-03/reassign", "supervisor", json={}
    )
    assert freed.status_code == 200 and freed.json()["group"] is None

    sheet = await api.get("/api/v1/trucks/T1/load-sheet")
    assert sheet.status_code == 200 and sheet.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(sheet.text.lstrip("\ufeff"))))
    header = [h.lower() for h in rows[0]]
    assert any("container" in h or "unit" in h for h in header), header
    assert any(container_id in row for row in rows[1:]), rows
    pdf = await api.get("/api/v1/trucks/T1/load-sheet", params={"format": "pdf"})
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert 'filename="load-sheet-T1.pdf"' in pdf.headers["content-disposition"]

    wrong = await api.send("POST", "/api/v1/doors/D1/scan", "viewer", json={"code": "Q1"})
    assert wrong.json()["kind"] == "wrong_truck"
    loaded = await api.send("POST", "/api/v1/doors/D1/scan", "viewer", json={"code": container_id})
    assert loaded.json() == {
        "kind": "ok",
        "unit_id": container_id,
        "reason": loaded.json()["reason"],
    }
    load = (await api.get("/api/v1/trucks/T1/load")).json()
    assert [(r["unit_id"], r["state"]) for r in load["rows"]] == [(container_id, "loaded")]

    summary = await api.send(
        "POST", "/api/v1/trucks/T1/close", "supervisor", json={"reason": "departure"}
    )
    assert summary.status_code == 200, summary.text
    body = summary.json()
    assert body["truck"] == "T1" and body["door"] == "D1" and body["containers"] == 1
    assert body["outcomes"] == {"loaded": 1, "not_arrived": 2}
    assert "departure" in body["why"]
    load = (await api.get("/api/v1/trucks/T1/load")).json()
    assert load["state"] == "loaded" and load["summary"]["truck"] == "T1"
    again = await api.send("POST", "/api/v1/trucks/T1/close", "supervisor", json={"reason": "x"})
    assert again.status_code == 409 and "already reported loaded" in again.json()["detail"]
    gone = await api.send("POST", "/api/v1/doors/D1/scan", "viewer", json={"code": "P3"})
    assert gone.status_code == 409 and "no truck is loading at door D1" in gone.json()["detail"]

    audit = await _audit(api)
    for entry in (
        ("cubby.close", "W1/W1-01", "supervisor-1", True),
        ("cubby.reassign", "W1/W1-03", "supervisor-1", True),
        ("truck.close", "T1", "supervisor-1", True),
        ("cubby.close", "W1/W1-02", "supervisor-1", False),
        ("container.release", container_id, "supervisor-1", False),
        ("truck.close", "T1", "supervisor-1", False),
    ):
        assert entry in audit, (entry, audit)
