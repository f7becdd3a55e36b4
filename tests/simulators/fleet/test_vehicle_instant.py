"""A simulated vehicle over a real broker: instant actions, blocked lanes, the broker lost."""

from __future__ import annotations

import asyncio
import json
import time

import aiomqtt

from plc_configs.schema import LineConfig
from simulators.fleet import SimulatedFleet
from tests.simulators.fleet.conftest import FAST, SERIAL, Master, action, error_types, status


def on_edge(edge: str):
    """A predicate: the vehicle drives on ``edge`` (its first edgeState)."""
    return lambda s: s["driving"] and s["edgeStates"] and s["edgeStates"][0]["edgeId"] == edge


async def test_cancel_mid_way_stops_at_the_next_node(fleet: SimulatedFleet, master: Master) -> None:
    drop = action("drop", "d1", loadType="container", stationType="dock_door")
    await master.order("long", ["PK1", "X1", "X3", "D01"], actions={"D01": [drop]})
    await master.wait_for("state", on_edge("X1-X3"))
    await asyncio.sleep(0.1)  # some metres into the 24 m lane
    cancel = await master.instant("cancelOrder")
    state = await master.wait_for("state", lambda s: status(s, cancel) == "FINISHED")
    assert (state["lastNodeId"], state["nodeStates"], state["edgeStates"]) == ("X3", [], [])
    assert state["orderId"] == "long" and status(state, "d1") == "FAILED"
    assert not state["driving"]
    # nothing left to cancel: FAILED and a noOrderToCancel warning naming the action
    again = await master.instant("cancelOrder")
    state = await master.wait_for("state", lambda s: status(s, again) == "FAILED")
    error = next(e for e in state["errors"] if e["errorType"] == "noOrderToCancel")
    assert error["errorReferences"] == [{"referenceKey": "actionId", "referenceValue": again}]


async def test_pause_stops_on_the_edge_and_resume_goes_on(
    fleet: SimulatedFleet, master: Master
) -> None:
    await master.order("p", ["PK1", "X1", "X3"])
    await master.wait_for("state", on_edge("X1-X3"))
    await asyncio.sleep(0.1)
    await master.instant("startPause")
    state = await master.wait_for("state", lambda s: s["paused"] and not s["driving"])
    x = fleet.vehicles[SERIAL].model.x
    assert 8 < x < 32 and state["lastNodeId"] == "X1"
    await asyncio.sleep(0.1)
    assert fleet.vehicles[SERIAL].model.x == x  # stands still while paused
    await master.instant("stopPause")
    state = await master.wait_for("state", lambda s: s["lastNodeId"] == "X3")
    assert state["paused"] is False and state["distanceSinceLastNode"] == 0


async def test_factsheet_unknown_and_repeated_instant_actions(
    fleet: SimulatedFleet, master: Master
) -> None:
    request = await master.instant("factsheetRequest")
    sheet = await master.wait_for("factsheet", lambda f: True)
    types = {a["actionType"] for a in sheet["protocolFeatures"]["agvActions"]}
    assert {"pick", "drop", "cancelOrder", "startPause", "initPosition"} <= types
    await master.wait_for("state", lambda s: status(s, request) == "FINISHED", since=0)
    # unknown: only in errors, never in actionStates
    await master.instant("selfDestruct", "boom")
    state = await master.wait_for("state", lambda s: "instantActionError" in error_types(s))
    assert status(state, "boom") is None
    # the same actionId twice runs once: stopPause under a pause's id does not resume
    await master.instant("startPause", "same")
    await master.wait_for("state", lambda s: s["paused"])
    await master.instant("stopPause", "same")
    await asyncio.sleep(0.1)
    assert fleet.vehicles[SERIAL].model.paused
    await master.instant("initPosition", x=16.0, y=-2.0, theta=0.0, mapId="floor", lastNodeId="AI")
    state = await master.wait_for("state", lambda s: s["lastNodeId"] == "AI")
    assert state["agvPosition"]["x"] == 16.0


async def test_a_blocked_lane_holds_the_vehicle_until_it_clears(
    fleet: SimulatedFleet, master: Master
) -> None:
    pick = action("pick", "pk", loadType="container", stationType="put_wall")
    await master.order("b", ["PK1", "X1", "W1"], actions={"X1": [pick]})
    await master.wait_for("state", lambda s: status(s, "pk") == "RUNNING")
    fleet.block_edge("W1-X1", 0.4)  # blocked once the order was taken; either spelling
    state = await master.wait_for("state", lambda s: "pathBlocked" in error_types(s))
    assert state["lastNodeId"] == "X1" and not state["driving"]
    state = await master.wait_for("state", lambda s: s["lastNodeId"] == "W1", within=2)
    assert "pathBlocked" not in error_types(state)


async def test_drop_off_shows_the_will_then_online_again(
    broker: int, fleet: SimulatedFleet, master: Master
) -> None:
    conn = f"uagv/v2/LaneSim/{SERIAL}/connection"
    seen: list[str] = []
    await master.order("away", ["PK1", "X1", "X3"])
    await master.wait_for("state", lambda s: s["orderId"] == "away")
    async with aiomqtt.Client("127.0.0.1", broker, identifier=f"watcher-{time.time_ns()}") as c:
        await c.subscribe(conn, qos=1)
        async with asyncio.timeout(4):
            async for message in c.messages:
                seen.append(json.loads(message.payload)["connectionState"])
                if seen == ["ONLINE"]:  # the retained message
                    mark = len(master.messages)
                    fleet.drop_off(SERIAL, 0.3)
                if seen[-1] == "ONLINE" and "CONNECTIONBROKEN" in seen:
                    break
    assert seen == ["ONLINE", "CONNECTIONBROKEN", "ONLINE"]
    # it drove on while away, and publishes its state again when back
    state = await master.wait_for("state", lambda s: s["lastNodeId"] == "X3", since=mark)
    assert state["orderId"] == "away" and state["nodeStates"] == []
    away = [m for k, m in master.messages[mark:] if k == "state"]
    assert away[0]["headerId"] > 0 and away[0]["lastNodeId"] != "PK1"


async def test_timed_faults_of_the_settings_run_from_the_start(
    broker: int, line_config: LineConfig, master: Master
) -> None:
    settings = FAST.model_copy(update={"low_battery": [(SERIAL, 0.05)]})
    sim = SimulatedFleet(line_config, f"mqtt://127.0.0.1:{broker}", settings=settings)
    await sim.start()
    try:
        state = await master.wait_for("state", lambda s: s["batteryState"]["batteryCharge"] == 15)
        assert state["batteryState"]["charging"] is False
    finally:
        await sim.stop()
