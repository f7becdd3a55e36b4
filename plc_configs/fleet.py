"""The ``fleet:`` and ``buffer:`` sections: AMRs over VDA 5050 and an AS/RS buffer.

Closed containers move themselves: an AMR (a VDA 5050 vehicle on the site's MQTT broker)
takes a container from its put wall to its truck's dock door when the truck is there, or
to the AS/RS in-port when it is not; when the truck docks, the AS/RS gives the containers
back in load order (last stop first) and AMRs take them to the door.

The vehicles drive a layout graph: ``nodes`` (x/y in metres on a map), ``edges`` between
them (both ways unless ``one_way``) and ``stations`` at nodes (put walls, chute ends,
AS/RS in and out ports, dock doors, parking places, chargers). Whether a vehicle is a real
one or LaneSort's simulator is only which process answers on the broker for its
manufacturer and serial number.
"""

from __future__ import annotations

import math
from collections import deque
from typing import Literal

from pydantic import Field, model_validator

from plc_configs.base import Strict
from plc_configs.mqtt import MqttSection

StationKind = Literal[
    "put_wall", "chute_end", "asrs_in", "asrs_out", "dock_door", "parking", "charger"
]


class LayoutNode(Strict):
    """A point the vehicles drive to (metres on a map)."""

    id: str = Field(min_length=1, max_length=32)
    x: float
    y: float
    map: str = Field("floor", description="the map (VDA 5050 mapId) the node is on")


class LayoutEdge(Strict):
    """A lane between two nodes."""

    start: str = Field(description="a node id")
    end: str = Field(description="a node id")
    one_way: bool = Field(False, description="only from start to end")
    max_speed_m_s: float | None = Field(None, gt=0, description="a speed limit on this lane")

    @property
    def id(self) -> str:
        """The edge's id in orders: ``start-end``."""
        return f"{self.start}-{self.end}"


class Station(Strict):
    """A place where a vehicle picks, drops, parks or charges, at one node."""

    id: str = Field(min_length=1, max_length=32)
    kind: StationKind
    node: str = Field(description="the layout node the station is at")
    ref: str | None = Field(
        None,
        description="what the station serves: the put wall id (put_wall), the door id "
        "(dock_door), the asrs device (asrs_in/asrs_out)",
    )


class Layout(Strict):
    """The layout graph the vehicles drive."""

    nodes: list[LayoutNode] = Field(min_length=1)
    edges: list[LayoutEdge] = Field(default_factory=list)
    stations: list[Station] = Field(default_factory=list)

    @model_validator(mode="after")
    def _consistent(self) -> Layout:
        problems: list[str] = []
        ids = [n.id for n in self.nodes]
        for dup in sorted({i for i in ids if ids.count(i) > 1}):
            problems.append(f"nodes: {dup} appears twice")
        known = set(ids)
        for i, edge in enumerate(self.edges):
            for end in (edge.start, edge.end):
                if end not in known:
                    problems.append(f"edges.{i}: node {end} is not in nodes")
            if edge.start == edge.end:
                problems.append(f"edges.{i}: starts and ends at {edge.start}")
        names = [s.id for s in self.stations]
        for dup in sorted({i for i in names if names.count(i) > 1}):
            problems.append(f"stations: {dup} appears twice")
        for i, station in enumerate(self.stations):
            if station.node not in known:
                problems.append(f"stations.{i}.node: {station.node} is not in nodes")
            if station.kind in ("put_wall", "dock_door", "asrs_in", "asrs_out") and not station.ref:
                problems.append(f"stations.{i}.ref: a {station.kind} station names what it serves")
        if not problems:
            problems.extend(self._unreachable())
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def _unreachable(self) -> list[str]:
        """Stations some other station cannot be driven to (one-way lanes included)."""
        out: list[str] = []
        for station in self.stations:
            seen = self.reachable_from(station.node)
            for other in self.stations:
                if other.node not in seen:
                    out.append(f"stations: {other.id} cannot be reached from {station.id}")
                    return out
        return out

    def reachable_from(self, node: str) -> set[str]:
        """Every node a vehicle at ``node`` can drive to."""
        nexts: dict[str, list[str]] = {}
        for edge in self.edges:
            nexts.setdefault(edge.start, []).append(edge.end)
            if not edge.one_way:
                nexts.setdefault(edge.end, []).append(edge.start)
        seen, todo = {node}, deque([node])
        while todo:
            for nxt in nexts.get(todo.popleft(), []):
                if nxt not in seen:
                    seen.add(nxt)
                    todo.append(nxt)
        return seen

    def node(self, node_id: str) -> LayoutNode:
        """The node ``node_id`` (KeyError if unknown)."""
        for node in self.nodes:
            if node.id == node_id:
                return node
        raise KeyError(node_id)

    def station(self, station_id: str) -> Station:
        """The station ``station_id`` (KeyError if unknown)."""
        for station in self.stations:
            if station.id == station_id:
                return station
        raise KeyError(station_id)

    def stations_of(self, kind: StationKind, ref: str | None = None) -> list[Station]:
        """The stations of ``kind`` (serving ``ref`` if given)."""
        return [s for s in self.stations if s.kind == kind and (ref is None or s.ref == ref)]

    def distance(self, a: str, b: str) -> float:
        """Straight-line distance between two nodes (metres)."""
        na, nb = self.node(a), self.node(b)
        return math.hypot(na.x - nb.x, na.y - nb.y)


class VehicleConfig(Strict):
    """One vehicle on the broker."""

    manufacturer: str = Field(min_length=1, description="VDA 5050 manufacturer (topic level)")
    serial_number: str = Field(min_length=1, description="VDA 5050 serialNumber (topic level)")
    home: str | None = Field(None, description="a parking station it starts at and returns to")

    @property
    def key(self) -> str:
        """``manufacturer/serial``: the vehicle's name in LaneSort."""
        return f"{self.manufacturer}/{self.serial_number}"


class DispatchPolicy(Strict):
    """How transport tasks go to vehicles."""

    min_battery_pct: float = Field(
        30, ge=0, le=100, description="below this a vehicle gets no task and goes to a charger"
    )
    charged_pct: float = Field(90, ge=0, le=100, description="a charging vehicle works again")
    lost_after_s: float = Field(
        45,
        gt=0,
        description="a vehicle with no state this long is lost (VDA 5050: a state at least "
        "every 30 s)",
    )
    base_nodes: int = Field(
        3, ge=1, description="nodes released ahead of the vehicle (the base); the rest is horizon"
    )
    instant_action_resend_s: float = Field(
        2.0, gt=0, description="an instant action not in actionStates this long is sent again"
    )
    instant_action_tries: int = Field(5, ge=1, le=50, description="then an alarm")
    order_accept_s: float = Field(
        10, gt=0, description="an order not reflected in the state this long is sent again"
    )
    max_replans: int = Field(
        2, ge=0, description="a rejected or failed task is planned again this often, then fails"
    )


class FleetSection(Strict):
    """The AMR fleet (VDA 5050 over MQTT)."""

    enabled: bool = False
    mqtt: MqttSection | None = Field(None, description="the broker the vehicles are on")
    interface_name: str = Field(
        "uagv", min_length=1, description="the topics' first level (VDA 5050 interfaceName)"
    )
    protocol_version: Literal["2.0.0", "2.1.0"] = Field(
        "2.1.0", description="the version written in messages; both 2.0 and 2.1 are read"
    )
    vehicles: list[VehicleConfig] = Field(default_factory=list)
    layout: Layout | None = None
    dispatch: DispatchPolicy = DispatchPolicy()

    @model_validator(mode="after")
    def _complete(self) -> FleetSection:
        if not self.enabled:
            return self
        problems: list[str] = []
        if not self.vehicles:
            problems.append("vehicles: an enabled fleet needs at least one vehicle")
        if self.mqtt is None:
            problems.append("mqtt: an enabled fleet needs its broker (mqtt.url)")
        if self.layout is None:
            problems.append("layout: an enabled fleet needs a layout")
        keys = [v.key for v in self.vehicles]
        for dup in sorted({k for k in keys if keys.count(k) > 1}):
            problems.append(f"vehicles: {dup} appears twice")
        if self.layout is not None:
            homes = {s.id for s in self.layout.stations_of("parking")}
            for i, vehicle in enumerate(self.vehicles):
                if vehicle.home is not None and vehicle.home not in homes:
                    problems.append(f"vehicles.{i}.home: {vehicle.home} is not a parking station")
        if problems:
            raise ValueError("; ".join(problems))
        return self


class BufferSection(Strict):
    """The AS/RS buffer for containers whose truck is not at its door yet."""

    asrs: str | None = Field(None, description="the asrs device (devices:) of the buffer")
    trucks_docked: list[str] = Field(
        default_factory=list,
        description="trucks at their doors when the line starts (others dock by the TMS or a "
        "supervisor)",
    )


class FleetSimulation(Strict):
    """The simulated vehicles (``simulators.fleet``). Read by the simulator only."""

    speed_m_s: float = Field(1.5, gt=0)
    action_s: float = Field(2.0, ge=0, description="a pick or a drop takes this long")
    state_interval_s: float = Field(30, gt=0, le=30, description="a state at least this often")
    visualization_interval_s: float = Field(1.0, gt=0)
    battery_pct: float = Field(100, ge=0, le=100, description="charge at start")
    drain_pct_per_km: float = Field(5, ge=0)
    charge_pct_per_min: float = Field(20, ge=0)
    reject_rate: float = Field(0.0, ge=0, le=1, description="an order rejected (validationError)")
    action_fail_rate: float = Field(0.0, ge=0, le=1, description="a pick or drop fails")
    drop_off: list[tuple[str, float, float]] = Field(
        default_factory=list,
        description="(serial number, at s, for s): the vehicle drops off the broker without a "
        "clean disconnect",
    )
    low_battery: list[tuple[str, float]] = Field(
        default_factory=list, description="(serial number, at s): its battery falls to 15 %"
    )
    blocked_edges: list[tuple[str, float, float]] = Field(
        default_factory=list, description="(edge id, at s, for s): a lane is blocked"
    )
    truck_arrivals: list[tuple[str, float]] = Field(
        default_factory=list, description="(truck, at s): the TMS tells the truck has docked"
    )


class AsrsSimulation(Strict):
    """The simulated AS/RS (``simulators.asrs``). Read by the simulator only."""

    capacity: int = Field(40, gt=0, description="storage slots")
    store_s: float = Field(2.0, ge=0, description="one store move")
    retrieve_s: float = Field(2.0, ge=0, description="one retrieval move")
    fault_rates: dict[str, float] = Field(
        default_factory=dict,
        description="seeded fault rates by kind (occupied, unknown, drop_reply, lost_ack, "
        "duplicate)",
    )
    crane_faults: list[tuple[float, float]] = Field(
        default_factory=list, description="(at s, for s): the crane faults"
    )
