"""The fleet and AS/RS pages through NiceGUI's simulated user against a running line.

The test line gets one dock door, a small fleet layout (parking, charger, AS/RS in and
out ports, the door; one one-way lane) and two vehicles on the session's Mosquitto under
a topic root of their own; no vehicle simulator answers, so both vehicles are offline and
never reported. The AS/RS buffer is an OSIP AS/RS simulator on a free port.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import pytest

from controller.transport.locations import Location
from controller.transport.service import Carriage
from hmi.pages.fleet import layout_svg, vehicle_state
from plc_configs.fleet import Layout
from simulators.asrs.server import AsrsSimulator
from tests.controller.line.helpers import until
from tests.hmi.conftest import HmiEnv, hmi_line, log_in

LAYOUT = {
    "nodes": [
        {"id": "P1", "x": 0, "y": 0},
        {"id": "X1", "x": 6, "y": 0},
        {"id": "AI", "x": 12, "y": 3},
        {"id": "AO", "x": 18, "y": 3},
        {"id": "D1", "x": 24, "y": 0},
        {"id": "C1", "x": 6, "y": 6},
    ],
    "edges": [
        {"start": "P1", "end": "X1"},
        {"start": "X1", "end": "AI"},
        {"start": "AI", "end": "AO", "one_way": True},
        {"start": "AO", "end": "D1"},
        {"start": "X1", "end": "D1"},
        {"start": "C1", "end": "X1"},
    ],
    "stations": [
        {"id": "PK1", "kind": "parking", "node": "P1"},
        {"id": "CH1", "kind": "charger", "node": "C1"},
        {"id": "asrs-in", "kind": "asrs_in", "node": "AI", "ref": "buffer-asrs"},
        {"id": "asrs-out", "kind": "asrs_out", "node": "AO", "ref": "buffer-asrs"},
        {"id": "door-D1", "kind": "dock_door", "node": "D1", "ref": "D1"},
    ],
}


@pytest.fixture
async def fleet_env(tmp_path, mqtt_broker) -> AsyncIterator[HmiEnv]:
    asrs = AsrsSimulator("osip", store_s=0.01, retrieve_s=0.01)
    await asrs.start()
    try:
        async with hmi_line(
            tmp_path,
            topology={"doors": [{"id": "D1", "position_mm": 800}]},
            devices={"buffer-asrs": {"kind": "asrs", "protocol": "osip", "url": asrs.url}},
            buffer={"asrs": "buffer-asrs"},
            fleet={
                "enabled": True,
                "mqtt": {"url": mqtt_broker.url},
                "interface_name": f"hmitest{time.monotonic_ns()}",
                "vehicles": [
                    {"manufacturer": "HmiSim", "serial_number": "AMR-01", "home": "PK1"},
                    {"manufacturer": "HmiSim", "serial_number": "AMR-02"},
                ],
                "layout": LAYOUT,
            },
        ) as env:
            yield env
    finally:
        await asrs.stop()


async def test_a_viewer_sees_the_fleet_and_the_buffer_but_no_supervisor_button(fleet_env):
    line = fleet_env.line
    stuck = "C-STUCK-1"
    line.transport.book.move(stuck, Location("station", "asrs-in", time.time()))
    line.transport.carriages[stuck] = Carriage(stuck, "T1", "stuck", "crane fault")
    viewer = fleet_env.new_user()
    await log_in(viewer, "victor")
    await viewer.should_see("AS/RS", retries=20)  # the nav has the fleet's pages
    await viewer.open("/fleet")
    for text in ("HmiSim/AMR-01", "HmiSim/AMR-02", "DOOR D1", "AS/RS IN buffer-asrs",
                 "CHARGER CH1", "PARKING PK1", "RUNNING"):  # fmt: skip
        await viewer.should_see(text, retries=20)
    await viewer.should_see("never reported (connection unknown)", retries=20)
    rows = [e for e in viewer.find("OFFLINE").elements if e.props.get("data-state")]
    assert [e.props["data-state"] for e in rows] == ["offline", "offline"]  # in words, per row
    await viewer.should_see("Not on the map (no position reported): HmiSim/AMR-01", retries=5)
    await viewer.should_not_see(marker="fleet-pause")
    await viewer.should_not_see(marker="fleet-resume")
    await viewer.open("/asrs")
    await viewer.should_see(f"{stuck}", retries=20)
    await viewer.should_see("at station asrs-in · crane fault", retries=20)
    await until(lambda: line.buffer.supervisor.link.up, 5)
    await viewer.should_see("No active fault.", retries=20)
    await viewer.should_not_see(marker=f"retry-{stuck}")

    supervisor = fleet_env.new_user()
    await log_in(supervisor, "anna")
    await supervisor.open("/asrs")
    await supervisor.should_see(marker=f"retry-{stuck}", retries=20)
    supervisor.find(marker=f"retry-{stuck}").click()
    await supervisor.should_see(f"Retry container {stuck}?", retries=20)
    # the rows below redraw while the question is open: it stays (it is the page's)
    line.transport.carriages["C-JAM-2"] = Carriage("C-JAM-2", "T1", "stuck", "jam")
    await supervisor.should_see(marker="retry-C-JAM-2", retries=30)
    await supervisor.should_see(f"Retry container {stuck}?")
    supervisor.find(marker="reason").type("crane fixed")
    supervisor.find(marker="confirm-yes").click()
    await until(lambda: line.transport.carriages[stuck].phase != "stuck", 5)
    await line.journal.barrier()
    rows = await line.audit.query(action="container.retry")
    assert (rows[0]["user"], rows[0]["target"], rows[0]["detail"]) == ("anna", stuck, "crane fixed")


async def test_pause_and_cancel_are_confirmed_with_a_reason_and_audited(fleet_env):
    line = fleet_env.line
    task = line.fleet.create_task("C-HMI-7", "asrs-out", "door-D1")
    user = fleet_env.new_user()
    await log_in(user, "anna")
    await user.open("/fleet")
    await user.should_see(marker=f"cancel-{task.id}", retries=20)
    user.find(marker="fleet-pause").click()
    await user.should_see("Pause the fleet?", retries=20)
    user.find(marker="confirm-yes").click()  # no reason: refused, still asking
    await user.should_see("Say why", retries=20)
    assert not line.fleet.paused
    user.find(marker="reason").type("aisle blocked")
    user.find(marker="confirm-yes").click()
    await until(lambda: line.fleet.paused, 5)
    await user.should_see("PAUSED", retries=20)
    user.find(marker=f"cancel-{task.id}").click()
    await user.should_see(f"Cancel task {task.id}?", retries=20)
    user.find(marker="reason").type("truck left")
    user.find(marker="confirm-yes").click()
    await until(lambda: task.state == "cancelled", 5)
    await user.should_see("cancelled by anna: truck left", retries=20)
    await line.journal.barrier()
    paused = await line.audit.query(action="fleet.pause")
    assert (paused[0]["user"], paused[0]["detail"], paused[0]["via"]) == (
        "anna",
        "aisle blocked",
        "hmi",
    )
    cancelled = await line.audit.query(action="fleet.task.cancel")
    assert (cancelled[0]["target"], cancelled[0]["detail"]) == (task.id, "truck left")


async def test_the_container_lookup_shows_location_and_history_or_not_known(fleet_env):
    line = fleet_env.line
    book = line.transport.book
    t0 = time.time()
    book.move("C-HMI-1", Location("station", "asrs-in", t0, "", "T00042"))
    book.move("C-HMI-1", Location("asrs", "buffer-asrs", t0 + 1, "RACK/0001/0003/0000/0000"))
    await line.journal.barrier()
    user = fleet_env.new_user()
    await log_in(user, "victor")
    await user.open("/asrs")
    user.find(marker="where-input").type("C-HMI-1")
    user.find(marker="where-submit").click()
    await user.should_see("C-HMI-1: stored in buffer-asrs, RACK/0001/0003/0000/0000", retries=20)
    steps = [e.text for e in sorted(user.find(marker="where-step").elements, key=lambda e: e.id)]
    assert len(steps) == 2
    assert "at station asrs-in (task T00042)" in steps[0] and "stored in" in steps[1]
    user.find(marker="where-input").clear().type("NO-SUCH-BOX")
    user.find(marker="where-submit").click()
    await user.should_see("Container NO-SUCH-BOX is not known to the transport", retries=20)
    await user.should_not_see(marker="where-step")


def test_the_map_draws_a_vehicle_where_it_reported_with_its_state_in_words():
    layout = Layout.model_validate(LAYOUT)
    seen = {
        "key": "HmiSim/AMR-02", "serial_number": "AMR-02", "connection": "ONLINE",
        "lost": False, "position": None, "last_node": "AO", "battery_pct": 80.0,
        "charging": False, "driving": False, "paused": False, "operating_mode": "AUTOMATIC",
        "errors": [], "job": "task", "task": "T00001",
    }  # fmt: skip
    assert vehicle_state(seen, "carrying") == ("carrying", "task T00001")
    assert vehicle_state({**seen, "lost": True}, "carrying")[0] == "lost"
    fatal = {"type": "batteryLow", "level": "FATAL", "description": "battery empty"}
    assert vehicle_state({**seen, "errors": [fatal]}, None) == ("error", "battery empty")
    svg = layout_svg(layout, [(seen, "carrying")], "floor")
    assert 'data-vehicle="HmiSim/AMR-02" data-state="carrying"' in svg
    assert '>AMR-02 <tspan fill="#E69F00">CARRYING</tspan>' in svg
    assert svg.count('marker-end="url(#ls-arrow)"') == 1  # the one one-way lane
    for label in ("DOOR D1", "AS/RS IN buffer-asrs", "AS/RS OUT buffer-asrs", "PARKING PK1"):
        assert f">{label}</text>" in svg
    # At its last node AO: x 18 of 0..24, y 3 of 0..6 (y up), inside the 60 px margins.
    width, height = (float(v) for v in svg.split('viewBox="0 0 ')[1].split('"')[0].split())
    circle = svg.split('data-state="carrying"><circle ')[1]
    x, y = (float(circle.split(f'{k}="')[1].split('"')[0]) for k in ("cx", "cy"))
    assert (x, y) == pytest.approx((60 + 0.75 * (width - 120), 60 + 0.5 * (height - 120)))
