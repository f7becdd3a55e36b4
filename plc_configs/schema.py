"""The line configuration: one YAML file describes a whole sort line.

The same file is read by the controller (``lanesort run``) and by the line
simulator (``lanesort sim``): the devices' addresses say where the controller
connects and where the simulator listens. Sim or real is only an address.

Sections: ``line`` (name, data folder), ``devices`` (driver name and URL per
device), ``topology`` (belt, scan point, decision point, chutes, reject chute),
``register_map`` (the PLC's Modbus map), ``decision`` (deadline), ``sort_plan``
(route -> chutes), ``manifest``, ``incidents`` (policy per incident kind) and
``simulation`` (the line twin; ignored by the controller).
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from plc_configs.register_map import RegisterMap
from plc_configs.telegram import PRESETS, TelegramFormat


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _check_url(url: str, schemes: tuple[str, ...]) -> str:
    parts = urlsplit(url)
    if parts.scheme not in schemes:
        raise ValueError(f"expected a URL starting with {' or '.join(s + '://' for s in schemes)}")
    if not parts.hostname or parts.port is None:
        raise ValueError("expected host and port, as in tcp://127.0.0.1:15023")
    return url


class LineSection(_Strict):
    """Who the line is and where it keeps its data."""

    name: str = Field(min_length=1, description="shown in logs and reports")
    data_dir: str = Field(
        "lanesort-data",
        description="journal, manifest and reports; relative paths are relative to the "
        "current directory",
    )
    auto_start: bool = Field(
        False, description="send Reset and Start to the PLC once it is connected"
    )


class _Device(_Strict):
    """What every device has: how its supervisor reconnects."""

    reconnect_min_ms: int = Field(200, gt=0, description="first wait before reconnecting")
    reconnect_max_ms: int = Field(5000, gt=0, description="longest wait (doubling, jittered)")


class SorterPlcDevice(_Device):
    """The sorter PLC: the controller is the Modbus client, the PLC the server."""

    kind: Literal["sorter_plc"]
    driver: Literal["modbus-tcp"] = "modbus-tcp"
    url: str = Field(description="modbus-tcp://HOST:PORT")
    timeout_ms: int = Field(500, gt=0, le=60000, description="per Modbus request")
    poll_interval_ms: float = Field(
        1.0, ge=0, le=1000, description="pause between two reads of the PLC area"
    )
    heartbeat_interval_ms: int = Field(1000, gt=0, description="how often our life counter ticks")
    heartbeat_timeout_ms: int = Field(
        3000, gt=0, description="the PLC's life counter unchanged this long = link lost"
    )

    @field_validator("url")
    @classmethod
    def _url(cls, v: str) -> str:
        return _check_url(v, ("modbus-tcp",))


class BarcodeReaderDevice(_Device):
    """A fixed-mount barcode reader at the scan point (TCP presets or OPC UA AutoID)."""

    kind: Literal["barcode_reader"]
    driver: Literal["cognex", "sick", "keyence", "datalogic", "autoid"] = Field(
        "cognex", description="reader preset; autoid = OPC UA AutoID (OPC 30010)"
    )
    url: str = Field(
        description="tcp://HOST:PORT of the reader; with push: tcp://BIND:PORT we listen "
        "on; opc.tcp://HOST:PORT/path for autoid"
    )
    timeout_ms: int = Field(80, gt=0, le=60000, description="trigger to result")
    no_read: str | None = Field(
        None, min_length=1, description="the reader's no-read string (preset default if unset)"
    )
    multiple_read: str | None = Field(
        None, description="the reader's multiple-read string (Datalogic), if configured"
    )
    separator: str | None = Field(
        None, min_length=1, description="between symbols in one result (preset default)"
    )
    push: bool = Field(
        False, description="the reader connects to us and pushes results (Cognex push mode)"
    )
    node: str | None = Field(None, description="autoid: node id or browse path of the reader")

    @field_validator("url")
    @classmethod
    def _url(cls, v: str) -> str:
        if v.startswith("opc.tcp://"):
            return v
        return _check_url(v, ("tcp",))


SERIAL_SCHEMES = ("tcp", "socket", "rfc2217")
SERIAL_URL_HELP = (
    "tcp://HOST:PORT (raw TCP), socket://HOST:PORT or rfc2217://HOST:PORT (serial device "
    "server), or a serial port path such as /dev/ttyUSB0?baud=9600&parity=E&bytesize=7"
    "&stopbits=1"
)


def check_serial_url(url: str) -> str:
    """A serial-or-TCP device address (see ``SERIAL_URL_HELP``)."""
    if url.startswith("/"):
        return url
    parts = urlsplit(url)
    if parts.scheme == "loop":
        return url
    if parts.scheme not in SERIAL_SCHEMES or not parts.hostname or parts.port is None:
        raise ValueError(f"expected {SERIAL_URL_HELP}")
    return url


class CameraDevice(_Device):
    """A camera at the scan point: frames through OpenCV, symbols by a decoder back-end."""

    kind: Literal["camera"]
    driver: Literal["zxing", "pyzbar"] = Field(
        "zxing", description="decoder back-end: zxing (zxing-cpp, default) or pyzbar (zbar)"
    )
    url: str = Field(
        description="http://… snapshot URL, an MJPEG/RTSP stream URL (http://…/stream.mjpg, "
        "rtsp://…), file:///path (an image or a folder of images) or device:0 (a camera index)"
    )
    timeout_ms: int = Field(80, gt=0, le=60000, description="grab plus decode")
    stream: bool = Field(False, description="the URL is a stream (MJPEG/RTSP), not snapshots")
    deskew: bool = Field(True, description="locate and rotate labels the decoder alone misses")


class ScaleDevice(_Device):
    """A weigh scale in the scan tunnel."""

    kind: Literal["scale"]
    driver: Literal["mt-sics", "sma", "nci", "toledo-continuous", "opcua-weighing"]
    url: str = Field(description=SERIAL_URL_HELP + "; opc.tcp://HOST:PORT for opcua-weighing")
    timeout_ms: int = Field(300, gt=0, le=60000, description="one request to its answer")
    node: str | None = Field(
        None, description="opcua-weighing: node id or browse path of the scale object"
    )

    @field_validator("url")
    @classmethod
    def _url(cls, v: str) -> str:
        if v.startswith("opc.tcp://"):
            return v
        return check_serial_url(v)


class DimensionerDevice(_Device):
    """A dimensioner in the scan tunnel."""

    kind: Literal["dimensioner"]
    driver: Literal["cubiscan", "sick", "datalogic", "telegram"]
    url: str = Field(description=SERIAL_URL_HELP)
    timeout_ms: int = Field(500, gt=0, le=60000, description="trigger to telegram")
    telegram: TelegramFormat | None = Field(
        None, description="the host telegram (driver telegram); replaces a preset's format"
    )

    @field_validator("url")
    @classmethod
    def _url(cls, v: str) -> str:
        return check_serial_url(v)

    @model_validator(mode="after")
    def _telegram(self) -> DimensionerDevice:
        if self.driver == "telegram" and self.telegram is None:
            raise ValueError("driver telegram needs a telegram: section (fields, separator …)")
        return self

    def telegram_format(self) -> TelegramFormat | None:
        """The telegram format: the configured one, else the preset of the driver."""
        return self.telegram or PRESETS.get(self.driver)


Device = Annotated[
    SorterPlcDevice | BarcodeReaderDevice | CameraDevice | ScaleDevice | DimensionerDevice,
    Field(discriminator="kind"),
]


class Chute(_Strict):
    """One chute along the sorter."""

    id: int = Field(ge=1, description="the number the PLC uses")
    position_mm: int = Field(ge=0, description="distance from the induct")
    capacity: int = Field(gt=0, description="parcels until the container is full")


class Topology(_Strict):
    """Where things are along the belt, in millimetres from the induct."""

    belt_speed_mps: float = Field(gt=0, le=60)
    scan_point_mm: int = Field(ge=0, description="photo-eye that triggers the scan tunnel")
    scan_field_mm: int = Field(600, gt=0, description="length of the readers' field")
    min_parcel_pitch_mm: int = Field(
        500,
        gt=0,
        description="shortest distance from one parcel's front to the next one's, as the "
        "induction guarantees; with the field length it bounds how late a read may finish "
        "and still be bound to the parcel",
    )
    request_point_mm: int = Field(ge=0, description="where the PLC asks for a destination")
    decision_point_mm: int = Field(ge=0, description="the answer must be in by here")
    chutes: list[Chute] = Field(min_length=1)
    reject_chute: Chute

    @model_validator(mode="after")
    def _order(self) -> Topology:
        if not self.scan_point_mm < self.request_point_mm < self.decision_point_mm:
            raise ValueError(
                "expected scan_point_mm < request_point_mm < decision_point_mm along the belt"
            )
        ids = [c.id for c in self.chutes]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"chute ids must be unique; repeated: {dupes}")
        if self.reject_chute.id in ids:
            raise ValueError(f"reject_chute id {self.reject_chute.id} is also a sort chute")
        early = [c.id for c in self.chutes if c.position_mm <= self.decision_point_mm]
        if early or self.reject_chute.position_mm <= self.decision_point_mm:
            raise ValueError(
                f"every chute must lie after the decision point; too early: "
                f"{early or [self.reject_chute.id]}"
            )
        return self

    @property
    def chute_ids(self) -> frozenset[int]:
        """Ids of the sort chutes (without the reject chute)."""
        return frozenset(c.id for c in self.chutes)

    def scan_window_ms(self) -> float:
        """How long after a parcel enters the tunnel only that parcel can be read."""
        return min(self.scan_field_mm, self.min_parcel_pitch_mm) / self.belt_speed_mps

    def read_budget_ms(self) -> float:
        """Time from the scan point to the request point at belt speed."""
        return (self.request_point_mm - self.scan_point_mm) / self.belt_speed_mps

    def answer_window_ms(self) -> float:
        """Time from the destination request to the decision point at belt speed."""
        return (self.decision_point_mm - self.request_point_mm) / self.belt_speed_mps


class DecisionSection(_Strict):
    """How the controller answers the PLC."""

    deadline_ms: float = Field(
        50, gt=0, description="answer at the latest this long after the request was seen"
    )
    lost_after_s: float = Field(
        30, gt=0, description="a parcel with no confirmation this long after its request is lost"
    )


class ManifestSection(_Strict):
    """The TMS manifest: barcode -> route."""

    path: str = Field(
        "manifest.csv", description="CSV with columns barcode,route; relative to line.data_dir"
    )


class LabelPattern(_Strict):
    """A carrier's sortable label: which symbols carry the parcel id, and how to read it."""

    name: str = Field(min_length=1, description="shown in the journal (e.g. 'sscc', 'ups')")
    regex: str | None = Field(
        None,
        description="matches the whole symbol data; a group named 'id' is the parcel id "
        "(else the whole data), an optional group named 'postal' the ship-to postal code",
    )
    gs1_ai: str | None = Field(
        None,
        description="the parcel id is this AI of a GS1 symbol (e.g. '00' for the SSCC); "
        "AI 420/421 give the postal code",
    )
    symbologies: tuple[str, ...] = Field(
        (), description="only symbols with these AIM ids (e.g. [']C1', ']d2']); empty: any"
    )

    @model_validator(mode="after")
    def _one_way(self) -> LabelPattern:
        if (self.regex is None) == (self.gs1_ai is None):
            raise ValueError("give exactly one of regex or gs1_ai")
        if self.regex is not None:
            try:
                re.compile(self.regex)
            except re.error as err:
                raise ValueError(f"regex {self.regex!r} does not compile: {err}") from None
        return self


class RouteRule(_Strict):
    """Postal codes that belong to a route, for parcels the manifest does not know."""

    route: str
    postal_from: str = Field(min_length=1, description="first postal code (inclusive)")
    postal_to: str = Field(min_length=1, description="last postal code (inclusive)")

    @model_validator(mode="after")
    def _range(self) -> RouteRule:
        if len(self.postal_from) != len(self.postal_to) or self.postal_from > self.postal_to:
            raise ValueError("postal_from and postal_to must have the same length, from <= to")
        return self

    def matches(self, postal: str) -> bool:
        """True when ``postal`` lies in the range (codes of the range's length only)."""
        return len(postal) == len(self.postal_from) and (
            self.postal_from <= postal <= self.postal_to
        )


class LabelsSection(_Strict):
    """Which symbols are sortable labels, and postal-code route rules."""

    patterns: tuple[LabelPattern, ...] = Field(
        (), description="first match wins; empty: every symbol read is a label"
    )
    route_rules: tuple[RouteRule, ...] = Field(
        (), description="route by ship-to postal code when the manifest does not know the parcel"
    )


class IncidentAction(StrEnum):
    """What happens on an incident (DESIGN.md: off / alarm only / reject / stop line)."""

    OFF = "off"
    ALARM = "alarm"
    REJECT = "reject"
    STOP = "stop"


UNSORTABLE_INCIDENTS = (
    "no_read",
    "multiple_labels",
    "no_route",
    "unknown_parcel",
    "chute_full",
    "chute_disabled",
    "answer_too_late",
    "device_fault",
)


class IncidentPolicies(_Strict):
    """Policy per incident kind.

    Identification incidents (no read … device fault) leave the parcel unsortable,
    so the parcel always goes to the reject chute: ``reject`` does only that,
    ``alarm`` also raises an alarm, ``stop`` also stops the line; ``off`` is refused.

    Measurement incidents (missing or unstable weight, over max weight, missing
    dimensions, oversize, not legal for trade): ``off`` carries on, ``alarm`` carries
    on and raises an alarm, ``reject`` sends the parcel to the reject chute with the
    incident as its reason, ``stop`` also stops the line.
    """

    no_read: IncidentAction = IncidentAction.REJECT
    multiple_labels: IncidentAction = IncidentAction.REJECT
    no_route: IncidentAction = IncidentAction.REJECT
    unknown_parcel: IncidentAction = IncidentAction.ALARM
    chute_full: IncidentAction = IncidentAction.REJECT
    chute_disabled: IncidentAction = IncidentAction.REJECT
    answer_too_late: IncidentAction = IncidentAction.ALARM
    device_fault: IncidentAction = IncidentAction.ALARM
    missing_weight: IncidentAction = IncidentAction.ALARM
    unstable_weight: IncidentAction = IncidentAction.ALARM
    over_max_weight: IncidentAction = IncidentAction.REJECT
    missing_dimensions: IncidentAction = IncidentAction.ALARM
    oversize: IncidentAction = IncidentAction.REJECT
    not_legal_for_trade: IncidentAction = IncidentAction.ALARM

    @model_validator(mode="after")
    def _no_off(self) -> IncidentPolicies:
        off = [k for k in UNSORTABLE_INCIDENTS if getattr(self, k) is IncidentAction.OFF]
        if off:
            raise ValueError(
                "\n".join(
                    f"{k}: 'off' is not possible, a parcel with this incident cannot be "
                    "sorted (choose reject, alarm or stop)"
                    for k in off
                )
            )
        return self


class TunnelSection(_Strict):
    """Measuring in the scan tunnel: limits and the volumetric divisor."""

    measure_deadline_ms: float = Field(
        200, gt=0, description="weight and dimensions must be in this long after the scan event"
    )
    volumetric_divisor: float = Field(
        5000, gt=0, description="cm3 per kg: volumetric weight = L x W x H (cm) / divisor"
    )
    max_weight_kg: float = Field(31.5, gt=0)
    max_length_mm: float = Field(1200, gt=0)
    max_width_mm: float = Field(800, gt=0)
    max_height_mm: float = Field(800, gt=0)


class MeasureSimulation(_Strict):
    """Faults of the simulated scales and dimensioners, as shares of requests."""

    unstable_rate: float = Field(0.0, ge=0, le=1, description="motion: S D / M flag")
    overload_rate: float = Field(0.0, ge=0, le=1)
    error_rate: float = Field(0.0, ge=0, le=1, description="error replies (ES, ?, C/M/Z)")
    bad_checksum_rate: float = Field(0.0, ge=0, le=1)
    split_rate: float = Field(0.0, ge=0, le=1, description="frame sent in pieces")
    truncated_rate: float = Field(0.0, ge=0, le=1)
    garbage_rate: float = Field(0.0, ge=0, le=1, description="junk bytes before a frame")
    silence_rate: float = Field(0.0, ge=0, le=1, description="no answer at all")
    disconnect_rate: float = Field(0.0, ge=0, le=1, description="drop the link mid-frame")


class ReaderSimulation(_Strict):
    """Faults of the simulated barcode reader, as shares of triggers."""

    no_read_rate: float = Field(0.02, ge=0, le=1)
    multi_label_rate: float = Field(0.005, ge=0, le=1, description="two different labels")
    duplicate_read_rate: float = Field(0.01, ge=0, le=1, description="same label read twice")
    late_answer_rate: float = Field(0.0, ge=0, le=1)
    late_answer_ms: float = Field(300, ge=0)
    garbled_rate: float = Field(0.0, ge=0, le=1, description="a line that is not a valid reply")


class PlcSimulation(_Strict):
    """Behaviour of the simulated PLC."""

    heartbeat_interval_ms: int = Field(500, gt=0)
    host_heartbeat_timeout_ms: int = Field(3000, gt=0)
    start_state: Literal["stopped", "idle", "execute"] = "stopped"
    transition_ms: int = Field(200, ge=0, description="duration of Resetting/Starting/Stopping")


class Simulation(_Strict):
    """The line twin. Read by ``lanesort sim`` only."""

    seed: int = 1
    rate_pph: float = Field(6000, gt=0, description="parcels per hour at the induct")
    parcels: int | None = Field(None, gt=0, description="stop inducting after this many")
    parcel_length_mm: tuple[int, int] = (200, 600)
    parcel_width_mm: tuple[int, int] = (150, 400)
    parcel_height_mm: tuple[int, int] = (50, 400)
    parcel_weight_kg: tuple[float, float] = (0.1, 25.0)
    min_gap_mm: int = Field(300, ge=0)
    manifest_missing_share: float = Field(0.02, ge=0, le=1)
    chute_empty_after_s: float = Field(20, gt=0, description="operator swaps a full container")
    chute_capacity_override: dict[int, int] = Field(
        default_factory=dict, description="chute id -> capacity, to make a chute fill early"
    )
    reader: ReaderSimulation = ReaderSimulation()
    measure: MeasureSimulation = MeasureSimulation()
    scenario: str | None = Field(
        None,
        description="scenario YAML: which faults on which device, when and how often "
        "(relative to this file)",
    )
    plc: PlcSimulation = PlcSimulation()


class LineConfig(_Strict):
    """The whole line."""

    line: LineSection
    devices: dict[str, Device] = Field(min_length=1)
    topology: Topology
    register_map: RegisterMap = RegisterMap()
    decision: DecisionSection = DecisionSection()
    sort_plan: dict[str, list[int]] = Field(
        min_length=1, description="route -> chutes in order of preference"
    )
    manifest: ManifestSection = ManifestSection()
    incidents: IncidentPolicies = IncidentPolicies()
    labels: LabelsSection = LabelsSection()
    tunnel: TunnelSection = TunnelSection()
    simulation: Simulation = Simulation()

    @model_validator(mode="after")
    def _cross_checks(self) -> LineConfig:
        problems = []
        plcs = [n for n, d in self.devices.items() if d.kind == "sorter_plc"]
        if len(plcs) != 1:
            problems.append(f"devices: expected exactly one sorter_plc, found {len(plcs)}")
        readers = [n for n, d in self.devices.items() if d.kind in ("barcode_reader", "camera")]
        if not readers:
            problems.append(
                "devices: expected at least one barcode_reader or camera at the scan point"
            )
        known = self.topology.chute_ids
        for route, chutes in self.sort_plan.items():
            if not chutes:
                problems.append(f"sort_plan.{route}: expected at least one chute")
            for chute in chutes:
                if chute == self.topology.reject_chute.id:
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
        if problems:
            raise ValueError("\n".join(problems))
        return self

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
        """The scan point's barcode readers by name."""
        return {n: d for n, d in self.devices.items() if isinstance(d, BarcodeReaderDevice)}

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
        """The scan tunnel's scales by name."""
        return {n: d for n, d in self.devices.items() if isinstance(d, ScaleDevice)}

    @property
    def dimensioners(self) -> dict[str, DimensionerDevice]:
        """The scan tunnel's dimensioners by name."""
        return {n: d for n, d in self.devices.items() if isinstance(d, DimensionerDevice)}
