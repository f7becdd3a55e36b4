"""The tracker (states, lost vehicles), instant actions resent until seen, the dispatcher's
choice of vehicle, charger and home."""

from __future__ import annotations

from controller.fleet.dispatcher import TaskView, VehicleView, decide
from controller.fleet.graph import Graph
from controller.fleet.instant import InstantActions
from controller.fleet.orders import simple_action
from controller.fleet.tasks import Location, TaskState, TransportTask
from controller.fleet.tracker import Tracker
from plc_configs.vda5050.messages import State, VehicleError
from tests.controller.fleet.conftest import fleet_section

FLEET = fleet_section(lost_after_s=5)
GRAPH = Graph(FLEET.layout)
A1 = "LaneSim/AMR-01"


def state(**fields) -> State:
    base = {
        "manufacturer": "LaneSim",
        "serial_number": "AMR-01",
        "battery_state": {"battery_charge": 80, "charging": False},
    }
    return State.model_validate({**base, **fields})


def test_tracker_reports_changes_and_a_vehicle_silent_too_long_is_lost_then_found():
    tracker = Tracker(FLEET.vehicles, lost_after_s=5)
    first = tracker.on_state(A1, state(last_node_id="PK1"), now=0.0)
    assert first.passed == "PK1"
    change = tracker.on_state(
        A1,
        state(
            last_node_id="X1",
            action_states=[{"action_id": "p", "action_status": "RUNNING"}],
            errors=[{"error_type": "noRouteError", "error_level": "WARNING"}],
        ),
        now=1.0,
    )
    assert change.passed == "X1" and change.actions == {"p": "RUNNING"}
    assert [e.error_type for e in change.new_errors] == ["noRouteError"]
    assert tracker.check_lost(5.9) == []
    lost = tracker.check_lost(6.0)
    assert [t.key for t in lost] == [A1] and tracker[A1].lost and not tracker[A1].online
    assert tracker.check_lost(60.0) == []  # told once
    back = tracker.on_state(A1, state(last_node_id="X1"), now=61.0)
    assert back.found and not tracker[A1].lost and back.passed is None


def test_instant_action_resent_until_seen_then_given_up_or_answered_by_an_error():
    instant = InstantActions(resend_s=2.0, tries=3)
    cancel = instant.add(A1, simple_action("cancelOrder", "c1"), 0.0, "cancel:T1")
    pause = instant.add(A1, simple_action("startPause", "p1"), 0.0, "pause")
    again, gave_up = instant.due(1.9)
    assert again == [] and gave_up == []
    again, _ = instant.due(2.0)
    assert {e.action.action_id for e in again} == {"c1", "p1"}
    assert instant.on_status(A1, "p1", "RUNNING") is pause and not pause.done
    error = VehicleError(
        error_type="noOrderToCancel",
        error_level="WARNING",
        error_references=[{"reference_key": "actionId", "reference_value": "c1"}],
    )
    assert instant.on_error(A1, error) is cancel and cancel.done
    assert instant.due(10.0) == ([], [])  # p1 is seen (running); c1 answered
    lonely = instant.add(A1, simple_action("factsheetRequest", "f1"), 20.0)
    instant.due(22.0)
    instant.due(24.0)
    _, gave_up = instant.due(26.0)
    assert gave_up == [lonely] and lonely.tries == 3


def _vehicle(key, node, battery=90.0, free=True, charging=False, home=None):
    return VehicleView(key, node, free, battery, charging, home)


def test_dispatcher_picks_the_nearest_able_vehicle_and_sends_low_batteries_to_a_charger():
    task = TaskView("T1", pick_node="W2", drop_node="D02")
    vehicles = [
        _vehicle("far", "PK4"),
        _vehicle("near-but-low", "X2", battery=10.0),
        _vehicle("near", "X1"),
        _vehicle("nearest-but-busy", "W2", free=False),
    ]
    out = decide([task], vehicles, GRAPH, FLEET.dispatch)
    assert out.assign == [("T1", "near")]
    assert out.charge == [("near-but-low", "CH1")]
    taken = decide([task], vehicles, GRAPH, FLEET.dispatch, chargers_taken={"CH1"})
    assert taken.charge == [("near-but-low", "CH2")]


def test_dispatcher_prefers_vehicles_that_did_not_refuse_and_parks_idle_ones():
    task = TaskView("T1", pick_node="W1", drop_node="D01", refused_by=frozenset({"a"}))
    vehicles = [
        _vehicle("a", "X1"),
        _vehicle("b", "PK4", home="PK4"),
        _vehicle("c", "X3", home="PK3"),
    ]
    out = decide([task], vehicles, GRAPH, FLEET.dispatch, park_idle={"b", "c"})
    assert out.assign == [("T1", "b")]
    assert out.park == ["c"]  # b is taken; a is not idle long enough
    alone = decide([task], [_vehicle("a", "X1")], GRAPH, FLEET.dispatch)
    assert alone.assign == [("T1", "a")]  # a refuser when nobody else can
    charged = decide([], [_vehicle("d", "CH1", battery=95, charging=True)], GRAPH, FLEET.dispatch)
    assert charged.stop_charging == ["d"]


def test_task_state_machine_and_container_location():
    task = TransportTask("T1", "W1-C0003", "wall-W1", "door-D01", created=0.0)
    assert str(task.location) == "at station wall-W1"
    task.move(TaskState.ASSIGNED, 1.0)
    task.relocate(Location(vehicle=A1, last_node="W1"), 2.0)
    task.move(TaskState.CARRYING, 2.0, "picked")
    assert str(task.location) == f"on vehicle {A1}, last at node W1"
    try:
        task.move(TaskState.QUEUED, 3.0)
    except ValueError:
        pass
    else:
        raise AssertionError("a carried container's task must not be queued again")
    task.move(TaskState.FAILED, 4.0, "drop failed")
    assert task.done and task.reason == "drop failed"
    assert [h["state"] for h in task.history] == ["queued", "assigned", "carrying", "failed"]
