"""Paths on the layout and the orders built from them: base, horizon, stitched updates,
every message checked against the official VDA 5050 2.1.0 schemas."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from controller.fleet.graph import Graph
from controller.fleet.jobs import task_job
from controller.fleet.orders import PlannedOrder, init_position_action, simple_action
from drivers.mqtt.link import MqttLink
from drivers.vda5050.fleet_link import FleetLink
from plc_configs.vda5050 import messages
from tests.controller.fleet.conftest import fleet_section

FLEET = fleet_section()
GRAPH = Graph(FLEET.layout)
NODES = [n.id for n in FLEET.layout.nodes]


def link() -> FleetLink:
    return FleetLink(FLEET, MqttLink("fleet", FLEET.mqtt, client_id="test-orders"))


def test_shortest_path_respects_one_way_and_avoided_lanes():
    forward = GRAPH.route("X1", "X3")
    assert forward is not None and forward.nodes == ("X1", "X3")
    through_asrs = GRAPH.route("AI", "X3")
    assert through_asrs is not None and through_asrs.nodes == ("AI", "AO", "X3")
    back = GRAPH.route("AO", "AI")  # against the one-way AS/RS front: around by X3, X1
    assert back is not None and back.nodes == ("AO", "X3", "X1", "AI")
    detour = GRAPH.route("X1", "X3", avoid={"X1-X3"})
    assert detour is not None and "X1-X3" not in [e.id for e in detour.edges]
    assert detour.length > forward.length
    assert GRAPH.route("W1", "D01", avoid={"W1-X1"}) is None


@settings(max_examples=40, deadline=None)
@given(
    start=st.sampled_from(NODES),
    goal=st.sampled_from(NODES),
    base=st.integers(1, 4),
    steps=st.lists(st.integers(1, 3), max_size=8),
)
def test_sequence_ids_interleave_and_updates_stitch_at_the_base_end(start, goal, base, steps):
    route = GRAPH.route(start, goal)
    assert route is not None  # the demo layout is strongly connected
    plan = PlannedOrder("O1", route, FLEET.layout, base)
    first = plan.first()
    seen_nodes = {n.sequence_id: n.node_id for n in first.nodes}
    _check_message(first)
    assert next(n.sequence_id for n in first.nodes) == 0
    assert sum(n.released for n in first.nodes) == min(base, len(route.nodes))
    last_base = [n for n in first.nodes if n.released][-1]
    for update_id, more in enumerate(steps, start=1):
        update = plan.extend(more)
        if update is None:
            assert plan.complete
            break
        _check_message(update)
        assert update.order_update_id == update_id
        assert (update.nodes[0].node_id, update.nodes[0].sequence_id) == (
            last_base.node_id,
            last_base.sequence_id,
        )
        assert update.nodes[0].released
        for node in update.nodes:  # a sequence id never changes its node
            assert seen_nodes.setdefault(node.sequence_id, node.node_id) == node.node_id
        last_base = [n for n in update.nodes if n.released][-1]
    assert [seen_nodes[s] for s in sorted(seen_nodes)][-1] == goal


def _check_message(message):
    seqs = sorted(
        [(n.sequence_id, "n") for n in message.nodes]
        + [(e.sequence_id, "e") for e in message.edges]
    )
    first = seqs[0][0]
    assert [s for s, _ in seqs] == list(range(first, first + len(seqs)))
    assert all((kind == "n") == (s % 2 == 0) for s, kind in seqs)
    assert len(message.edges) == len(message.nodes) - 1
    for i, edge in enumerate(message.edges):
        assert edge.start_node_id == message.nodes[i].node_id
        assert edge.end_node_id == message.nodes[i + 1].node_id
        # an edge is released only between released nodes; nothing released after the horizon
        assert edge.released == (message.nodes[i].released and message.nodes[i + 1].released)
    flags = [n.released for n in message.nodes]
    assert flags == sorted(flags, reverse=True)


def test_orders_and_updates_valid_against_the_official_schema(schema):
    job = task_job(
        GRAPH,
        vehicle="LaneSim/AMR-01",
        start="PK1",
        order_id="T00001-1",
        container_id="W1-C0003",
        source=("wall-W1", "W1", "put_wall"),
        target=("door-D02", "D02", "dock_door"),
        base_nodes=2,
        now=0.0,
        task_id="T00001",
    )
    assert job is not None
    fleet_link = link()
    sent = [job.plan.first()]
    while (more := job.plan.extend(2)) is not None:
        sent.append(more)
    header_ids = []
    for body in sent:
        order = fleet_link.order(
            "LaneSim/AMR-01", body.order_id, body.order_update_id, body.nodes, body.edges
        )
        wire = json.loads(messages.dump(order))
        errors = sorted(schema("order").iter_errors(wire), key=str)
        assert not errors, errors[0].message
        assert wire["version"] == "2.1.0" and wire["timestamp"].endswith("Z")
        header_ids.append(wire["headerId"])
    assert header_ids == list(range(len(sent)))
    pick = next(a for n in sent[0].nodes for a in n.actions if a.action_type == "pick")
    assert pick.parameter("loadId") == "W1-C0003"
    assert pick.parameter("stationName") == "wall-W1"
    assert pick.parameter("loadType") == "container"


@pytest.mark.parametrize(
    "action_type", ["cancelOrder", "startPause", "stopPause", "factsheetRequest", "stopCharging"]
)
def test_instant_actions_valid_against_the_official_schema(schema, action_type):
    fleet_link = link()
    message = fleet_link.instant("LaneSim/AMR-02", [simple_action(action_type, "a-1")])
    wire = json.loads(messages.dump(message))
    errors = list(schema("instantActions").iter_errors(wire))
    position = fleet_link.instant(
        "LaneSim/AMR-02", [init_position_action("i-1", 1.0, 2.0, "floor", "X1")]
    )
    assert not list(schema("instantActions").iter_errors(json.loads(messages.dump(position))))
    assert json.loads(messages.dump(position))["headerId"] == 1
    assert not errors, errors[0].message
    assert wire["serialNumber"] == "AMR-02" and wire["headerId"] == 0


def test_a_reroute_replaces_only_the_horizon():
    route = GRAPH.route("W1", "D01")
    assert route is not None and route.nodes == ("W1", "X1", "X3", "D01")
    plan = PlannedOrder("O2", route, FLEET.layout, 2)
    plan.first()
    tail = GRAPH.route("X1", "D01", avoid={"X1-X3"})
    assert tail is not None
    update = plan.reroute(tail, {}, 2)
    assert update.order_update_id == 1
    assert (update.nodes[0].node_id, update.nodes[0].sequence_id) == ("X1", 2)
    assert "X1-X3" not in [e.edge_id for e in update.edges]
    assert update.nodes[-1].node_id == "D01"


def test_after_a_refused_update_the_next_one_stitches_where_the_vehicle_stands():
    route = GRAPH.route("W1", "D01")
    assert route is not None
    plan = PlannedOrder("O3", route, FLEET.layout, 1)
    plan.first()
    refused = plan.extend(1)  # the vehicle refuses orderUpdateId 1
    assert refused is not None and plan.decision_point == ("X1", 2)
    plan.rollback(0)  # it still stands at the base end of update 0
    assert plan.decision_point == ("W1", 0)
    tail = GRAPH.route("W1", "D01")
    assert tail is not None
    update = plan.reroute(tail, {}, 1)
    assert update.order_update_id == 2
    assert (update.nodes[0].node_id, update.nodes[0].sequence_id) == ("W1", 0)
