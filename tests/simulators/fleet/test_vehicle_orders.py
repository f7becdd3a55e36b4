"""A simulated vehicle over a real broker: orders, updates, rejections, loads."""

from __future__ import annotations

import asyncio

from simulators.fleet import SimulatedFleet
from tests.simulators.fleet.conftest import SERIAL, Master, action, error_types, status


def at(node: str, seq: int):
    """A predicate: the vehicle stands at ``node``/``seq`` and does not drive."""
    return lambda s: (s["lastNodeId"], s["lastNodeSequenceId"], s["driving"]) == (node, seq, False)


async def test_base_is_driven_then_a_stitched_update_continues(
    fleet: SimulatedFleet, master: Master
) -> None:
    # PK1 -> X1 released, X1 -> W1 horizon: drives to X1 and waits there
    await master.order("o1", ["PK1", "X1", "W1"], released=2)
    state = await master.wait_for("state", at("X1", 2))
    assert [n["nodeId"] for n in state["nodeStates"]] == ["W1"]
    assert [n["released"] for n in state["nodeStates"]] == [False]
    assert [e["edgeId"] for e in state["edgeStates"]] == ["X1-W1"]
    assert state["agvPosition"]["x"] == 8 and state["agvPosition"]["y"] == 0
    assert state["batteryState"]["batteryCharge"] < 100  # drained per metre
    await asyncio.sleep(0.2)
    assert fleet.vehicles[SERIAL].model.last_node_id == "X1"  # the horizon is not driven

    # an update that does not start at the decision point X1/2
    await master.order("o1", ["W1"], update=1, first_seq=4)
    state = await master.wait_for("state", lambda s: "orderUpdateError" in error_types(s))
    refs = {r["referenceKey"]: r["referenceValue"] for r in state["errors"][0]["errorReferences"]}
    assert refs["orderId"] == "o1" and refs["orderUpdateId"] == "1"
    assert state["orderUpdateId"] == 0

    # stitched at X1/2, with a pick at W1: drives on, picks, error cleared
    pick = action("pick", "pick-1", loadId="C-17", loadType="container", stationType="put_wall")
    await master.order("o1", ["X1", "W1"], update=1, first_seq=2, actions={"W1": [pick]})
    state = await master.wait_for("state", lambda s: status(s, "pick-1") == "FINISHED")
    assert state["orderUpdateId"] == 1 and state["errors"] == []
    assert (state["lastNodeId"], state["lastNodeSequenceId"]) == ("W1", 4)
    assert state["nodeStates"] == [] and state["edgeStates"] == []
    assert [ld["loadId"] for ld in state["loads"]] == ["C-17"]
    running = [s for s in master.of("state") if status(s, "pick-1") == "RUNNING"]
    assert running and not running[0]["driving"]  # a HARD action: standing still

    # the same update again is ignored; an older one is an orderUpdateError
    mark = len(master.messages)
    await master.order("o1", ["X1", "W1"], update=1, first_seq=2)
    await asyncio.sleep(0.15)
    assert all(s["errors"] == [] for s in master.of("state")[mark:])
    await master.order("o1", ["X1"], update=0, first_seq=2)
    await master.wait_for("state", lambda s: "orderUpdateError" in error_types(s))


async def test_invalid_and_unroutable_orders_are_rejected(
    fleet: SimulatedFleet, master: Master
) -> None:
    def rejected(kind: str):
        return lambda s: kind in error_types(s) and s["nodeStates"] == []

    # sequence ids not interleaving
    body = master.order_body("bad-seq", ["PK1", "X1"])
    body["nodes"][1]["sequenceId"] = 4
    await master.send("order", body)
    await master.wait_for("state", rejected("validationError"))
    # a node not in the layout; not starting where the vehicle is
    await master.order("bad-node", ["PK1", "NOWHERE"])
    await master.wait_for("state", rejected("validationError"))
    await master.order("elsewhere", ["W1", "X1"])
    await master.wait_for("state", rejected("validationError"))
    # no lane PK1 -> W1; a blocked lane
    await master.order("no-lane", ["PK1", "W1"])
    await master.wait_for("state", rejected("noRouteError"))
    fleet.block_edge("PK1-X1", 5)
    await master.order("blocked", ["PK1", "X1"])
    state = await master.wait_for("state", rejected("noRouteError"))
    assert state["errors"][-1]["errorLevel"] == "WARNING"
    # an injected rejection, then a valid order clears every error
    fleet.blocked.clear("PK1-X1")
    fleet.reject_next_order(SERIAL)
    await master.order("forced", ["PK1", "X1"])
    await master.wait_for("state", rejected("validationError"))
    await master.order("good", ["PK1", "X1"])
    state = await master.wait_for("state", at("X1", 2))
    assert state["orderId"] == "good" and state["errors"] == []
    # a new order while one is still running (pick at X1 takes a while) is refused
    pick = action("pick", "p", loadId="C-1", loadType="container", stationType="put_wall")
    model = fleet.vehicles[SERIAL].model
    model.settings = model.settings.model_copy(update={"action_s": 1.0})
    await master.order("busy", ["X1", "W1"], actions={"X1": [pick]})
    await master.wait_for("state", lambda s: status(s, "p") == "RUNNING")
    await master.order("other", ["X1", "X2"])
    state = await master.wait_for("state", lambda s: "orderUpdateError" in error_types(s))
    assert state["orderId"] == "busy"


async def test_drop_finishes_and_an_injected_fault_fails_a_pick(
    fleet: SimulatedFleet, master: Master
) -> None:
    pick = action("pick", "a1", loadId="C-2", loadType="container", stationType="put_wall")
    drop = action("drop", "a2", loadId="C-2", loadType="container", stationType="dock_door")
    await master.order("o", ["PK1", "X1", "W1"], actions={"X1": [pick], "W1": [drop]})
    state = await master.wait_for("state", lambda s: status(s, "a2") == "FINISHED")
    assert status(state, "a1") == "FINISHED" and state["loads"] == []
    assert any(s["loads"] and s["loads"][0]["loadId"] == "C-2" for s in master.of("state"))

    fleet.fail_next_action(SERIAL, "load sensor fault")
    pick = action("pick", "a3", loadId="C-3", loadType="container", stationType="dock_door")
    await master.order("o2", ["W1"], actions={"W1": [pick]})
    state = await master.wait_for("state", lambda s: status(s, "a3") == "FAILED")
    failed = next(a for a in state["actionStates"] if a["actionId"] == "a3")
    assert failed["resultDescription"] == "load sensor fault"
    assert state["loads"] == [] and "loadHandlingError" in error_types(state)
