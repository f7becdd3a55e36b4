"""One simulated vehicle's behaviour (VDA 5050 2.1): orders, motion, actions, battery.

Synchronous and free of I/O: :class:`VehicleModel` takes orders and instant actions
(:meth:`~VehicleModel.handle_order`, :meth:`~VehicleModel.handle_instant`), moves on
:meth:`~VehicleModel.step` (real seconds), and says what to publish
(:meth:`~VehicleModel.state`, :attr:`~VehicleModel.changed`). :mod:`simulators.fleet.vehicle`
puts it on the broker.

Conventions (what a master can rely on):

* a new order (new ``orderId``) is taken only when the vehicle is idle (no ``nodeStates``,
  no action that is not FINISHED/FAILED), else ``orderUpdateError``; an update must start
  at the current decision point (``nodeId`` and ``sequenceId``), else ``orderUpdateError``;
  the same ``orderId``/``orderUpdateId`` again is ignored; see :mod:`.orders` for
  ``validationError``/``orderError``/``noRouteError``. Errors stay in ``errors`` until an
  order is accepted;
* node actions: ``pick``/``drop`` (``action_s`` each; ``loads`` follows),
  ``startCharging``/``stopCharging`` (at a charger station's node). All of one node's
  actions run in list order (HARD waits for the others, NONE runs alongside); the vehicle
  drives on when no SOFT/HARD action is left. A FAILED action does not stop the order;
* instant actions: ``cancelOrder``, ``startPause``, ``stopPause``, ``factsheetRequest``,
  ``stateRequest``, ``initPosition``, ``startCharging``, ``stopCharging``; another type is
  reported only in ``errors`` (``instantActionError``). Pause stops driving (mid-edge
  too); running actions go on (§6.8.1 "Actions can continue").
"""

from __future__ import annotations

import logging
import math
import random
from collections import deque
from collections.abc import Callable

from plc_configs.fleet import FleetSimulation, Layout, LayoutEdge
from plc_configs.vda5050.messages import (
    TERMINAL_STATUSES,
    Action,
    ActionState,
    Edge,
    Load,
    Node,
    Order,
    VehicleError,
)
from simulators.fleet.actions import ActionsMixin, _Running, make_error
from simulators.fleet.orders import (
    OrderRejection,
    check_route,
    check_start,
    check_structure,
    lane,
    order_refs,
)

log = logging.getLogger(__name__)

LOW_BATTERY_PCT = 15.0
"""Where the ``low_battery`` fault puts the battery."""

CONDITION_ERRORS = frozenset({"pathBlocked"})
"""Errors that last while a condition lasts (not cleared by an accepted order)."""


class VehicleModel(ActionsMixin):
    """A vehicle on the layout: its order, position, loads, battery and errors."""

    def __init__(
        self,
        manufacturer: str,
        serial: str,
        layout: Layout,
        settings: FleetSimulation,
        *,
        home_node: str | None = None,
        version: str = "2.1.0",
        blocked: Callable[[LayoutEdge], bool] = lambda _lane: False,
        rng: random.Random | None = None,
    ) -> None:
        self.manufacturer, self.serial, self.version = manufacturer, serial, version
        self.layout, self.settings, self.blocked = layout, settings, blocked
        self.rng = rng or random.Random(0)
        start = layout.node(home_node) if home_node else layout.nodes[0]
        self.x, self.y, self.theta, self.map_id = start.x, start.y, 0.0, start.map
        self.last_node_id, self.last_node_seq = start.id, 0
        self.battery = float(settings.battery_pct)
        self.charging = False
        self.loads: list[Load] = []
        self.paused = False
        self.order_id, self.order_update_id, self.cancelled = "", 0, False
        self.nodes: list[Node] = []  # not yet traversed, base then horizon
        self.edges: list[Edge] = []  # not yet left; edges[i] ends at nodes[i]
        self.on_edge_m = 0.0  # how far along edges[0]
        self.actions: dict[str, ActionState] = {}
        self._instant_ids: set[str] = set()
        self._instant_order: deque[str] = deque()
        self._node_of_action: dict[str, int] = {}  # action id → node sequence id
        self._pending: list[Action] = []  # triggered at the current node, not started
        self._running: list[_Running] = []
        self._cancel_id: str | None = None
        self.errors: list[VehicleError] = []
        self.driving, self.speed = False, 0.0
        self.distance_since_last_node = 0.0
        self.changed = True
        self.factsheet_requested = False
        self.fail_next_action: str | None = None
        self.reject_next: str | None = None

    # ---- orders -------------------------------------------------------------------------

    @property
    def busy(self) -> bool:
        """Still executing an order or waiting for an update (§6.6.2 step 3)."""
        return bool(self.nodes) or any(
            s.action_status not in TERMINAL_STATUSES for s in self.actions.values()
        )

    def decision_point(self) -> tuple[str, int]:
        """The last base node: where an update must start."""
        released = [n for n in self.nodes if n.released]
        if released:
            return released[-1].node_id, released[-1].sequence_id
        return self.last_node_id, self.last_node_seq

    def handle_order(self, order: Order) -> None:
        """Take ``order`` (new order or update) or report why not in :attr:`errors`."""
        if self.order_id and (order.order_id, order.order_update_id) == (
            self.order_id,
            self.order_update_id,
        ):
            log.debug(
                "%s: order %s/%d again: ignored", self.serial, self.order_id, self.order_update_id
            )
            return
        try:
            self._check_forced(order)
            check_structure(order, self.layout)
            check_route(order, self.layout, self.blocked)
            if order.order_id != self.order_id:
                if self.busy:
                    raise OrderRejection(
                        "orderUpdateError",
                        f"still executing order {self.order_id}",
                        order_refs(order),
                    )
                check_start(order, self.layout, self.x, self.y, self.map_id, self.last_node_id)
                self._accept_new(order)
            else:
                self._check_update(order)
                self._accept_update(order)
        except OrderRejection as rejection:
            log.info("%s: order %s rejected: %s", self.serial, order.order_id, rejection)
            self.add_error(rejection.to_error())

    def _check_forced(self, order: Order) -> None:
        forced = self.reject_next
        if forced is None and self.rng.random() < self.settings.reject_rate:
            forced = "validationError"
        if forced is not None:
            self.reject_next = None
            raise OrderRejection(forced, "rejected (injected fault)", order_refs(order))

    def _check_update(self, order: Order) -> None:
        def refuse(text: str) -> OrderRejection:
            return OrderRejection("orderUpdateError", text, order_refs(order))

        if order.order_update_id < self.order_update_id:
            raise refuse(f"orderUpdateId {order.order_update_id} < {self.order_update_id}")
        if self.cancelled:
            raise refuse(f"order {self.order_id} was cancelled")
        first = order.nodes[0]
        node_id, seq = self.decision_point()
        if (first.node_id, first.sequence_id) != (node_id, seq):
            raise refuse(
                f"update starts at {first.node_id}/{first.sequence_id}, "
                f"not at the decision point {node_id}/{seq}"
            )

    def _accept_new(self, order: Order) -> None:
        self.order_id, self.order_update_id = order.order_id, order.order_update_id
        self.cancelled = False
        self._clear_order_errors()
        keep = {k: s for k, s in self.actions.items() if s.action_status not in TERMINAL_STATUSES}
        self.actions, self._node_of_action = keep, {}
        self._instant_order = deque(k for k in self._instant_order if k in keep)
        self.nodes, self.edges, self.on_edge_m = list(order.nodes), list(order.edges), 0.0
        self._register(self.nodes)
        first = self.nodes.pop(0)
        node = self.layout.node(first.node_id)
        self.x, self.y, self.map_id = node.x, node.y, node.map
        self._arrive(first)
        log.info("%s: order %s accepted", self.serial, order.order_id)

    def _accept_update(self, order: Order) -> None:
        self.order_update_id = order.order_update_id
        self._clear_order_errors()
        dropped = [n for n in self.nodes if not n.released]
        for node in dropped:
            for action in node.actions:
                self.actions.pop(action.action_id, None)
        self.nodes = [n for n in self.nodes if n.released] + list(order.nodes[1:])
        self.edges = [e for e in self.edges if e.released] + list(order.edges)
        self._register(order.nodes[1:])
        self.changed = True
        log.info("%s: order %s update %d", self.serial, self.order_id, order.order_update_id)

    def _register(self, nodes: list[Node]) -> None:
        for node in nodes:
            for action in node.actions:
                self.actions[action.action_id] = ActionState(
                    action_id=action.action_id,
                    action_type=action.action_type,
                    action_description=action.action_description,
                    action_status="WAITING",
                )
                self._node_of_action[action.action_id] = node.sequence_id

    def _arrive(self, node: Node) -> None:
        """Traverse ``node``: it becomes the last node; its actions are triggered."""
        self.last_node_id, self.last_node_seq = node.node_id, node.sequence_id
        self.distance_since_last_node = 0.0
        self._pending.extend(
            a
            for a in node.actions
            if a.action_id in self.actions and self.actions[a.action_id].action_status == "WAITING"
        )
        self.changed = True

    # ---- errors -------------------------------------------------------------------------

    def add_error(self, error: VehicleError) -> None:
        """Report ``error`` in ``state.errors``."""
        self.errors.append(error)
        self.changed = True

    def _clear_order_errors(self) -> None:
        self.errors = [e for e in self.errors if e.error_type in CONDITION_ERRORS]
        self.changed = True

    def _set_condition(self, error_type: str, on: bool, text: str = "", **refs: str) -> None:
        present = any(e.error_type == error_type for e in self.errors)
        if on and not present:
            self.add_error(make_error(error_type, text, refs))
        elif not on and present:
            self.errors = [e for e in self.errors if e.error_type != error_type]
            self.changed = True

    # ---- motion -------------------------------------------------------------------------

    def step(self, dt: float) -> None:
        """Let ``dt`` seconds pass: actions, charging, driving."""
        if self.charging:
            self.battery = min(100.0, self.battery + self.settings.charge_pct_per_min * dt / 60)
        self._run_actions(dt)
        moved = self._drive(dt)
        if self._cancel_id is not None and self.on_edge_m == 0:
            self._end_cancel()
        if moved and self.on_edge_m == 0 and not self._may_drive():
            moved = False  # arrived where it stops: it stands still from now
        if self.driving != moved:
            self.driving, self.changed = moved, True
        if not moved:
            self.speed = 0.0

    def _may_drive(self) -> bool:
        if self.paused or self._pending:
            return False
        if any(r.action.blocking_type != "NONE" for r in self._running if not r.instant):
            return False
        return bool(self.edges) and self.edges[0].released and self.nodes[0].released

    def _drive(self, dt: float) -> bool:
        if not self._may_drive():
            return False
        edge = self.edges[0]
        found = lane(self.layout, edge.start_node_id, edge.end_node_id)
        assert found is not None  # checked when the order was taken
        if self.on_edge_m == 0:
            blocked = self.blocked(found)
            self._set_condition(
                "pathBlocked", blocked, f"lane {found.id} is blocked", edgeId=edge.edge_id
            )
            if blocked:
                return False
        if self.charging:  # driving off the charger ends the charge
            self.charging, self.changed = False, True
        a, b = self.layout.node(edge.start_node_id), self.layout.node(edge.end_node_id)
        length = math.hypot(b.x - a.x, b.y - a.y)
        limits = [self.settings.speed_m_s, edge.max_speed, found.max_speed_m_s]
        self.speed = min(v for v in limits if v is not None)
        step = min(self.speed * dt, length - self.on_edge_m)
        self.on_edge_m += step
        self.distance_since_last_node = self.on_edge_m
        self.battery = max(0.0, self.battery - self.settings.drain_pct_per_km * step / 1000)
        self.theta = math.atan2(b.y - a.y, b.x - a.x)
        if self.on_edge_m >= length - 1e-9:
            self.x, self.y, self.map_id, self.on_edge_m = b.x, b.y, b.map, 0.0
            self.edges.pop(0)
            self._arrive(self.nodes.pop(0))
        else:
            f = self.on_edge_m / length if length else 1.0
            self.x, self.y = a.x + (b.x - a.x) * f, a.y + (b.y - a.y) * f
        return True

    def set_battery(self, pct: float) -> None:
        """Put the battery at ``pct`` % (the ``low_battery`` fault, tests)."""
        self.battery = max(0.0, min(100.0, pct))
        self.changed = True
