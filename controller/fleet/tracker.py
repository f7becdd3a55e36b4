"""What each vehicle last told: connection, state, position, and when it was last heard.

Pure bookkeeping: :meth:`Tracker.on_state` and friends take a parsed message and the
clock's now and answer what changed (action statuses, errors that appeared, nodes
passed); :meth:`Tracker.check_lost` marks a vehicle LOST when no state came for
``lost_after_s`` (the ``connection`` topic is the broker's view of the MQTT session, not
the vehicle's health: VDA 5050 6.5). A lost vehicle's container stays where it was last
known; it is never guessed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from plc_configs.fleet import VehicleConfig
from plc_configs.vda5050.messages import Connection, State, VehicleError, Visualization


def error_key(error: VehicleError) -> tuple[str, tuple[tuple[str, str], ...]]:
    """An error's identity across states: its type and references."""
    refs = tuple(sorted((r.reference_key, r.reference_value) for r in error.error_references or []))
    return error.error_type, refs


@dataclass
class StateChange:
    """What one state message changed for its vehicle."""

    actions: dict[str, str] = field(default_factory=dict)
    """actionId -> new actionStatus (only those that changed)."""
    new_errors: list[VehicleError] = field(default_factory=list)
    gone_errors: list[tuple[str, tuple[tuple[str, str], ...]]] = field(default_factory=list)
    passed: str | None = None
    """The node just passed (``lastNodeId`` changed), if any."""
    found: bool = False
    """The vehicle was lost and reports again."""


@dataclass
class VehicleTrack:
    """One vehicle as the master knows it."""

    config: VehicleConfig
    connection: str = "UNKNOWN"
    state: State | None = None
    last_seen: float | None = None
    """Clock time of the last state."""
    lost: bool = False
    position: tuple[float, float, float, str] | None = None
    factsheet: dict[str, Any] | None = None
    action_status: dict[str, str] = field(default_factory=dict)
    errors: dict[tuple[str, tuple[tuple[str, str], ...]], VehicleError] = field(
        default_factory=dict
    )

    @property
    def key(self) -> str:
        """``manufacturer/serial``."""
        return self.config.key

    @property
    def last_node(self) -> str | None:
        """The node it last passed (or stands on), or None before its first state."""
        if self.state is None or not self.state.last_node_id:
            return None
        return self.state.last_node_id

    @property
    def battery(self) -> float | None:
        """Battery charge in %, or None."""
        return None if self.state is None else self.state.battery_state.battery_charge

    @property
    def charging(self) -> bool:
        """True while charging."""
        return self.state is not None and self.state.battery_state.charging

    @property
    def loads(self) -> list[str]:
        """The load ids it reports carrying."""
        if self.state is None:
            return []
        return [load.load_id or "?" for load in self.state.loads or []]

    @property
    def fatal(self) -> bool:
        """True while it reports a FATAL error."""
        return any(e.error_level == "FATAL" for e in self.errors.values())

    @property
    def busy(self) -> bool:
        """True while it has nodes to drive or actions not finished (VDA 5050 6.6.2 step 3)."""
        if self.state is None:
            return True
        if self.state.node_states:
            return True
        return any(a.action_status not in ("FINISHED", "FAILED") for a in self.state.action_states)

    @property
    def online(self) -> bool:
        """Heard from, not lost, and its MQTT session not known broken or offline."""
        return (
            self.state is not None
            and not self.lost
            and self.connection
            not in (
                "OFFLINE",
                "CONNECTIONBROKEN",
            )
        )

    def snapshot(self) -> dict[str, Any]:
        """A JSON-ready view for the API and HMI."""
        state = self.state
        return {
            "key": self.key,
            "manufacturer": self.config.manufacturer,
            "serial_number": self.config.serial_number,
            "connection": self.connection,
            "lost": self.lost,
            "position": (
                None
                if self.position is None
                else dict(zip(("x", "y", "theta", "map"), self.position, strict=True))
            ),
            "last_node": self.last_node,
            "battery_pct": self.battery,
            "charging": self.charging,
            "driving": bool(state and state.driving),
            "paused": bool(state and state.paused),
            "operating_mode": state.operating_mode if state else None,
            "loads": self.loads,
            "order_id": state.order_id if state else None,
            "errors": [
                {
                    "type": e.error_type,
                    "level": e.error_level,
                    "description": e.error_description,
                    "references": dict(k[1]),
                }
                for k, e in self.errors.items()
            ],
            "factsheet": self.factsheet is not None,
        }


class Tracker:
    """Every configured vehicle's track."""

    def __init__(self, vehicles: list[VehicleConfig], lost_after_s: float):
        self.vehicles = {v.key: VehicleTrack(v) for v in vehicles}
        self.lost_after_s = lost_after_s

    def __getitem__(self, key: str) -> VehicleTrack:
        return self.vehicles[key]

    def __contains__(self, key: object) -> bool:
        return key in self.vehicles

    def on_connection(self, key: str, message: Connection) -> str:
        """Record the connection state; answers it."""
        self.vehicles[key].connection = message.connection_state
        return message.connection_state

    def on_visualization(self, key: str, message: Visualization) -> None:
        """A position between states."""
        pos = message.agv_position
        if pos is not None:
            self.vehicles[key].position = (pos.x, pos.y, pos.theta, pos.map_id)

    def on_factsheet(self, key: str, factsheet: dict[str, Any]) -> None:
        """Keep the factsheet (shown, a few fields read)."""
        self.vehicles[key].factsheet = factsheet

    def on_state(self, key: str, state: State, now: float) -> StateChange:
        """Take a state message; answer what changed."""
        track = self.vehicles[key]
        change = StateChange(found=track.lost)
        if track.state is not None and state.last_node_id != track.state.last_node_id:
            change.passed = state.last_node_id or None
        elif track.state is None and state.last_node_id:
            change.passed = state.last_node_id
        statuses = {a.action_id: a.action_status for a in state.action_states}
        for action_id, status in statuses.items():
            if track.action_status.get(action_id) != status:
                change.actions[action_id] = status
        track.action_status = statuses
        errors = {error_key(e): e for e in state.errors}
        change.new_errors = [e for k, e in errors.items() if k not in track.errors]
        change.gone_errors = [k for k in track.errors if k not in errors]
        track.errors = errors
        track.state = state
        track.last_seen = now
        track.lost = False
        if state.agv_position is not None:
            p = state.agv_position
            track.position = (p.x, p.y, p.theta, p.map_id)
        return change

    def check_lost(self, now: float) -> list[VehicleTrack]:
        """Vehicles that just became lost (no state for ``lost_after_s``)."""
        out = []
        for track in self.vehicles.values():
            if track.lost or track.last_seen is None:
                continue
            if now - track.last_seen >= self.lost_after_s:
                track.lost = True
                out.append(track)
        return out
