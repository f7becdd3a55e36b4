"""VDA 5050 orders from a route: base and horizon, and updates stitched at the base's end.

A planned order holds the whole route: node ``i`` has sequence id ``2 i``, the edge after
it ``2 i + 1`` (VDA 5050 6.6.2: sequence ids run over nodes and edges and never change
with updates). The first message releases ``base_nodes`` nodes (the base; its last node is
the decision point) and carries the rest unreleased (the horizon). :meth:`PlannedOrder.extend`
releases more: the update starts at the decision point (same ``nodeId`` and
``sequenceId``), carries an ``orderUpdateId`` one higher and resends nothing else of the
old base. :meth:`PlannedOrder.reroute` replaces the horizon by another way from the decision
point (the base cannot change).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from controller.fleet.graph import Route
from plc_configs.fleet import Layout
from plc_configs.vda5050.messages import Action, ActionParameter, Edge, Node, NodePosition

#: The VDA 5050 ``loadType`` of a LaneSort container (project-specific, agreed at integration).
LOAD_TYPE = "container"


@dataclass(frozen=True, slots=True)
class OrderMessage:
    """The body of one order message (the link adds the header)."""

    order_id: str
    order_update_id: int
    nodes: list[Node]
    edges: list[Edge]


def load_action(kind: str, action_id: str, load_id: str, station: str, station_type: str) -> Action:
    """A ``pick`` or ``drop`` of container ``load_id`` at ``station`` (HARD blocking)."""
    params = {
        "stationType": station_type,
        "stationName": station,
        "loadType": LOAD_TYPE,
        "loadId": load_id,
    }
    return Action(
        action_type=kind,
        action_id=action_id,
        blocking_type="HARD",
        action_parameters=[ActionParameter(key=k, value=v) for k, v in params.items()],
    )


def simple_action(kind: str, action_id: str, blocking: str = "HARD") -> Action:
    """An action without parameters (``startCharging``, ``cancelOrder``, ``startPause`` …)."""
    return Action(action_type=kind, action_id=action_id, blocking_type=blocking)  # type: ignore[arg-type]


def init_position_action(action_id: str, x: float, y: float, map_id: str, node_id: str) -> Action:
    """``initPosition`` at a layout node (VDA 5050 6.8.1: x, y, theta, mapId, lastNodeId)."""
    params = {"x": x, "y": y, "theta": 0.0, "mapId": map_id, "lastNodeId": node_id}
    return Action(
        action_type="initPosition",
        action_id=action_id,
        blocking_type="HARD",
        action_parameters=[ActionParameter(key=k, value=v) for k, v in params.items()],
    )


@dataclass
class PlannedOrder:
    """One order for one vehicle: the whole route, how much of it is released, its updates.

    ``actions`` maps a node's index in the route to the actions run there."""

    order_id: str
    route: Route
    layout: Layout
    base_nodes: int
    actions: dict[int, list[Action]] = field(default_factory=dict)
    update_id: int = 0
    released_to: int = 0
    """Index of the last released node (the decision point)."""
    start: int = 0
    """Index of the first node of the last message sent (its stitching node)."""
    released_by_update: dict[int, int] = field(default_factory=dict)
    """orderUpdateId -> the decision point it released (to go back to after a refusal)."""

    def __post_init__(self) -> None:
        if self.base_nodes < 1:
            raise ValueError("base_nodes must be at least 1")
        self.released_to = min(self.base_nodes, len(self.route.nodes)) - 1
        self.released_by_update[self.update_id] = self.released_to

    def rollback(self, accepted_update: int) -> None:
        """The vehicle refused the updates after ``accepted_update``: its base still ends
        where that one released, so the next update must stitch there."""
        self.released_to = self.released_by_update.get(accepted_update, self.released_to)

    @property
    def last_index(self) -> int:
        """Index of the route's last node."""
        return len(self.route.nodes) - 1

    @property
    def complete(self) -> bool:
        """True once the whole route is released (no horizon left)."""
        return self.released_to >= self.last_index

    @property
    def decision_point(self) -> tuple[str, int]:
        """``(nodeId, sequenceId)`` of the base's last node."""
        return self.route.nodes[self.released_to], 2 * self.released_to

    def index_of_sequence(self, sequence_id: int) -> int:
        """The route index of the node with ``sequence_id``."""
        return sequence_id // 2

    def first(self) -> OrderMessage:
        """The first message (orderUpdateId 0): base and horizon."""
        self.start = 0
        return self._message(0)

    def current(self) -> OrderMessage:
        """The last message again (to resend when the vehicle did not show it)."""
        return self._message(self.start)

    def extend(self, more: int) -> OrderMessage | None:
        """Release ``more`` nodes past the decision point; the update (``orderUpdateId`` + 1)
        starts at the old decision point. None when everything is released already."""
        if self.complete or more < 1:
            return None
        self.start = self.released_to
        self.released_to = min(self.released_to + more, self.last_index)
        self.update_id += 1
        self.released_by_update[self.update_id] = self.released_to
        return self._message(self.start)

    def reroute(
        self, tail: Route, tail_actions: dict[int, list[Action]], more: int
    ) -> OrderMessage:
        """Replace everything after the decision point by ``tail`` (which starts there), with
        ``tail_actions`` (by index in ``tail``; index 0, the stitching node, keeps its own),
        and send it as an update releasing ``more`` nodes of it (VDA 5050 6.6.2: the base
        cannot change, the horizon can)."""
        here, _ = self.decision_point
        if tail.nodes[0] != here:
            raise ValueError(f"a new way must start at the decision point {here}")
        keep = self.released_to
        nodes = self.route.nodes[: keep + 1] + tail.nodes[1:]
        edges = self.route.edges[:keep] + tail.edges
        actions = {i: a for i, a in self.actions.items() if i <= keep}
        for i, acts in tail_actions.items():
            if i > 0:
                actions[keep + i] = acts
        self.route = Route(nodes, edges, self.route.length + tail.length)
        self.actions = actions
        self.start = keep
        self.released_to = min(keep + max(more, 0), self.last_index)
        self.update_id += 1
        self.released_by_update[self.update_id] = self.released_to
        return self._message(self.start)

    def _message(self, start: int) -> OrderMessage:
        nodes: list[Node] = []
        edges: list[Edge] = []
        route = self.route
        for i in range(start, len(route.nodes)):
            node_id = route.nodes[i]
            where = self.layout.node(node_id)
            nodes.append(
                Node(
                    node_id=node_id,
                    sequence_id=2 * i,
                    released=i <= self.released_to,
                    actions=list(self.actions.get(i, [])),
                    node_position=NodePosition(x=where.x, y=where.y, map_id=where.map),
                )
            )
            if i < len(route.edges):
                lane = route.edges[i]
                edges.append(
                    Edge(
                        edge_id=lane.id,
                        sequence_id=2 * i + 1,
                        released=i + 1 <= self.released_to,
                        start_node_id=node_id,
                        end_node_id=route.nodes[i + 1],
                        max_speed=lane.max_speed_m_s,
                        length=round(self.layout.distance(lane.start, lane.end), 3),
                    )
                )
        return OrderMessage(self.order_id, self.update_id, nodes, edges)
