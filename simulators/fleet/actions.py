"""Actions of a simulated vehicle: node actions of its order and instant actions.

A mixin of :class:`simulators.fleet.model.VehicleModel` (it uses the model's attributes).
``pick``/``drop`` take ``FleetSimulation.action_s``; ``loads`` changes when one FINISHES.
A pick or drop FAILS (``resultDescription`` says why, and a ``loadHandlingError`` WARNING
names its ``actionId``) when the vehicle already carries a load (pick), carries none or
another one (drop), or a fault was injected. ``cancelOrder`` fails the order's waiting and
running actions, stops at the next node and then reports FINISHED; with no order it FAILS
and ``noOrderToCancel`` is reported (§6.6.3.2).
"""

from __future__ import annotations

import random
from collections import deque
from dataclasses import dataclass

from plc_configs.fleet import FleetSimulation, Layout
from plc_configs.vda5050.messages import (
    Action,
    ActionState,
    Edge,
    ErrorReference,
    Load,
    Node,
    VehicleError,
)

INSTANT_ACTIONS = frozenset(
    {
        "cancelOrder",
        "startPause",
        "stopPause",
        "factsheetRequest",
        "stateRequest",
        "initPosition",
        "startCharging",
        "stopCharging",
    }
)
"""The instant actions a simulated vehicle understands."""

MAX_INSTANT_STATES = 32
"""Instant action states kept in ``actionStates`` (the oldest are forgotten)."""


@dataclass
class _Running:
    action: Action
    remaining_s: float
    instant: bool
    fail: str | None = None


class ActionsMixin:
    """Runs node actions and instant actions on the vehicle model."""

    layout: Layout
    settings: FleetSimulation
    rng: random.Random
    actions: dict[str, ActionState]
    loads: list[Load]
    nodes: list[Node]
    edges: list[Edge]
    errors: list[VehicleError]
    last_node_id: str
    last_node_seq: int
    on_edge_m: float
    x: float
    y: float
    theta: float
    map_id: str
    paused: bool
    charging: bool
    driving: bool
    cancelled: bool
    changed: bool
    factsheet_requested: bool
    fail_next_action: str | None
    _instant_ids: set[str]
    _instant_order: deque[str]
    _node_of_action: dict[str, int]
    _pending: list[Action]
    _running: list[_Running]
    _cancel_id: str | None

    @property
    def busy(self) -> bool:
        """Defined by the model."""
        raise NotImplementedError

    def add_error(self, error: VehicleError) -> None:
        """Defined by the model."""
        raise NotImplementedError

    def _set_condition(self, error_type: str, on: bool, text: str = "", **refs: str) -> None:
        raise NotImplementedError  # pragma: no cover - defined by the model

    def _status(self, action: Action, status: str, result: str | None = None) -> None:
        state = self.actions.get(action.action_id)
        if state is None:
            return
        state.action_status = status  # type: ignore[assignment]
        if result is not None:
            state.result_description = result
        self.changed = True

    def _start(self, action: Action, instant: bool) -> None:
        kind = action.action_type
        if kind in ("pick", "drop"):
            fail = self._load_problem(action)
            if fail is None and self.fail_next_action is not None:
                fail, self.fail_next_action = self.fail_next_action, None
            if fail is None and self.rng.random() < self.settings.action_fail_rate:
                fail = "load sensor fault (injected)"
            self._running.append(_Running(action, self.settings.action_s, instant, fail))
            self._status(action, "RUNNING")
        elif kind in ("startCharging", "stopCharging"):
            if self._at_charger():
                self.charging = kind == "startCharging"
                self._status(action, "FINISHED")
            else:
                self._status(action, "FAILED", f"{self.last_node_id} is not a charger")
                self.add_error(
                    make_error("chargingError", "not at a charger", {"actionId": action.action_id})
                )

    def _load_problem(self, action: Action) -> str | None:
        load_id = action.parameter("loadId")
        if action.action_type == "pick" and self.loads:
            return "already carrying a load"
        if action.action_type == "drop":
            if not self.loads:
                return "no load to drop"
            if load_id is not None and self.loads[0].load_id not in (None, load_id):
                return f"carrying load {self.loads[0].load_id}, not {load_id}"
        return None

    def _finish(self, run: _Running) -> None:
        action = run.action
        if run.fail is not None:
            self._status(action, "FAILED", run.fail)
            refs = {"actionId": action.action_id, "actionType": action.action_type}
            self.add_error(make_error("loadHandlingError", run.fail, refs))
            return
        if action.action_type == "pick":
            self.loads = [
                Load(
                    load_id=action.parameter("loadId"),
                    load_type=action.parameter("loadType"),
                    load_position=action.parameter("lhd", "LHD1"),
                )
            ]
            result = f"picked {action.parameter('loadId') or 'a load'}"
        else:
            self.loads = []
            result = f"dropped {action.parameter('loadId') or 'the load'}"
        self._status(action, "FINISHED", result)

    def _at_charger(self) -> bool:
        return self.on_edge_m == 0 and any(
            s.node == self.last_node_id for s in self.layout.stations_of("charger")
        )

    def _run_actions(self, dt: float) -> None:
        for run in list(self._running):
            run.remaining_s -= dt
            if run.remaining_s <= 0:
                self._running.remove(run)
                self._finish(run)
        while self._pending:
            head = self._pending[0]
            if any(r.action.blocking_type == "HARD" for r in self._running):
                break
            if head.blocking_type == "HARD" and self._running:
                break
            self._pending.pop(0)
            self._start(head, instant=False)
        for run in list(self._running):  # zero-length actions end in the same step
            if run.remaining_s <= 0:
                self._running.remove(run)
                self._finish(run)

    # ---- instant actions ----------------------------------------------------------------

    def handle_instant(self, action: Action, header_id: int = 0) -> None:
        """Run one instant action (a repeated ``actionId`` is not run again)."""
        if action.action_id in self._instant_ids:
            return
        if action.action_type not in INSTANT_ACTIONS:
            refs = {
                "headerId": str(header_id),
                "topic": "instantActions",
                "actionId": action.action_id,
                "actionType": action.action_type,
            }
            self.add_error(make_error("instantActionError", "unknown instant action", refs))
            return
        self._instant_ids.add(action.action_id)
        self._instant_order.append(action.action_id)
        while len(self._instant_order) > 32:  # forget the oldest finished instant actions
            self.actions.pop(self._instant_order.popleft(), None)
        self.actions[action.action_id] = ActionState(
            action_id=action.action_id, action_type=action.action_type, action_status="RUNNING"
        )
        kind = action.action_type
        if kind == "cancelOrder":
            self._cancel(action)
        elif kind in ("startPause", "stopPause"):
            self.paused = kind == "startPause"
            self._status(action, "FINISHED")
        elif kind == "factsheetRequest":
            self.factsheet_requested = True
            self._status(action, "FINISHED")
        elif kind == "stateRequest":
            self._status(action, "FINISHED")
        elif kind == "initPosition":
            self._init_position(action)
        else:
            self._start(action, instant=True)

    def _init_position(self, action: Action) -> None:
        if self.nodes or self.driving:
            self._status(action, "FAILED", "an order is active")
            return
        try:
            self.x = float(action.parameter("x"))
            self.y = float(action.parameter("y"))
            self.theta = float(action.parameter("theta", 0.0))
        except (TypeError, ValueError):
            self._status(action, "FAILED", "x, y and theta must be numbers")
            return
        self.map_id = str(action.parameter("mapId", self.map_id))
        self.last_node_id = str(action.parameter("lastNodeId", ""))
        self.last_node_seq, self.on_edge_m = 0, 0.0
        self._status(action, "FINISHED")

    def _cancel(self, action: Action) -> None:
        if self.cancelled or not self.busy:
            self._status(action, "FAILED", "no order to cancel")
            refs = {"actionId": action.action_id}
            self.add_error(make_error("noOrderToCancel", "no order to cancel", refs))
            return
        for run in [r for r in self._running if not r.instant]:
            self._running.remove(run)
            self._status(run.action, "FAILED", "order cancelled")
        self._pending.clear()
        for key, state in self.actions.items():
            if key in self._node_of_action and state.action_status == "WAITING":
                state.action_status = "FAILED"
                state.result_description = "order cancelled"
        self._cancel_id = action.action_id
        if self.on_edge_m > 0:  # stop at the next node
            self.nodes, self.edges = self.nodes[:1], self.edges[:1]
        else:
            self._end_cancel()
        self.changed = True

    def _end_cancel(self) -> None:
        self.nodes, self.edges, self.on_edge_m = [], [], 0.0
        self.cancelled = True
        if self._cancel_id is not None:
            self.actions[self._cancel_id].action_status = "FINISHED"
            self._cancel_id = None
        self._set_condition("pathBlocked", False)
        self.changed = True


def make_error(error_type: str, text: str, refs: dict[str, str]) -> VehicleError:
    """A WARNING for ``state.errors`` with ``refs`` as its error references."""
    return VehicleError(
        error_type=error_type,
        error_level="WARNING",
        error_description=text,
        error_references=[
            ErrorReference(reference_key=k, reference_value=v) for k, v in refs.items()
        ],
    )
