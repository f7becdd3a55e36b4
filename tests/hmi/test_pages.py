"""Page logic of the HMI, through NiceGUI's simulated user against a running line."""

from __future__ import annotations

import asyncio
import csv
import io

from nicegui import ui

from controller.alarms.board import AlarmState, Severity
from tests.controller.line.helpers import finished, until
from tests.hmi.conftest import PASSWORDS, log_in


async def test_pages_need_a_login_and_a_wrong_password_is_said_in_plain_words(hmi_env):
    user = hmi_env.new_user()
    await user.open("/chutes")
    await user.should_see("Log in", retries=30)
    user.find("User name").type("anna")
    user.find("Password").type("not-her-password")
    user.find("Log in").click()
    await user.should_see("wrong user name or password", retries=30)
    await hmi_env.line.journal.barrier()
    refused = await hmi_env.line.audit.query(action="login")
    assert refused and refused[0]["ok"] is False and refused[0]["user"] == "anna"


async def test_the_overview_shows_live_counters(hmi_env):
    user = hmi_env.new_user()
    await log_in(user, "anna")
    await user.should_see("Execute", retries=30)
    line = hmi_env.line

    def shown() -> int:
        (label,) = user.find(marker="kpi-sorted").elements
        return int(label.text.replace(",", "")) if label.text != "–" else 0

    await until(lambda: finished(line) == 12 and line.snapshot().on_belt == 0, 30)
    final = line.snapshot().counts["sorted"]
    assert final >= 1
    await until(lambda: shown() == final, 5)  # the screen follows the line
    await user.should_see("sorter", retries=30)  # the PLC's link card
    await user.should_see("UP", retries=30)


async def test_stop_from_the_overview_is_confirmed_and_the_state_follows(hmi_env):
    user = hmi_env.new_user()
    await log_in(user, "anna")
    await user.should_see("Execute", retries=30)
    user.find(marker="cmd-stop").click()
    await user.should_see("Stop the line?", retries=30)
    user.find(marker="confirm-yes").click()
    await until(lambda: hmi_env.line.snapshot().packml_state.name == "STOPPED", 10)

    def state_shown() -> str:
        (label,) = user.find(marker="overview-state").elements
        return label.text

    await until(lambda: state_shown() == "Stopped", 5)
    await hmi_env.line.journal.barrier()
    rows = await hmi_env.line.audit.query(action="line.stop")
    assert rows[0]["user"] == "anna" and rows[0]["ok"] is True


async def test_a_viewer_cannot_command_the_line_or_see_the_audit_log(hmi_env):
    user = hmi_env.new_user()
    await log_in(user, "victor")
    start = user.find(kind=ui.button, content="Start")
    assert all(not b.enabled for b in start.elements)
    await user.open("/audit")
    await user.should_see("This page is for supervisors.", retries=30)


async def test_a_supervisor_disables_a_chute_with_confirmation_and_it_is_audited(hmi_env):
    user = hmi_env.new_user()
    await log_in(user, "anna")
    await user.open("/chutes/2")
    await user.should_see("Chute 2", retries=30)
    user.find("Disable chute").click()
    await user.should_see("Disable chute 2?", retries=30)
    user.find(marker="confirm-yes").click()
    await until(lambda: 2 in hmi_env.line.plc.disabled_by_host, 5)
    await hmi_env.line.journal.barrier()
    rows = await hmi_env.line.audit.query(action="chute.disable")
    assert rows[0]["user"] == "anna" and rows[0]["via"] == "hmi"
    assert rows[0]["target"] == "chute 2"


async def test_an_alarm_is_acknowledged_by_a_supervisor(hmi_env):
    line = hmi_env.line
    line.alarms.raise_("test-alarm", "belt slip on the induct", line.clock(), device="induct")
    user = hmi_env.new_user()
    await log_in(user, "anna")
    await user.open("/alarms")
    await user.should_see("belt slip on the induct", retries=30)
    user.find(marker="ack-test-alarm").click()
    acked = AlarmState.ACK
    await until(
        lambda: any(a.key == "test-alarm" and a.state is acked for a in line.snapshot().alarms)
    )
    await hmi_env.line.journal.barrier()
    rows = await line.audit.query(action="alarm.ack")
    assert rows[0]["user"] == "anna" and rows[0]["target"] == "test-alarm"


async def test_a_critical_alarm_shows_the_banner_until_acknowledged(hmi_env):
    line = hmi_env.line
    user = hmi_env.new_user()
    await log_in(user, "victor")
    line.alarms.raise_(
        "e-stop", "emergency stop pressed at the induct", line.clock(), severity=Severity.CRITICAL
    )
    await user.should_see("CRITICAL: line: emergency stop pressed at the induct", retries=20)
    line.acknowledge_alarm("e-stop")
    line.alarms.clear("e-stop", line.clock())
    await until(lambda: all(a.key != "e-stop" for a in hmi_env.hmi.feed.state.unacked_critical), 5)
    await user.should_not_see("emergency stop pressed at the induct", retries=20)


async def test_a_parcel_is_looked_up_by_barcode(hmi_env):
    line = hmi_env.line
    await until(lambda: line.snapshot().counts["sorted"] >= 1, 30)
    await line.journal.barrier()
    page = await asyncio.to_thread(line.parcels.search, None, None, "sorted", 1)
    barcode = page.items[0]["barcode"]
    user = hmi_env.new_user()
    await log_in(user, "victor")
    await user.open(f"/parcels?barcode={barcode}")
    await user.should_see("State: sorted", retries=20)
    await user.should_see("History", retries=30)
    user.find("Barcode (type or scan)").clear().type("NO-SUCH-PARCEL")
    user.find("Look up").click()
    await user.should_see(
        "No parcel with barcode NO-SUCH-PARCEL has been on this line.", retries=30
    )


async def test_the_shift_report_downloads_as_csv(hmi_env):
    await until(lambda: finished(hmi_env.line) >= 2, 15)
    user = hmi_env.new_user()
    await log_in(user, "anna")
    await user.open("/report")
    await user.should_see("From ", retries=30)
    user.find("Download CSV").click()
    response = await user.download.next(timeout=10)
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert len(rows) > 10 and all(len(r) == len(rows[0]) for r in rows)
    assert any("inducted" in cell for row in rows for cell in row)


async def test_an_idle_session_expires_and_is_logged_out(hmi_env):
    sessions = hmi_env.hmi.sessions
    user = hmi_env.new_user()
    await log_in(user, "victor")
    now = [sessions.clock()]
    sessions.clock = lambda: now[0]
    now[0] += sessions.idle_s + 1
    await user.open("/alarms")
    await user.should_see("Log in", retries=30)
    await hmi_env.line.journal.barrier()
    rows = await hmi_env.line.audit.query(action="logout")
    assert rows and "without a touch" in rows[0]["detail"]
    assert PASSWORDS  # the fixture's logins stay valid for other tests


async def test_a_container_is_closed_out_and_listed(hmi_env):
    line = hmi_env.line
    sort_chutes = line.config.topology.chute_ids

    def a_filled_chute() -> int | None:
        counts = line.snapshot().per_chute
        return next((c for c in sorted(sort_chutes) if counts.get(c, 0) >= 1), None)

    chute = await until(a_filled_chute, 30)
    user = hmi_env.new_user()
    await log_in(user, "anna")
    await user.open(f"/chutes/{chute}")
    await user.should_see("Close out container", retries=30)
    user.find("Close out container").click()
    await user.should_see(f"Close out the container of chute {chute}?", retries=30)
    user.find(marker="confirm-yes").click()
    await until(lambda: line.snapshot().containers[chute].count == 0, 5)
    await user.should_see("closed by anna", retries=50)
    await line.journal.barrier()
    rows = await line.audit.query(action="chute.close-out")
    assert rows[0]["user"] == "anna" and rows[0]["target"] == f"chute {chute}"


async def test_moving_a_route_onto_a_taken_chute_is_refused_in_plain_words(hmi_env):
    line = hmi_env.line
    plan = line.plan.as_dict()
    route_a = next(r for r, chutes in plan.items() if 1 in chutes)
    route_b = next(r for r, chutes in plan.items() if 1 not in chutes)
    user = hmi_env.new_user()
    await log_in(user, "anna")
    await user.open("/chutes/1")
    user.find("Move a route here").click()
    await user.should_see("Move a route to chute 1", retries=30)
    user.find(kind=ui.select).elements.pop().set_value(route_b)
    user.find(marker="move-route-apply").click()
    await user.should_see(f"already bound to route {route_a}", retries=30)
    assert line.plan.as_dict() == plan


async def test_an_alarm_is_shelved_and_hidden_from_the_list(hmi_env):
    line = hmi_env.line
    line.alarms.raise_("shelve-me", "label printer low on labels", line.clock(), device="printer")
    user = hmi_env.new_user()
    await log_in(user, "anna")
    await user.open("/alarms")
    await user.should_see("label printer low on labels", retries=30)
    user.find(marker="shelve-shelve-me").click()
    await user.should_see("Shelve “label printer low on labels”", retries=30)
    user.find(marker="shelve-apply").click()
    await until(lambda: any(a.key == "shelve-me" for a in line.snapshot().shelved), 5)
    await user.should_see("Shelved until", retries=30)
    await line.journal.barrier()
    rows = await line.audit.query(action="alarm.shelve")
    assert rows[0]["target"] == "shelve-me" and rows[0]["detail"].startswith("60 min")
