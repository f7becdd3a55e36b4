"""A cubby's container after it closes: its label, its check-weigh, its hold and release.

When a wall closes a cubby (full, stop complete, or a supervisor), :meth:`CloseOut.closed`
journals the container (truck, route, stops, parcels, the expected weight from the
parcels' tunnel weights plus the tare) with its ``container.closed`` event, and prints
its label (:mod:`controller.printing`). With a check scale at the wall, the operator puts
the container on it and scans its label: :meth:`CloseOut.scanned` reads a stable weight
and judges it (:func:`controller.loading.weight_check.check_weight`); a mismatch holds
the container with an alarm until it is re-checked (scanned again) or a supervisor
releases it. A container that passed (or was released, or a wall without a scale) leaves
its cubby and waits for loading at its truck's door.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from controller.alarms.board import AlarmBoard
from controller.auth.audit import Actor
from controller.errors import CommandRefused
from controller.journal.schema import reading
from controller.loading.weight_check import WeightPolicy, check_weight
from controller.printing.spooler import LabelSpooler
from controller.printing.zpl import ContainerLabel, container_label_zpl
from controller.putwall.records import WallEvent
from controller.putwall.wall import Record, WallParcel
from drivers.cancelling import start_guarded
from drivers.errors import DriverError
from drivers.registry import create_label_printer, create_scale
from plc_configs.schema import LineConfig

if TYPE_CHECKING:
    from controller.putwall.service import PutWallService, WallUnit

log = logging.getLogger(__name__)


@dataclass
class Container:
    """A closed container as loading needs it."""

    id: str
    wall: str
    cubby: str
    truck: str | None
    route: str | None
    stops: list[int]
    parcels: list[str]
    state: str
    expected_kg: float | None = None
    measured_kg: float | None = None
    volume_m3: float | None = None
    weights: dict[str, float | None] = field(default_factory=dict)
    volumes: dict[str, float | None] = field(default_factory=dict)
    closed: float = 0.0


class CloseOut:
    """Labels and check-weighs of every wall's closed containers."""

    def __init__(self, service: PutWallService, config: LineConfig, alarms: AlarmBoard):
        self.service = service
        self.config = config
        self.alarms = alarms
        section = config.putwall
        self.policy = WeightPolicy(
            tolerance_kg=section.weight_tolerance_kg,
            tolerance_share=section.weight_tolerance_share,
            tare_kg=section.tare_kg,
        )
        self.containers: dict[str, Container] = {}
        self.spoolers: dict[str, LabelSpooler] = {}
        for name, device in config.label_printers.items():
            self.spoolers[name] = LabelSpooler(
                create_label_printer(name, device),
                alarms=alarms,
                status_interval_s=device.status_interval_ms / 1000,
                name=name,
            )
        self._scales: dict[str, Any] = {}
        self.labels_printed = 0
        self.mismatches = 0
        self.listeners: list[Any] = []

    def restore(self, rows: list[dict[str, Any]]) -> None:
        """Containers from the journal (after a restart)."""
        for row in rows:
            self.containers[row["id"]] = Container(
                row["id"],
                row["wall"],
                row["cubby"],
                row["truck"],
                row["route"],
                row["stops"],
                row["parcels"],
                row["state"],
                row["expected_kg"],
                row["measured_kg"],
                closed=row["closed"],
            )

    async def run(self) -> None:
        """Run the label spoolers until cancelled."""
        async with asyncio.TaskGroup() as group:
            for name, spooler in self.spoolers.items():
                start_guarded(group, spooler.run(), f"printer-{name}")

    def knows(self, code: str) -> bool:
        """True when ``code`` is a container's id."""
        return code in self.containers

    # ----------------------------------------------------------------- close

    async def closed(self, unit: WallUnit, record: Record, wall_time: float) -> None:
        """Journal a container just closed, print its label, or let it go without a scale."""
        assert record.container_id is not None and record.cubby is not None
        parcels = list(record.parcels)
        measures = await asyncio.to_thread(self._measures, parcels)
        route = record.group[0] if record.group else None
        truck = self.service._truck_of(route)
        stops = sorted({record.group[1]}) if record.group else []
        weights = {p: measures.get(p, (None, None))[0] for p in parcels}
        volumes = {p: measures.get(p, (None, None))[1] for p in parcels}
        known = [w for w in weights.values() if w is not None]
        expected = round(sum(known) + self.policy.tare_kg, 3) if parcels else None
        volume = round(sum(v for v in volumes.values() if v is not None), 4)
        container = Container(
            record.container_id,
            unit.wall.id,
            record.cubby,
            truck,
            route,
            stops,
            parcels,
            "closed",
            expected,
            volume_m3=volume,
            weights=weights,
            volumes=volumes,
            closed=wall_time,
        )
        self.containers[container.id] = container
        weighed = unit.config.scale is not None
        row = {
            "id": container.id,
            "wall": container.wall,
            "cubby": container.cubby,
            "truck": truck,
            "route": route,
            "stops": json.dumps(stops),
            "parcels": json.dumps(parcels),
            "closed": wall_time,
            "reason": record.reason,
            "state": "closed" if weighed else "ok",
            "expected_kg": expected,
        }
        payload = {
            "container_id": container.id,
            "kind": "tote",
            "wall": container.wall,
            "cubby": container.cubby,
            "truck": truck,
            "route": route,
            "routes": [route] if route else [],
            "stops": stops,
            "parcel_count": len(parcels),
            "parcels": [{"parcel_id": p} for p in parcels],
            "reason": record.reason,
            "expected_kg": expected,
        }
        self.service.journal.append(
            WallEvent(
                time=wall_time,
                wall=unit.wall.id,
                kind="container_closed",
                line=self.config.line.name,
                cubby=container.cubby,
                container_id=container.id,
                reason=record.reason,
                truck=truck,
                route=route,
                payload=payload,
                report=self.service.report,
                container=row,
            )
        )
        self._print(unit, container)
        if not weighed:
            container.state = "ok"
            await self._left(unit, container)

    def _measures(self, parcels: list[str]) -> dict[str, tuple[float | None, float | None]]:
        """parcel id -> (tunnel weight kg, volume m³) from the journal (thread-side)."""
        out: dict[str, tuple[float | None, float | None]] = {}
        with reading(self.service.journal.path, "parcel weights") as conn:
            for start in range(0, len(parcels), 500):
                chunk = parcels[start : start + 500]
                rows = conn.execute(
                    "SELECT barcode, weight_kg, length_mm, width_mm, height_mm FROM parcels "
                    f"WHERE barcode IN ({','.join('?' * len(chunk))}) AND state = 'sorted'",
                    chunk,
                ).fetchall()
                for barcode, kg, length, width, height in rows:
                    volume = None
                    if length and width and height:
                        volume = float(length) * float(width) * float(height) / 1e9
                    out[barcode] = (float(kg) if kg else None, volume)
        return out

    def _print(self, unit: WallUnit, container: Container) -> None:
        printer = unit.config.printer
        if printer is None or self.config.putwall.label_at != "close":
            return
        self._submit(printer, self._label(container, len(container.parcels)))

    def parcel_label(self, unit: WallUnit, record: Record, parcel: WallParcel | None) -> None:
        """``label_at: put``: a label for the parcel just put (its container's data)."""
        printer = unit.config.printer
        if printer is None or record.container_id is None or record.cubby is None:
            return
        route = parcel.route if parcel else None
        label = ContainerLabel(
            container_id=record.container_id,
            truck=(parcel.truck if parcel else None) or "",
            route=route or "",
            stop_sequences=(parcel.stop,) if parcel and parcel.stop is not None else (),
            load_position="",
            cubby=record.cubby,
            wall=unit.wall.id,
            parcels=1,
            door=self._door(parcel.truck if parcel else None),
        )
        self._submit(printer, label)

    def _label(self, container: Container, count: int) -> ContainerLabel:
        return ContainerLabel(
            container_id=container.id,
            truck=container.truck or "",
            route=container.route or "",
            stop_sequences=tuple(container.stops),
            load_position="",
            cubby=container.cubby,
            wall=container.wall,
            parcels=count,
            door=self._door(container.truck),
        )

    def _door(self, truck: str | None) -> str | None:
        found = self.service.route_plan.active.truck(truck) if truck else None
        return found.door if found is not None else None

    def _submit(self, printer: str, label: ContainerLabel) -> None:
        device = self.config.label_printers[printer]
        zpl = container_label_zpl(
            label, dpi=device.dpi, width_mm=device.label_width_mm, height_mm=device.label_height_mm
        )

        def done(*_: Any) -> None:
            self.labels_printed += 1

        self.spoolers[printer].submit(zpl, on_done=done)

    # ----------------------------------------------------------------- weigh

    async def scanned(self, unit: WallUnit, container_id: str) -> Any:
        """The container's label was scanned at the wall's scale: weigh and judge it."""
        from controller.putwall.wall import Step

        container = self.containers[container_id]
        step = Step()
        if container.state not in ("closed", "held") or unit.config.scale is None:
            step.records.append(
                Record("container_scanned", container_id=container_id, reason=container.state)
            )
            return step
        now = self.service.clock()
        try:
            measured = await self._weigh(unit.config.scale)
        except (DriverError, TimeoutError) as err:
            self.alarms.raise_(
                f"weigh:{unit.wall.id}",
                f"put wall {unit.wall.id}: container {container_id} not weighed: {err}",
                now,
                device=unit.config.scale,
            )
            return step
        self.alarms.clear(f"weigh:{unit.wall.id}", now)
        verdict = check_weight(measured, list(container.weights.values()), self.policy)
        container.measured_kg = measured
        state = "ok" if verdict.ok else "held"
        fields = {"measured_kg": measured, "weigh_reason": verdict.reason}
        self.service.journal.append(
            WallEvent(
                time=time.time(),
                wall=unit.wall.id,
                kind="weighed_ok" if verdict.ok else "weight_mismatch",
                line=self.config.line.name,
                container_id=container_id,
                reason=verdict.reason,
                container_state=(container_id, state, fields),
            )
        )
        key = f"held:{container_id}"
        if verdict.ok:
            container.state = "ok"
            self.alarms.clear(key, now)
            await self._left(unit, container)
        else:
            container.state = "held"
            self.mismatches += 1
            self.alarms.raise_(
                key,
                f"container {container_id} ({unit.wall.id} {container.cubby}) held: "
                f"{verdict.reason}",
                now,
                device=unit.config.scale,
            )
        step.records.append(Record(f"container_{state}", container_id=container_id))
        return step

    async def _weigh(self, scale_name: str) -> float:
        scale = self._scales.get(scale_name)
        if scale is None:
            scale = create_scale(scale_name, self.config.scales_anywhere()[scale_name])
            await scale.connect()
            self._scales[scale_name] = scale
        try:
            async with asyncio.timeout(self.config.putwall.weigh_timeout_s):
                weight = await scale.read_stable()
        except (DriverError, TimeoutError):
            self._scales.pop(scale_name, None)
            await scale.close()
            raise
        return float(weight.kg)

    async def release(self, container_id: str, actor: Actor, why: str) -> None:
        """A supervisor releases a held container (audited)."""
        container = self.containers.get(container_id)
        if container is None:
            raise CommandRefused(f"no container {container_id!r}")
        if container.state != "held":
            raise CommandRefused(f"container {container_id} is {container.state}, not held")
        self.service.audit.record(actor, "container.release", container_id, why)
        container.state = "released"
        self.service.journal.append(
            WallEvent(
                time=time.time(),
                wall=container.wall,
                kind="released",
                line=self.config.line.name,
                container_id=container_id,
                reason=why,
                actor=actor.name,
                container_state=(container_id, "released", {}),
            )
        )
        self.alarms.clear(f"held:{container_id}", self.service.clock())
        await self._left(self.service.units[container.wall], container)

    async def _left(self, unit: WallUnit, container: Container) -> None:
        await self.service.apply(unit, unit.wall.container_left(container.id))
        for listener in self.listeners:
            listener(container)
