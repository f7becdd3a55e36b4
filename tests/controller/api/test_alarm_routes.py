import asyncio
from datetime import UTC, datetime, timedelta

from controller.alarms.board import Severity

KEY = "jam:tunnel:1"


def _raise(api, key: str = KEY, severity: Severity = Severity.CRITICAL) -> None:
    api.line.alarms.raise_(key, f"{key} is jammed", api.line.clock(), device="tunnel",
                           severity=severity)  # fmt: skip


async def _board(api, query: str = "") -> dict[str, dict]:
    response = await api.get(f"/api/v1/alarms{query}")
    assert response.status_code == 200
    return {a["key"]: a for a in response.json()}


def _parse(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


async def test_an_alarm_is_listed_unacknowledged_then_acknowledged_by_a_supervisor(api):
    _raise(api)
    alarm = (await _board(api))[KEY]
    assert alarm["state"] == "unacknowledged" and alarm["severity"] == "critical"
    assert alarm["acked_by"] is None and alarm["cleared_at"] is None and alarm["count"] == 1
    assert abs(_parse(alarm["since"]) - datetime.now(UTC)) < timedelta(seconds=30)
    response = await api.send("POST", f"/api/v1/alarms/{KEY}/ack", "supervisor")
    assert response.status_code == 200
    body = response.json()
    assert body["key"] == KEY and body["state"] == "acknowledged"
    assert body["acked_by"] == "supervisor-1" and body["acked_at"].endswith("Z")
    assert (await _board(api))[KEY]["state"] == "acknowledged"


async def test_acknowledging_twice_is_409_and_an_unknown_key_is_404(api):
    _raise(api)
    await api.send("POST", f"/api/v1/alarms/{KEY}/ack", "supervisor")
    again = await api.send("POST", f"/api/v1/alarms/{KEY}/ack", "supervisor")
    assert again.status_code == 409
    assert again.headers["content-type"] == "application/problem+json"
    assert "already acknowledged (by supervisor-1)" in again.json()["detail"]
    for method, path in (
        ("POST", "/api/v1/alarms/no:such/ack"),
        ("DELETE", "/api/v1/alarms/no:such/shelve"),
    ):
        missing = await api.send(method, path, "supervisor")
        assert missing.status_code == 404 and "no alarm no:such" in missing.json()["detail"]
        assert missing.json()["type"].endswith("/unknown-alarm")


async def test_a_cleared_unacknowledged_alarm_stays_until_acknowledged(api):
    _raise(api)
    api.line.alarms.clear(KEY, api.line.clock())
    alarm = (await _board(api))[KEY]
    assert alarm["state"] == "returned-unacknowledged" and alarm["cleared_at"] is not None
    response = await api.send("POST", f"/api/v1/alarms/{KEY}/ack", "supervisor")
    assert response.json() == {"key": KEY, "state": "normal"}
    assert KEY not in await _board(api)


async def test_a_shelved_alarm_is_hidden_unless_asked_for_and_can_be_unshelved(api):
    _raise(api)
    response = await api.send(
        "POST",
        f"/api/v1/alarms/{KEY}/shelve",
        "supervisor",
        json={"minutes": 30, "reason": "belt under repair"},
    )
    assert response.status_code == 200
    body = response.json()
    assert body["shelved"] is True and body["shelved_by"] == "supervisor-1"
    assert body["shelve_reason"] == "belt under repair"
    ends_in = _parse(body["shelved_until"]) - datetime.now(UTC)
    assert timedelta(minutes=29) < ends_in <= timedelta(minutes=30)
    assert KEY not in await _board(api)
    assert (await _board(api, "?include_shelved=true"))[KEY]["shelved"] is True
    assert [a.key for a in api.line.snapshot().shelved] == [KEY]
    response = await api.send("DELETE", f"/api/v1/alarms/{KEY}/shelve", "supervisor")
    assert response.status_code == 200 and response.json()["shelved_until"] is None
    assert (await _board(api))[KEY]["shelved"] is False
    again = await api.send("DELETE", f"/api/v1/alarms/{KEY}/shelve", "supervisor")
    assert again.status_code == 409 and "is not shelved" in again.json()["detail"]


async def test_shelve_minutes_must_be_1_to_480(api):
    _raise(api)
    for minutes in (0, 481):
        response = await api.send(
            "POST", f"/api/v1/alarms/{KEY}/shelve", "supervisor", json={"minutes": minutes}
        )
        assert response.status_code == 422
        assert response.json()["errors"][0]["field"] == "body.minutes"
    assert not api.line.alarms.get(KEY).is_shelved


async def test_an_ended_shelf_shows_the_alarm_again(api):
    _raise(api)
    now = api.line.clock()
    api.line.alarms.shelve(KEY, "ann", now + 2.0, now)
    assert KEY not in await _board(api)
    await asyncio.sleep(max(0.0, now + 2.1 - api.line.clock()))
    assert (await _board(api))[KEY]["shelved"] is False


async def test_keys_with_slashes_and_colons_reach_the_alarm(api):
    key = "register:sorter/main:packml_state"
    _raise(api, key)
    response = await api.send("POST", f"/api/v1/alarms/{key}/ack", "supervisor")
    assert response.status_code == 200 and response.json()["key"] == key


async def test_history_lists_transitions_with_users_and_filters(api):
    started = datetime.now(UTC) - timedelta(seconds=1)
    _raise(api)
    _raise(api, "other:thing", Severity.INFO)
    await api.send("POST", f"/api/v1/alarms/{KEY}/ack", "supervisor")
    await api.send("POST", f"/api/v1/alarms/{KEY}/shelve", "supervisor", json={"minutes": 5})
    await api.line.journal.barrier()
    rows = (await api.get(f"/api/v1/alarms/history?key={KEY}")).json()
    assert [(r["state"], r["user"]) for r in rows] == [
        ("shelved", "supervisor-1"),
        ("acknowledged", "supervisor-1"),
        ("raised", None),
    ]
    assert rows[0]["time"].endswith("Z") and _parse(rows[0]["time"]) >= started
    info = (await api.get("/api/v1/alarms/history?severity=info")).json()
    assert [r["key"] for r in info] == ["other:thing"]
    since = (started + timedelta(hours=1)).isoformat().replace("+00:00", "Z")
    assert (await api.get("/api/v1/alarms/history", params={"since": since})).json() == []
    query = {"text": "TUNNEL:1 IS", "state": "raised", "device": "tunnel"}
    found = (await api.get("/api/v1/alarms/history", params=query)).json()
    assert {r["key"] for r in found} == {KEY}
    bad = await api.get("/api/v1/alarms/history?state=exploded")
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "query.state"


async def test_alarm_actions_and_refusals_are_audited(api):
    _raise(api)
    await api.send("POST", f"/api/v1/alarms/{KEY}/ack", "supervisor")
    await api.send("POST", f"/api/v1/alarms/{KEY}/ack", "supervisor")
    await api.send("POST", f"/api/v1/alarms/{KEY}/shelve", "supervisor", json={"minutes": 10})
    await api.send("POST", "/api/v1/alarms/nope/ack", "supervisor")
    await api.line.journal.barrier()
    rows = (await api.get("/api/v1/audit", role="supervisor")).json()
    alarm_rows = [
        (r["action"], r["target"], r["ok"]) for r in rows if r["action"].startswith("alarm.")
    ]
    assert alarm_rows == [
        ("alarm.ack", "nope", False),
        ("alarm.shelve", KEY, True),
        ("alarm.ack", KEY, False),
        ("alarm.ack", KEY, True),
    ]
    shelve = next(r for r in rows if r["action"] == "alarm.shelve")
    assert shelve["user"] == "supervisor-1" and shelve["detail"] == "10 min"
