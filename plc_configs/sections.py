"""The line config's sections other than devices: line, topology, decision, labels,
incidents, tunnel and the simulated line."""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Literal

from pydantic import Field, model_validator

from plc_configs.base import Strict as _Strict
from plc_configs.fleet import AsrsSimulation, FleetSimulation
from plc_configs.putwall import PutWallSimulation
from plc_configs.route_plan import RoutePlanSimulation

RealtimeScope = Literal["answering", "always"]
"""When a line's loop holds its real-time priority: while an answer can be due, or all the
time (``line.realtime_scope``)."""


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
    realtime_priority: int = Field(
        0,
        ge=0,
        le=99,
        description="run the thread that answers the PLC at this Linux real-time "
        "priority (SCHED_RR, 1-99; 0: normal priority), so that other work on the same "
        "cores (more lines, a database) does not delay an answer; needs CAP_SYS_NICE or "
        "an rtprio limit, else the line runs at normal priority with a warning and an alarm",
    )
    realtime_scope: RealtimeScope = Field(
        "answering",
        description="with realtime_priority: when the loop holds it; answering: only while "
        "an answer can be due (a parcel's request window is open or a request is), normal "
        "priority for the rest of the line's work, so that lines sharing cores do not "
        "queue routine work ahead of each other's answers; always: all the time",
    )
    cpu_wakeup_latency_us: int | None = Field(
        None,
        ge=0,
        le=1_000_000,
        description="while the line runs, hold the Linux PM QoS request that no CPU takes "
        "longer than this to wake from idle (/dev/cpu_dma_latency; 0: idle CPUs only "
        "poll, the quickest answers for a core that spins when idle); null: leave the "
        "machine's idle states alone; needs write access to the device (root), else a "
        "warning and an alarm",
    )


class Chute(_Strict):
    """One chute along the sorter."""

    id: int = Field(ge=1, description="the number the PLC uses")
    position_mm: int = Field(ge=0, description="distance from the induct")
    capacity: int = Field(gt=0, description="parcels until the container is full")


class Door(_Strict):
    """A dock door, where trucks are loaded; the TMS's route plan names trucks' doors by id."""

    id: str = Field(min_length=1, max_length=32, description="the door's name (e.g. 'D01')")
    position_mm: float = Field(
        ge=0, description="where the door lies along the sorter, measured like the chutes"
    )


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
    doors: list[Door] = Field(
        default_factory=list,
        description="dock doors; the route plan from the TMS puts each truck at one of them",
    )

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

    @model_validator(mode="after")
    def _unique_doors(self) -> Topology:
        first: dict[str, int] = {}
        problems = []
        for i, door in enumerate(self.doors):
            if door.id in first:
                problems.append(f"doors.{i}.id: door {door.id} is also doors.{first[door.id]}")
            first.setdefault(door.id, i)
        if problems:
            raise ValueError("\n".join(problems))
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
    resume_open_s: float = Field(
        3600,
        ge=0,
        description="at start, parcels an earlier run left open (a crash) and heard of this "
        "recently are taken back: their confirmation closes their own record; older ones "
        "are closed as lost",
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


class ImagesSection(_Strict):
    """Camera images kept with the parcels (each camera's ``keep_images`` says which).

    Images are written to ``<line.data_dir>/images/<session>/<uid>-<camera>.jpg``; once
    either limit is passed, the oldest are deleted (files and their journal rows).
    """

    max_count: int = Field(
        20000,
        ge=1,
        description="keep at most this many images, oldest deleted first (about 100-200 kB "
        "each for a 1280x1024 frame: 20000 take 2-4 GB)",
    )
    max_mb: float | None = Field(
        None, gt=0, description="and at most this many megabytes of images (unset: no limit)"
    )


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
    opcua_security: list[Literal["None", "Sign", "SignAndEncrypt"]] = Field(
        default_factory=lambda: ["Sign", "SignAndEncrypt"],
        min_length=1,
        description="OPC UA PLC: the endpoints' security modes (Basic256Sha256)",
    )


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
    manifest_lookahead_s: float | None = Field(
        None,
        gt=0,
        description="the TMS pre-advises each parcel this long before it is created (the "
        "manifest file grows during the shift); null: the whole manifest at the start",
    )
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
    route_plan: RoutePlanSimulation | None = Field(
        None,
        description="generate a route plan (trucks, routes, stops) and draw the parcels' "
        "routes and stops from it, with skewed volumes; null: routes uniform over sort_plan",
    )
    putwall: PutWallSimulation = Field(
        PutWallSimulation(), description="the simulated put-wall operators and loaders"
    )
    fleet: FleetSimulation = Field(
        default_factory=FleetSimulation, description="the simulated AMRs (VDA 5050)"
    )
    asrs: AsrsSimulation = Field(default_factory=AsrsSimulation, description="the simulated AS/RS")
