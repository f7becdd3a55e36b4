from controller.alarms.board import Severity
from tests.controller.line.helpers import finished, until


async def test_line_state_counters_and_links(api):
    await until(lambda: finished(api.line) == 6)
    body = (await api.get("/api/v1/line")).json()
    assert body["packml_state"] == "Execute"
    assert body["counts"]["inducted"] == 6
    assert {link["device"] for link in body["links"]} >= {"sorter"}
    assert body["answer_ms"]["p99"] is not None


async def test_the_line_state_lists_the_alarms_on_the_board(api):
    """The site page shows them (with the count, as before)."""
    line = api.line
    line.alarms.raise_("jam:tunnel", "tunnel jammed", line.clock(), device="tunnel")
    line.alarms.raise_(
        "estop:line", "emergency stop", line.clock(), device="plc", severity=Severity.CRITICAL
    )
    body = (await api.get("/api/v1/line")).json()
    mine = [a for a in body["alarms"] if a["key"] in ("jam:tunnel", "estop:line")]
    assert [(a["key"], a["severity"], a["device"], a["text"], a["state"]) for a in mine] == [
        ("jam:tunnel", "warning", "tunnel", "tunnel jammed", "unacknowledged"),
        ("estop:line", "critical", "plc", "emergency stop", "unacknowledged"),
    ]  # oldest first, as GET /alarms
    assert body["active_alarms"] == len(body["alarms"])


async def test_a_refused_command_is_409_with_the_reason(api):
    response = await api.send(
        "POST", "/api/v1/line/commands", "supervisor", json={"command": "start"}
    )
    assert response.status_code == 409
    assert "Start is not possible while the line is Execute" in response.json()["detail"]


async def test_stop_is_sent_to_the_plc(api):
    response = await api.send(
        "POST", "/api/v1/line/commands", "supervisor", json={"command": "stop"}
    )
    assert response.status_code == 202 and response.json()["by"] == "supervisor-1"
    await until(lambda: api.line.snapshot().packml_state.name in ("STOPPING", "STOPPED"), 5)


async def test_an_unknown_command_names_the_field(api):
    response = await api.send("POST", "/api/v1/line/commands", "supervisor", json={"command": "go"})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "body.command"


async def test_chutes_list_routes_and_a_chute_can_be_disabled_and_enabled(api):
    await until(lambda: finished(api.line) == 6)
    chutes = (await api.get("/api/v1/chutes")).json()
    assert sum(c["parcels_this_session"] for c in chutes) == 6
    used = [c for c in chutes if c["parcels_this_session"]]
    assert all(
        c["fill_estimate"] == round(c["parcels_this_session"] / c["capacity"], 3) for c in used
    )
    by_id = {c["id"]: c for c in chutes}
    assert by_id[1]["routes"] == ["A"] and by_id[9]["reject"] is True
    response = await api.send("PATCH", "/api/v1/chutes/2", "supervisor", json={"enabled": False})
    assert response.status_code == 200 and response.json()["enabled"] is False
    assert 2 in api.line.plc.disabled_by_host
    await api.send("PATCH", "/api/v1/chutes/2", "supervisor", json={"enabled": True})
    assert 2 not in api.line.plc.disabled_by_host


async def test_an_unknown_chute_is_404(api):
    response = await api.send("PATCH", "/api/v1/chutes/77", "supervisor", json={"enabled": False})
    assert response.status_code == 404
    assert "77 is not a sort chute" in response.json()["detail"]


async def test_metrics_are_prometheus_text_with_the_line_figures(api):
    await until(lambda: finished(api.line) == 6)
    text = (await api.get("/metrics")).text
    assert 'lanesort_parcels_total{line="test-line",state="sorted"}' in text
    assert "lanesort_decision_latency_seconds_bucket" in text
    assert 'lanesort_device_link_up{device="sorter",line="test-line"} 1.0' in text
    assert 'lanesort_outbox_events{line="test-line",state="pending"}' in text


async def test_operator_actions_and_refusals_are_in_the_audit_log(api):
    await api.send("POST", "/api/v1/line/commands", "supervisor", json={"command": "start"})
    await api.send("PATCH", "/api/v1/chutes/2", "supervisor", json={"enabled": False})
    await api.line.journal.barrier()
    rows = (await api.get("/api/v1/audit", role="supervisor")).json()
    assert [(r["action"], r["target"], r["ok"]) for r in rows[:2]] == [
        ("chute.disable", "chute 2", True),
        ("line.start", "line", False),
    ]
    assert rows[0]["user"] == "supervisor-1" and rows[0]["via"] == "api"
    assert "not possible while the line is Execute" in rows[1]["detail"]
    only = (await api.get("/api/v1/audit?action=line.start", role="supervisor")).json()
    assert [r["action"] for r in only] == ["line.start"]
