async def test_the_active_plan_and_a_patch_with_audit(api):
    plan = (await api.get("/api/v1/sort-plan")).json()
    assert plan["routes"] == {"A": [1], "B": [2], "C": [3]} and plan["reject_chute"] == 9
    response = await api.send(
        "PATCH",
        "/api/v1/sort-plan",
        "tms",
        json={
            "routes": {"C": None, "B": [2, 3]},
            "reason": "C merged into B",
            "expected_version": plan["version"],
        },
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["routes"] == {"A": [1], "B": [2, 3]} and body["version"] == plan["version"] + 1
    assert api.line.plan.chutes_of("B") == (2, 3)
    history = (await api.get("/api/v1/sort-plan/history")).json()
    assert history[0]["actor"] == "tms-1" and history[0]["reason"] == "C merged into B"
    assert history[0]["change"] == {
        "B": {"before": [2], "after": [2, 3]},
        "C": {"before": [3], "after": None},
    }


async def test_an_invalid_plan_lists_every_problem_and_changes_nothing(api):
    response = await api.send(
        "PUT", "/api/v1/sort-plan", "tms", json={"routes": {"A": [1, 99], "B": [9], "C": [1]}}
    )
    assert response.status_code == 422
    errors = {e["field"]: e["reason"] for e in response.json()["errors"]}
    assert "not a sort chute" in errors["body.routes.A.1"]
    assert "reject chute" in errors["body.routes.B.0"]
    assert "already bound to route A" in errors["body.routes.C.0"]
    assert api.line.plan.as_dict() == {"A": [1], "B": [2], "C": [3]}


async def test_a_stale_expected_version_is_409(api):
    response = await api.send(
        "PATCH", "/api/v1/sort-plan", "tms", json={"routes": {"A": [1]}, "expected_version": 99}
    )
    assert response.status_code == 409


async def test_routes_join_plan_and_manifest(api):
    routes = {r["route"]: r for r in (await api.get("/api/v1/routes")).json()}
    assert routes["A"]["chutes"] == [1]
    assert sum(r["manifest_parcels"] for r in routes.values()) == len(api.line.manifest)
