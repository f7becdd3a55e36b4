"""The line configuration: one YAML file describes a whole sort line.

The same file is read by the controller (``lanesort run``) and by the line
simulator (``lanesort sim``): the devices' addresses say where the controller
connects and where the simulator listens. Sim or real is only an address.

Sections: ``line`` (name, data folder), ``devices`` (driver name and URL per
device), ``topology`` (belt, scan point, decision point, chutes, reject chute),
``register_map`` (the PLC's Modbus map), ``node_map`` (its OPC UA variables),
``decision`` (deadline), ``sort_plan`` (route -> chutes), ``manifest``, ``incidents``
(policy per incident kind), ``images`` (camera images kept with the parcels), ``api``,
``hmi``, ``opcua_server`` (LaneSort's own OPC UA server), ``upstream`` and
``simulation`` (the line twin; ignored by the controller).
"""

from __future__ import annotations

from pydantic import Field, model_validator

from plc_configs.base import Strict as _Strict
from plc_configs.devices import (
    SERIAL_SCHEMES,
    SERIAL_URL_HELP,
    AsrsDevice,
    BarcodeReaderDevice,
    CameraDevice,
    Device,
    DimensionerDevice,
    LabelPrinterDevice,
    PickToLightDevice,
    ScaleDevice,
    SorterPlcDevice,
    check_serial_url,
    parse_nodes,
)
from plc_configs.fleet import BufferSection, FleetSection
from plc_configs.integration import ApiSection, HmiSection, OpcuaServerSection, UpstreamSection
from plc_configs.node_map import NodeMap
from plc_configs.putwall import LoadingSection, PutWallSection
from plc_configs.register_map import RegisterMap
from plc_configs.replanning import ReplanningSection
from plc_configs.sections import (
    UNSORTABLE_INCIDENTS,
    Chute,
    DecisionSection,
    Door,
    ImagesSection,
    IncidentAction,
    IncidentPolicies,
    LabelPattern,
    LabelsSection,
    LineSection,
    ManifestSection,
    MeasureSimulation,
    PlcSimulation,
    ReaderSimulation,
    RoutePlanSimulation,
    RouteRule,
    Simulation,
    Topology,
    TunnelSection,
)
from plc_configs.site_link import SiteLinkSection
from plc_configs.sparkplug import SparkplugSection

__all__ = [
    "SERIAL_SCHEMES",
    "SERIAL_URL_HELP",
    "UNSORTABLE_INCIDENTS",
    "BarcodeReaderDevice",
    "CameraDevice",
    "Chute",
    "DecisionSection",
    "Device",
    "DimensionerDevice",
    "Door",
    "ImagesSection",
    "IncidentAction",
    "IncidentPolicies",
    "LabelPattern",
    "LabelPrinterDevice",
    "LabelsSection",
    "LineConfig",
    "LineSection",
    "ManifestSection",
    "MeasureSimulation",
    "PickToLightDevice",
    "PlcSimulation",
    "ReaderSimulation",
    "RoutePlanSimulation",
    "RouteRule",
    "ScaleDevice",
    "Simulation",
    "SorterPlcDevice",
    "Topology",
    "TunnelSection",
    "check_serial_url",
]


class LineConfig(_Strict):
    """The whole line."""

    line: LineSection
    devices: dict[str, Device] = Field(min_length=1)
    topology: Topology
    register_map: RegisterMap = RegisterMap()
    node_map: NodeMap = NodeMap()
    decision: DecisionSection = DecisionSection()
    sort_plan: dict[str, list[int]] = Field(
        min_length=1, description="route -> chutes in order of preference"
    )
    manifest: ManifestSection = ManifestSection()
    incidents: IncidentPolicies = IncidentPolicies()
    labels: LabelsSection = LabelsSection()
    tunnel: TunnelSection = TunnelSection()
    images: ImagesSection = ImagesSection()
    simulation: Simulation = Simulation()
    api: ApiSection = ApiSection()
    hmi: HmiSection = HmiSection()
    upstream: UpstreamSection = UpstreamSection()
    opcua_server: OpcuaServerSection = OpcuaServerSection()
    replanning: ReplanningSection = ReplanningSection()
    putwall: PutWallSection = PutWallSection()
    loading: LoadingSection = LoadingSection()
    fleet: FleetSection = FleetSection()
    buffer: BufferSection = BufferSection()
    sparkplug: SparkplugSection | None = Field(
        None, description="the line as a Sparkplug B edge node (unset: none)"
    )
    site: SiteLinkSection | None = Field(
        None, description="the line's link to its site: store relay and MQTT events (unset: none)"
    )

    @model_validator(mode="after")
    def _cross_checks(self) -> LineConfig:
        problems = []
        plcs = [n for n, d in self.devices.items() if d.kind == "sorter_plc"]
        if len(plcs) != 1:
            problems.append(f"devices: expected exactly one sorter_plc, found {len(plcs)}")
        readers = [*self.readers, *self.cameras]
        if not readers:
            problems.append(
                "devices: expected at least one barcode_reader or camera at the scan point"
            )
        known = self.topology.chute_ids
        owner: dict[int, str] = {}
        for route, chutes in self.sort_plan.items():
            if not chutes:
                problems.append(f"sort_plan.{route}: expected at least one chute")
            for chute in chutes:
                if owner.setdefault(chute, route) != route:
                    problems.append(
                        f"sort_plan.{route}: chute {chute} is already bound to route "
                        f"{owner[chute]} (a chute is one route's lane)"
                    )
                elif chute == self.topology.reject_chute.id:
                    problems.append(f"sort_plan.{route}: {chute} is the reject chute")
                elif chute not in known:
                    problems.append(f"sort_plan.{route}: chute {chute} is not in topology.chutes")
        for i, rule in enumerate(self.labels.route_rules):
            if rule.route not in self.sort_plan:
                problems.append(
                    f"labels.route_rules.{i}.route: route {rule.route} is not in the sort_plan"
                )
        top = self.register_map.chute_words * 16
        too_high = sorted(c for c in known | {self.topology.reject_chute.id} if c > top)
        if too_high:
            problems.append(
                f"topology: chutes {too_high} have no bit in the register map "
                f"(chute_words={self.register_map.chute_words} covers 1..{top})"
            )
        if self.decision.deadline_ms >= self.topology.answer_window_ms():
            problems.append(
                f"decision.deadline_ms: {self.decision.deadline_ms} ms is not shorter than the "
                f"{self.topology.answer_window_ms():.0f} ms a parcel takes from the request "
                "point to the decision point"
            )
        budget = self.topology.read_budget_ms() + self.decision.deadline_ms
        for name, device in self.tunnel_devices().items():
            if device.timeout_ms >= budget:
                problems.append(
                    f"devices.{name}.timeout_ms: {device.timeout_ms} ms is not shorter than the "
                    f"{budget:.0f} ms from the scan point to the decision deadline; a device "
                    "that times out would leave the parcel without its result"
                )
        sim = self.simulation
        pitch = sim.parcel_length_mm[0] + sim.min_gap_mm
        if pitch < self.topology.min_parcel_pitch_mm:
            problems.append(
                f"simulation.min_gap_mm: the shortest parcel plus the gap is {pitch} mm, less "
                f"than topology.min_parcel_pitch_mm ({self.topology.min_parcel_pitch_mm} mm)"
            )
        problems += self._putwall_problems()
        problems += self._fleet_problems()
        if self.site is not None and self.site.mqtt is not None:
            missing = sorted(set(self.site.event_types) - set(self.upstream.events))
            if missing:
                problems.append(
                    f"site.event_types: {missing} are not in upstream.events (site events are "
                    "read from the outbox, which holds only the upstream event types)"
                )
        if problems:
            raise ValueError("\n".join(problems))
        return self

    def _fleet_problems(self) -> list[str]:
        """The fleet's stations name walls, doors and AS/RS devices that exist."""
        problems: list[str] = []
        layout = self.fleet.layout
        if not self.fleet.enabled or layout is None:
            return problems
        walls = {w.id for w in self.putwall.walls}
        doors = {d.id for d in self.topology.doors}
        for i, station in enumerate(layout.stations):
            where = f"fleet.layout.stations.{i}.ref"
            if station.kind == "put_wall" and station.ref not in walls:
                problems.append(f"{where}: {station.ref} is not a wall of putwall.walls")
            elif station.kind == "dock_door" and station.ref not in doors:
                problems.append(f"{where}: {station.ref} is not in topology.doors")
            elif station.kind in ("asrs_in", "asrs_out") and station.ref != self.buffer.asrs:
                problems.append(f"{where}: {station.ref} is not buffer.asrs")
        for wall in sorted(walls - {s.ref for s in layout.stations_of("put_wall")}):
            problems.append(f"fleet.layout.stations: no put_wall station for wall {wall}")
        for door in sorted(doors - {s.ref for s in layout.stations_of("dock_door")}):
            problems.append(f"fleet.layout.stations: no dock_door station for door {door}")
        if self.buffer.asrs is not None:
            if self.buffer.asrs not in self.asrs_devices:
                problems.append(
                    f"buffer.asrs: no asrs device named {self.buffer.asrs!r} in devices"
                )
            for kind in ("asrs_in", "asrs_out"):
                if not layout.stations_of(kind, self.buffer.asrs):  # type: ignore[arg-type]
                    problems.append(f"fleet.layout.stations: no {kind} station for the buffer")
        return problems

    def _putwall_problems(self) -> list[str]:
        problems = []

        def device(where: str, name: str | None, kind: str, at: str | None = None) -> None:
            if name is None:
                return
            found = self.devices.get(name)
            if found is None or found.kind != kind:
                problems.append(f"{where}: no {kind} device named {name!r} in devices")
            elif at is not None and getattr(found, "at", at) != at:
                problems.append(f"{where}: device {name} is not at: {at}")
            elif kind == "barcode_reader" and not getattr(found, "push", False):
                problems.append(
                    f"{where}: scanner {name} must push its reads (driver cognex, push: true)"
                )

        used: dict[tuple[str, int], str] = {}
        for i, wall in enumerate(self.putwall.walls):
            where = f"putwall.walls.{i}"
            device(f"{where}.lights", wall.lights, "pick_to_light")
            device(f"{where}.scanner", wall.scanner, "barcode_reader", "putwall")
            device(f"{where}.printer", wall.printer, "label_printer")
            device(f"{where}.scale", wall.scale, "scale", "putwall")
            bus = self.pick_to_lights.get(wall.lights)
            if bus is None:
                continue
            try:
                nodes = parse_nodes(wall.nodes) if wall.nodes is not None else bus.node_list
            except ValueError as err:
                problems.append(f"{where}.nodes: {err}")
                continue
            for node in nodes:
                if node not in bus.node_list:
                    problems.append(f"{where}.nodes: node {node} is not on {wall.lights}")
                elif used.setdefault((wall.lights, node), wall.id) != wall.id:
                    problems.append(
                        f"{where}.nodes: node {node} of {wall.lights} is already wall "
                        f"{used[(wall.lights, node)]}'s"
                    )
        if len({w.id for w in self.putwall.walls}) != len(self.putwall.walls):
            problems.append("putwall.walls: two walls have the same id")
        doors = {d.id for d in self.topology.doors}
        for i, station in enumerate(self.loading.stations):
            where = f"loading.stations.{i}"
            if station.door not in doors:
                problems.append(f"{where}.door: {station.door} is not in topology.doors")
            device(f"{where}.scanner", station.scanner, "barcode_reader", "dock")
        return problems

    def wall_nodes(self, wall_index: int) -> list[int]:
        """The module nodes of a put wall (its ``nodes``, else its whole bus)."""
        wall = self.putwall.walls[wall_index]
        if wall.nodes is not None:
            return parse_nodes(wall.nodes)
        return self.pick_to_lights[wall.lights].node_list

    @property
    def plc_name(self) -> str:
        """Name of the sorter PLC device."""
        return next(n for n, d in self.devices.items() if d.kind == "sorter_plc")

    @property
    def plc(self) -> SorterPlcDevice:
        """The sorter PLC device."""
        device = self.devices[self.plc_name]
        assert isinstance(device, SorterPlcDevice)
        return device

    @property
    def readers(self) -> dict[str, BarcodeReaderDevice]:
        """The scan point's barcode readers by name (not the put walls' and doors')."""
        return {
            n: d
            for n, d in self.devices.items()
            if isinstance(d, BarcodeReaderDevice) and d.at == "tunnel"
        }

    @property
    def cameras(self) -> dict[str, CameraDevice]:
        """The scan point's cameras by name."""
        return {n: d for n, d in self.devices.items() if isinstance(d, CameraDevice)}

    def tunnel_devices(
        self,
    ) -> dict[str, BarcodeReaderDevice | CameraDevice | ScaleDevice | DimensionerDevice]:
        """Readers, cameras, scales and dimensioners: the devices triggered in the tunnel."""
        return {**self.readers, **self.cameras, **self.scales, **self.dimensioners}

    @property
    def scales(self) -> dict[str, ScaleDevice]:
        """The scan tunnel's scales by name (not the put walls' and doors' check scales)."""
        return {
            n: d for n, d in self.devices.items() if isinstance(d, ScaleDevice) and d.at == "tunnel"
        }

    def scales_anywhere(self) -> dict[str, ScaleDevice]:
        """Every scale by name: the tunnel's and the walls' and docks' check scales."""
        return {n: d for n, d in self.devices.items() if isinstance(d, ScaleDevice)}

    def scanners_at(self, at: str) -> dict[str, BarcodeReaderDevice]:
        """Barcode readers at a put wall (``putwall``) or a dock door (``dock``)."""
        return {
            n: d
            for n, d in self.devices.items()
            if isinstance(d, BarcodeReaderDevice) and d.at == at
        }

    @property
    def pick_to_lights(self) -> dict[str, PickToLightDevice]:
        """The pick-to-light buses by name."""
        return {n: d for n, d in self.devices.items() if isinstance(d, PickToLightDevice)}

    @property
    def asrs_devices(self) -> dict[str, AsrsDevice]:
        """The AS/RS buffers, by device name."""
        return {n: d for n, d in self.devices.items() if isinstance(d, AsrsDevice)}

    @property
    def label_printers(self) -> dict[str, LabelPrinterDevice]:
        """The label printers by name."""
        return {n: d for n, d in self.devices.items() if isinstance(d, LabelPrinterDevice)}

    @property
    def dimensioners(self) -> dict[str, DimensionerDevice]:
        """The scan tunnel's dimensioners by name."""
        return {n: d for n, d in self.devices.items() if isinstance(d, DimensionerDevice)}
