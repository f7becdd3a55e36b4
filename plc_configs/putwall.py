"""The ``putwall:`` and ``loading:`` sections: from chute to truck in stop order.

A put wall serves one or more trucks (or a group of routes): parcels taken from its
chutes are scanned at the wall and put into cubbies, one stop (or one consignee) per
cubby, each cubby with a pick-to-light module. A closed cubby is a container: it gets a
label and is check-weighed, then loaded at its truck's dock door, last stop first.
Devices are named from ``devices:`` (a ``pick_to_light`` bus, a ``barcode_reader`` with
``at: putwall``/``dock``, a ``label_printer``, a ``scale`` with ``at: putwall``/``dock``).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from plc_configs.base import Strict


class PutWallConfig(Strict):
    """One put wall."""

    id: str = Field(min_length=1, max_length=16, description="the wall's name, e.g. 'W1'")
    trucks: list[str] = Field(
        default_factory=list, description="route-plan truck ids whose parcels this wall takes"
    )
    routes: list[str] = Field(
        default_factory=list, description="or: route ids whose parcels this wall takes"
    )
    lights: str = Field(description="the pick_to_light device of its cubbies")
    nodes: str | list[int] | None = Field(
        None, description="the modules of this wall on that bus (default: all of its nodes)"
    )
    cubby_capacity: int = Field(20, gt=0, le=10000, description="parcels a cubby takes")
    group_by: Literal["stop", "consignee"] = Field(
        "stop", description="a cubby per stop, or per consignee (consolidation)"
    )
    scanner: str | None = Field(
        None, description="barcode_reader (at: putwall) the operators scan with"
    )
    printer: str | None = Field(None, description="label_printer for its containers' labels")
    scale: str | None = Field(None, description="scale (at: putwall) that check-weighs containers")

    @model_validator(mode="after")
    def _serves(self) -> PutWallConfig:
        if not self.trucks and not self.routes:
            raise ValueError("set trucks or routes: which parcels this wall takes")
        return self


class DockStation(Strict):
    """A dock door's loading station: its scanner (containers are check-weighed at the wall)."""

    door: str = Field(description="a door of topology.doors")
    scanner: str = Field(description="barcode_reader (at: dock) the loader scans with")


class PutWallSection(Strict):
    """Put walls, their labels and the check-weigh policy."""

    walls: list[PutWallConfig] = Field(default_factory=list)
    confirm_timeout_s: float = Field(
        120, gt=0, description="a put not confirmed this long is dropped (its light cleared)"
    )
    label_at: Literal["close", "put"] = Field(
        "close", description="print a label per closed container, or per parcel put"
    )
    tare_kg: float = Field(0.8, ge=0, description="an empty container's weight")
    weight_tolerance_kg: float = Field(0.2, ge=0, description="allowed difference, at least")
    weight_tolerance_share: float = Field(
        0.03, ge=0, le=1, description="allowed difference as a share of the expected weight"
    )
    weigh_timeout_s: float = Field(
        30, gt=0, description="a container scanned at the scale must weigh stable within this"
    )


class LoadingSection(Strict):
    """Loading at the dock doors, last stop first."""

    stations: list[DockStation] = Field(default_factory=list)
    positions: list[str] = Field(
        default_factory=lambda: ["front", "middle", "back"],
        min_length=1,
        description="load zones in loading order: the first is loaded first (nearest the cab)",
    )


class PutWallSimulation(Strict):
    """The simulated wall operators and loaders. Read by ``lanesort sim`` only."""

    scan_delay_s: tuple[float, float] = Field(
        (0.5, 1.5), description="from a parcel reaching the chute end to its scan at the wall"
    )
    press_delay_s: tuple[float, float] = Field((0.3, 1.2), description="light on to button")
    wrong_press_rate: float = Field(0.02, ge=0, le=1)
    no_press_rate: float = Field(0.01, ge=0, le=1, description="the operator walks off")
    shortage_rate: float = Field(0.005, ge=0, le=1, description="parcel found damaged")
    weight_mismatch_rate: float = Field(
        0.05, ge=0, le=1, description="a parcel falls out of a container before weighing"
    )
    out_of_sequence_rate: float = Field(
        0.05, ge=0, le=1, description="the loader scans a container before its turn"
    )
    load_delay_s: tuple[float, float] = Field((0.5, 2.0), description="between two load scans")
    loader_idle_s: float = Field(
        10.0, gt=0, description="no new container for a truck this long: the loader loads it"
    )
    module_drop: list[tuple[str, int, float, float]] = Field(
        default_factory=list,
        description="(pick_to_light device, node, at s, for s): a module drops off the bus",
    )
    printer_paper_out: list[tuple[str, float, float]] = Field(
        default_factory=list, description="(label_printer, at s, for s): paper runs out"
    )
