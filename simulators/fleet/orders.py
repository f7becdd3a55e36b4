"""Checks a simulated vehicle makes on an order before it takes it (VDA 5050 2.1 §6.6).

Pure functions over the layout and the vehicle's position: no I/O. Each problem is an
:class:`OrderRejection` carrying the error a vehicle reports in ``state.errors``:

* ``validationError``: malformed or inconsistent (no nodes, not ``len(nodes) - 1`` edges,
  sequence ids not interleaving ``n, n+1, n+2…``, an edge not joining its neighbouring
  nodes, a released element after the horizon began, a node not in the layout, a new
  order not starting where the vehicle stands);
* ``orderError``: an action the vehicle cannot perform (§6.6.4.2);
* ``noRouteError``: an edge that is not a lane of the layout (or is driven against a
  one-way lane), or a lane that is blocked now.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

from plc_configs.fleet import Layout, LayoutEdge
from plc_configs.vda5050.messages import ErrorReference, Order, VehicleError

NODE_ACTIONS = frozenset({"pick", "drop", "startCharging", "stopCharging"})
"""The action types a simulated vehicle runs on a node of an order."""

DEFAULT_DEVIATION_M = 0.5
"""How far from a node the vehicle may stand and still be "on" it, when the order does
not say (``nodePosition.allowedDeviationXY``)."""


@dataclass
class OrderRejection(Exception):
    """Why an order was not taken: the error the vehicle reports."""

    error_type: str
    description: str
    references: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.error_type}: {self.description}"

    def to_error(self) -> VehicleError:
        """The ``state.errors`` entry (level WARNING)."""
        return VehicleError(
            error_type=self.error_type,
            error_level="WARNING",
            error_description=self.description,
            error_references=[
                ErrorReference(reference_key=k, reference_value=v)
                for k, v in self.references.items()
            ],
        )


def order_refs(order: Order, **more: str) -> dict[str, str]:
    """The error references of a rejected order (§7.1: orderId, orderUpdateId, …)."""
    refs = {
        "headerId": str(order.header_id),
        "topic": "order",
        "orderId": order.order_id,
        "orderUpdateId": str(order.order_update_id),
    }
    refs.update(more)
    return refs


def lane(layout: Layout, start: str, end: str) -> LayoutEdge | None:
    """The layout lane a vehicle may drive from ``start`` to ``end``, or None."""
    for edge in layout.edges:
        if edge.start == start and edge.end == end:
            return edge
        if not edge.one_way and edge.start == end and edge.end == start:
            return edge
    return None


def check_structure(order: Order, layout: Layout) -> None:
    """Raise :class:`OrderRejection` if ``order`` is malformed, names unknown nodes or
    actions; otherwise return."""
    nodes, edges = order.nodes, order.edges

    def bad(text: str, **refs: str) -> OrderRejection:
        return OrderRejection("validationError", text, order_refs(order, **refs))

    if not nodes:
        raise bad("an order has at least one node")
    if len(edges) != len(nodes) - 1:
        raise bad(f"{len(nodes)} nodes need {len(nodes) - 1} edges, not {len(edges)}")
    first = nodes[0].sequence_id
    if first < 0 or first % 2:
        raise bad(f"the first node's sequenceId {first} is not even", nodeId=nodes[0].node_id)
    for i, node in enumerate(nodes):
        if node.sequence_id != first + 2 * i:
            raise bad(
                f"node {i} has sequenceId {node.sequence_id}, expected {first + 2 * i}",
                nodeId=node.node_id,
            )
    for i, edge in enumerate(edges):
        if edge.sequence_id != first + 2 * i + 1:
            raise bad(
                f"edge {i} has sequenceId {edge.sequence_id}, expected {first + 2 * i + 1}",
                edgeId=edge.edge_id,
            )
        a, b = nodes[i], nodes[i + 1]
        if (edge.start_node_id, edge.end_node_id) != (a.node_id, b.node_id):
            raise bad(
                f"edge {edge.edge_id} joins {edge.start_node_id}-{edge.end_node_id}, "
                f"not its nodes {a.node_id}-{b.node_id}",
                edgeId=edge.edge_id,
            )
        if edge.released and not (a.released and b.released):
            raise bad(f"edge {edge.edge_id} is released but a node of it is not")
    if not nodes[0].released:
        raise bad("the first node is not released", nodeId=nodes[0].node_id)
    elements = [x for pair in zip(nodes, [*edges, None], strict=True) for x in pair if x]
    horizon = False
    for element in elements:
        if horizon and element.released:
            raise bad("a released node or edge follows the horizon")
        horizon = horizon or not element.released
    known = {n.id for n in layout.nodes}
    for node in nodes:
        if node.node_id not in known:
            raise bad(f"node {node.node_id} is not in the layout", nodeId=node.node_id)
    on_nodes = [(a, True) for n in nodes for a in n.actions]
    for action, on_node in [*on_nodes, *((a, False) for e in edges for a in e.actions)]:
        if not on_node or action.action_type not in NODE_ACTIONS:
            raise OrderRejection(
                "orderError",
                f"cannot run action {action.action_type} on a {'node' if on_node else 'edge'}",
                order_refs(order, actionId=action.action_id, actionType=action.action_type),
            )


def check_route(order: Order, layout: Layout, blocked: Callable[[LayoutEdge], bool]) -> None:
    """Raise ``noRouteError`` if an edge is not a lane of the layout or is blocked."""
    for edge in order.edges:
        found = lane(layout, edge.start_node_id, edge.end_node_id)
        if found is None:
            raise OrderRejection(
                "noRouteError",
                f"no lane from {edge.start_node_id} to {edge.end_node_id}",
                order_refs(order, edgeId=edge.edge_id),
            )
        if blocked(found):
            raise OrderRejection(
                "noRouteError",
                f"lane {found.id} is blocked",
                order_refs(order, edgeId=edge.edge_id),
            )


def check_start(
    order: Order, layout: Layout, x: float, y: float, map_id: str, last_node_id: str
) -> None:
    """Raise ``validationError`` unless a new order's first node is trivially reachable:
    the vehicle's last node, or within the node's deviation range (§6.6.1)."""
    first = order.nodes[0]
    if first.node_id == last_node_id:
        return
    where = layout.node(first.node_id)
    pos = first.node_position
    allowed = pos.allowed_deviation_xy if pos and pos.allowed_deviation_xy else None
    allowed = DEFAULT_DEVIATION_M if allowed is None else allowed
    if where.map == map_id and math.hypot(where.x - x, where.y - y) <= allowed:
        return
    raise OrderRejection(
        "validationError",
        f"the order starts at {first.node_id}, not where the vehicle is "
        f"(last node {last_node_id or 'none'})",
        order_refs(order, nodeId=first.node_id),
    )
