"""VDA 5050 2.x messages, written from the specification (2.0.0 and 2.1.0).

Both sides of the wire use these models: the master (``controller.fleet``, through
``drivers.vda5050``) and the vehicle simulator (``simulators.fleet``). Field names are the
specification's camelCase on the wire and snake_case here. Reading is lenient in what the
two versions spell differently (``allowedDeviationXy`` in 2.0, ``allowedDeviationXY`` in
2.1) and ignores fields it does not know (a vehicle may send more); writing follows the
configured version (:func:`dump`) and leaves out what is unset, as the schemas allow.

The tests check every message LaneSort publishes against the official 2.1.0 JSON schemas
(``../shared/vda5050/2.1.0/``, VDA5050/VDA5050 tag 2.1.0).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, ValidationError
from pydantic.alias_generators import to_camel

BlockingType = Literal["NONE", "SOFT", "HARD"]
ActionStatus = Literal["WAITING", "INITIALIZING", "RUNNING", "PAUSED", "FINISHED", "FAILED"]
ConnectionState = Literal["ONLINE", "OFFLINE", "CONNECTIONBROKEN"]
ErrorLevel = Literal["WARNING", "FATAL"]
OperatingMode = Literal["AUTOMATIC", "SEMIAUTOMATIC", "MANUAL", "SERVICE", "TEACHIN"]
TERMINAL_STATUSES = frozenset({"FINISHED", "FAILED"})


class MessageError(ValueError):
    """A payload that is not a valid VDA 5050 message of the expected kind."""


class _Model(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="ignore", frozen=False
    )


class Header(_Model):
    """The fields every message starts with."""

    header_id: int = 0
    timestamp: str = ""
    version: str = "2.1.0"
    manufacturer: str
    serial_number: str


class ActionParameter(_Model):
    """One ``key``/``value`` of an action."""

    key: str
    value: Any


class Action(_Model):
    """An action on a node or edge, or an instant action."""

    action_type: str
    action_id: str
    blocking_type: BlockingType = "HARD"
    action_description: str | None = None
    action_parameters: list[ActionParameter] | None = None

    def parameter(self, key: str, default: Any = None) -> Any:
        """The value of parameter ``key``, or ``default``."""
        for parameter in self.action_parameters or []:
            if parameter.key == key:
                return parameter.value
        return default


class NodePosition(_Model):
    """Where a node is (metres, radians) on a map."""

    x: float
    y: float
    map_id: str
    theta: float | None = None
    allowed_deviation_xy: float | None = Field(
        None,
        validation_alias=AliasChoices("allowedDeviationXY", "allowedDeviationXy"),
        serialization_alias="allowedDeviationXY",
    )
    allowed_deviation_theta: float | None = None
    map_description: str | None = None


class Node(_Model):
    """A node of an order (even sequence ids)."""

    node_id: str
    sequence_id: int
    released: bool
    actions: list[Action] = Field(default_factory=list)
    node_position: NodePosition | None = None
    node_description: str | None = None


class Edge(_Model):
    """An edge of an order (odd sequence ids), between two of its nodes."""

    edge_id: str
    sequence_id: int
    released: bool
    start_node_id: str
    end_node_id: str
    actions: list[Action] = Field(default_factory=list)
    max_speed: float | None = None
    length: float | None = None
    edge_description: str | None = None


class Order(Header):
    """An order: nodes and edges, the released ones the base, the rest the horizon."""

    order_id: str
    order_update_id: int
    nodes: list[Node]
    edges: list[Edge]
    zone_set_id: str | None = None


class InstantActions(Header):
    """Actions to run now (``cancelOrder``, ``startPause``, ``factsheetRequest``, …)."""

    actions: list[Action]


class NodeState(_Model):
    """A node of the current order the vehicle has not passed yet."""

    node_id: str
    sequence_id: int
    released: bool
    node_position: NodePosition | None = None
    node_description: str | None = None


class EdgeState(_Model):
    """An edge of the current order the vehicle has not passed yet."""

    edge_id: str
    sequence_id: int
    released: bool
    edge_description: str | None = None


class AgvPosition(_Model):
    """Where the vehicle is."""

    x: float
    y: float
    theta: float
    map_id: str
    position_initialized: bool = True
    localization_score: float | None = None
    deviation_range: float | None = None


class Velocity(_Model):
    """The vehicle's speed."""

    vx: float | None = None
    vy: float | None = None
    omega: float | None = None


class Load(_Model):
    """A load on the vehicle."""

    load_id: str | None = None
    load_type: str | None = None
    load_position: str | None = None
    weight: float | None = None


class ActionState(_Model):
    """How far an action is."""

    action_id: str
    action_status: ActionStatus
    action_type: str | None = None
    action_description: str | None = None
    result_description: str | None = None


class BatteryState(_Model):
    """The battery."""

    battery_charge: float
    charging: bool
    battery_voltage: float | None = None
    battery_health: float | None = None
    reach: float | None = None


class ErrorReference(_Model):
    """What an error refers to (``orderId``, ``nodeId``, ``actionId``, …)."""

    reference_key: str
    reference_value: str


class VehicleError(_Model):
    """An error the vehicle reports (``orderUpdateError``, ``noRouteError``, …)."""

    error_type: str
    error_level: ErrorLevel
    error_references: list[ErrorReference] | None = None
    error_description: str | None = None
    error_hint: str | None = None

    def reference(self, key: str) -> str | None:
        """The value of reference ``key``, or None."""
        for ref in self.error_references or []:
            if ref.reference_key == key:
                return ref.reference_value
        return None


class Info(_Model):
    """An information the vehicle reports."""

    info_type: str
    info_level: Literal["INFO", "DEBUG"]
    info_description: str | None = None


class SafetyState(_Model):
    """E-stop and protective field."""

    e_stop: Literal["AUTOACK", "MANUAL", "REMOTE", "NONE"] = "NONE"
    field_violation: bool = False


class State(Header):
    """The vehicle's state, on every change and at least every 30 s."""

    order_id: str = ""
    order_update_id: int = 0
    last_node_id: str = ""
    last_node_sequence_id: int = 0
    node_states: list[NodeState] = Field(default_factory=list)
    edge_states: list[EdgeState] = Field(default_factory=list)
    driving: bool = False
    action_states: list[ActionState] = Field(default_factory=list)
    battery_state: BatteryState
    operating_mode: OperatingMode = "AUTOMATIC"
    errors: list[VehicleError] = Field(default_factory=list)
    safety_state: SafetyState = Field(default_factory=SafetyState)
    paused: bool | None = None
    new_base_request: bool | None = None
    distance_since_last_node: float | None = None
    agv_position: AgvPosition | None = None
    velocity: Velocity | None = None
    loads: list[Load] | None = None
    information: list[Info] | None = None
    zone_set_id: str | None = None


class Connection(Header):
    """``ONLINE``, ``OFFLINE`` or (the broker's last will) ``CONNECTIONBROKEN``."""

    connection_state: ConnectionState


class Visualization(Header):
    """Position and speed, more often than the state."""

    agv_position: AgvPosition | None = None
    velocity: Velocity | None = None


class Factsheet(Header):
    """What the vehicle is (kept whole: the master shows it and reads a few fields)."""

    type_specification: dict[str, Any]
    physical_parameters: dict[str, Any]
    protocol_limits: dict[str, Any]
    protocol_features: dict[str, Any]
    agv_geometry: dict[str, Any]
    load_specification: dict[str, Any]
    vehicle_config: dict[str, Any] | None = None


MODELS: dict[str, type[Header]] = {
    "order": Order,
    "instantActions": InstantActions,
    "state": State,
    "connection": Connection,
    "visualization": Visualization,
    "factsheet": Factsheet,
}


def utc_timestamp(now: datetime | None = None) -> str:
    """ISO 8601 UTC with milliseconds and ``Z``, e.g. ``2026-12-04T14:50:00.123Z``."""
    now = now or datetime.now(UTC)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"


def parse(kind: str, payload: bytes | str) -> Header:
    """The message of ``kind`` (a topic's last part) in ``payload``; :class:`MessageError`."""
    model = MODELS.get(kind)
    if model is None:
        raise MessageError(f"unknown VDA 5050 topic {kind!r}")
    try:
        return model.model_validate_json(payload)
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(message)"
        raise MessageError(f"{kind}: {where}: {first['msg']}") from err


def to_wire(message: Header) -> dict[str, Any]:
    """The message as the JSON object of its version (2.0 or 2.1 spellings)."""
    data = message.model_dump(by_alias=True, exclude_none=True)
    if message.version.startswith("2.0"):
        _respell(data, "allowedDeviationXY", "allowedDeviationXy")
    return data


def dump(message: Header) -> bytes:
    """The message as UTF-8 JSON bytes for the broker."""
    return json.dumps(to_wire(message), separators=(",", ":")).encode()


def _respell(data: Any, old: str, new: str) -> None:
    if isinstance(data, dict):
        if old in data:
            data[new] = data.pop(old)
        for value in data.values():
            _respell(value, old, new)
    elif isinstance(data, list):
        for value in data:
            _respell(value, old, new)
