"""The whole simulated line in one object: the twin, its PLC, readers, scales, dimensioners.

Used by ``python -m simulators`` and by tests that run the controller against a
line in the same process. The devices listen where the config's URLs say, or,
with ``any_port=True``, on free ports and temporary pty paths (``plc_url`` /
``reader_urls`` / ``measure_urls`` tell which). The scenario (``simulation.scenario``)
is applied here: its measuring faults by the devices, its PLC faults at their times, its
chute jams by the PLC program and its volume shifts by the twin's parcels.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path
from urllib.parse import urlsplit

from plc_configs.schema import LineConfig
from simulators.asrs.server import AsrsSimulator
from simulators.camera.server import CameraSimulator
from simulators.files import ROUTE_PLAN_FILE, write_manifest, write_route_plan
from simulators.measure.devices import MeasureDevices, MeasureTiming, measure_devices
from simulators.opcua_scale import OpcUaScaleSimulator
from simulators.parcels import ParcelSpec
from simulators.plc_modbus import PlcSimulator
from simulators.plc_opcua import OpcuaPlcSimulator
from simulators.putwall.wiring import PutWallSimulation
from simulators.readers import AnyReaderSimulator, CognexPushSimulator, make_reader_simulator
from simulators.scenario import load_line_scenario
from simulators.twin import Event, EventKind, LineTwin

log = logging.getLogger(__name__)


def host_port(url: str) -> tuple[str, int]:
    """(host, port) of ``modbus-tcp://HOST:PORT`` or ``tcp://HOST:PORT``."""
    parts = urlsplit(url)
    assert parts.hostname is not None and parts.port is not None
    return parts.hostname, parts.port


class SimulatedLine:
    """The line twin with one PLC simulator and one simulator per reader, scale, dimensioner.

    ``config_dir`` is the config file's folder (the scenario path is relative to it).
    ``plc_pki_dir``: where an OPC UA PLC simulator keeps its certificate.
    """

    def __init__(
        self,
        config: LineConfig,
        *,
        any_port: bool = False,
        config_dir: Path | None = None,
        measure_timing: MeasureTiming | None = None,
        plc_pki_dir: Path | None = None,
    ):
        self.config = config
        self.scenario = load_line_scenario(config, config_dir, measure_devices(config))
        self.twin = LineTwin(config, volume_shifts=self.scenario.volumes)
        self.plc: PlcSimulator | OpcuaPlcSimulator
        if config.plc.driver == "opcua":
            url = config.plc.url
            if any_port:
                parts = urlsplit(url)
                url = f"opc.tcp://{parts.hostname}:0{parts.path}"
            pki = plc_pki_dir or Path(config.line.data_dir) / "plc-sim-pki"
            self.plc = OpcuaPlcSimulator(config, self.twin, url, pki_dir=pki)
        else:
            host, port = host_port(config.plc.url)
            self.plc = PlcSimulator(config, self.twin, host, 0 if any_port else port)
        self.readers: dict[str, AnyReaderSimulator] = {}
        for name, device in config.readers.items():
            reader = make_reader_simulator(
                name,
                device,
                self._in_scan_field,
                any_port=any_port,
                late_answer_ms=config.simulation.reader.late_answer_ms,
            )
            if isinstance(reader, CognexPushSimulator):
                self.twin.listeners.append(reader.on_twin_event)
            self.readers[name] = reader
        self.measure = MeasureDevices(
            config,
            self._in_scan_field,
            any_port=any_port,
            config_dir=config_dir,
            timing=measure_timing,
            scenario=self.scenario,
        )
        self.twin.listeners.append(self.measure.on_twin_event)
        self.cameras: dict[str, CameraSimulator] = {}
        for name, camera in config.cameras.items():
            parts = urlsplit(camera.url)
            self.cameras[name] = CameraSimulator(
                name,
                self._in_scan_field,
                host=parts.hostname or "127.0.0.1",
                port=0 if any_port else (parts.port or 80),
                late_answer_ms=config.simulation.reader.late_answer_ms,
                seed=config.simulation.seed,
            )
        if self.cameras:
            self.twin.listeners.append(self._prepare_frames)
        self.putwall: PutWallSimulation | None = None
        if config.putwall.walls or config.loading.stations:
            self.putwall = PutWallSimulation(config, plan=self.twin.factory.plan, any_port=any_port)
            self.twin.listeners.append(self.putwall.on_twin_event)
        self.asrs: dict[str, AsrsSimulator] = {}
        for name, device in config.asrs_devices.items():
            host, port = host_port(device.url)
            sim = config.simulation.asrs
            self.asrs[name] = AsrsSimulator(
                device.protocol,
                host,
                0 if any_port else port,
                capacity=sim.capacity,
                store_s=sim.store_s,
                retrieve_s=sim.retrieve_s,
                seed=config.simulation.seed,
                fault_rates=sim.fault_rates or None,
                telegram_length=device.telegram_length,
            )
        self._crane_faults: asyncio.Task[None] | None = None
        self._plc_faults: asyncio.Task[None] | None = None
        self._advising: asyncio.Task[None] | None = None
        self._manifest: tuple[Path, int] | None = None
        self.opcua_scales: dict[str, OpcUaScaleSimulator] = {}
        for name, scale in config.scales.items():
            if scale.driver != "opcua-weighing":
                continue
            parts = urlsplit(scale.url)
            self.opcua_scales[name] = OpcUaScaleSimulator(
                name,
                self._weight_in_scan_field,
                host=parts.hostname or "127.0.0.1",
                port=0 if any_port else (parts.port or 4840),
                path=parts.path or "/",
            )

    def _in_scan_field(self) -> ParcelSpec | None:
        self.plc.sync()
        parcel = self.twin.parcel_in_scan_field()
        return parcel.spec if parcel is not None else None

    def _prepare_frames(self, event: Event) -> None:
        if event.kind is EventKind.INDUCTED:
            for camera in self.cameras.values():
                camera.prepare(event.parcel.spec)

    def _weight_in_scan_field(self) -> float | None:
        spec = self._in_scan_field()
        return spec.weight_kg if spec is not None else None

    def write_manifest(self, path: Path, count: int) -> Path | None:
        """Write the TMS manifest of parcels 1..count (those the TMS knows); with a route
        plan, also the plan (``route-plan.json`` in the same folder), whose path it returns."""
        factory = self.twin.factory
        self._manifest = (path, count)
        lookahead = self.config.simulation.manifest_lookahead_s
        if lookahead is not None:
            count = min(count, factory.first_parcel_at(lookahead, self.twin.rate_pph) - 1)
        write_manifest(path, factory.manifest_rows(count), factory.manifest_columns)
        if factory.plan is None:
            return None
        plan_path = path.parent / ROUTE_PLAN_FILE
        write_route_plan(plan_path, factory.plan)
        return plan_path

    async def start(self) -> None:
        """Start the PLC, then the readers, scales and dimensioners."""
        await self.plc.start()
        for reader in self.readers.values():
            await reader.start()
        await self.measure.start()
        for scale in self.opcua_scales.values():
            await scale.start()
        for camera in self.cameras.values():
            await camera.start()
        if self.putwall is not None:
            await self.putwall.start()
        for asrs in self.asrs.values():
            await asrs.start()
        if self.asrs and self.config.simulation.asrs.crane_faults:
            self._crane_faults = asyncio.create_task(self._run_crane_faults())
        if self.scenario.plc:
            self._plc_faults = asyncio.create_task(self._run_plc_faults())
        if self._manifest is not None and self.config.simulation.manifest_lookahead_s:
            self._advising = asyncio.create_task(self._advise_manifest(*self._manifest))
        if self.scenario.chutes:
            origin = self.plc.clock() - self.measure.elapsed()
            self.plc.schedule_chute_faults(self.scenario.chutes, origin)

    async def _run_crane_faults(self) -> None:
        """``simulation.asrs.crane_faults``: each AS/RS's crane faults at its time."""
        for at_s, for_s in sorted(self.config.simulation.asrs.crane_faults):
            await asyncio.sleep(max(0.0, at_s - self.measure.elapsed()))
            for asrs in self.asrs.values():
                asrs.crane_fault(for_s)

    async def _run_plc_faults(self) -> None:
        """The scenario's one-off PLC faults, each at its time (scenario time)."""
        for entry in sorted(self.scenario.plc, key=lambda e: e.at_s):
            await asyncio.sleep(max(0.0, entry.at_s - self.measure.elapsed()))
            log.warning("scenario: PLC %s at %.1f s", entry.fault, self.measure.elapsed())
            if entry.fault == "disconnect":
                self.plc.disconnect_clients()
            else:
                self.plc.stall(entry.seconds)

    async def _advise_manifest(self, path: Path, count: int) -> None:
        """``simulation.manifest_lookahead_s``: the TMS sends each parcel that long before
        it is created; the manifest file is rewritten (atomically) as the shift goes on."""
        lookahead = self.config.simulation.manifest_lookahead_s
        assert lookahead is not None
        factory, rate = self.twin.factory, self.twin.rate_pph
        written = min(count, factory.first_parcel_at(lookahead, rate) - 1)
        while written < count:
            await asyncio.sleep(min(5.0, lookahead / 4))
            due = min(count, factory.first_parcel_at(self.measure.elapsed() + lookahead, rate) - 1)
            if due > written:
                await asyncio.to_thread(
                    lambda n=due: write_manifest(
                        path, factory.manifest_rows(n), factory.manifest_columns
                    )
                )
                log.info("manifest: parcels 1..%d advised", due)
                written = due

    async def stop(self) -> None:
        """Stop the scales and dimensioners, the readers, then the PLC."""
        for task in (self._plc_faults, self._advising, self._crane_faults):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._plc_faults = self._advising = self._crane_faults = None
        for asrs in self.asrs.values():
            await asrs.stop()
        if self.putwall is not None:
            await self.putwall.stop()
        for camera in self.cameras.values():
            await camera.stop()
        for scale in self.opcua_scales.values():
            await scale.stop()
        await self.measure.stop()
        for reader in self.readers.values():
            await reader.stop()
        await self.plc.stop()

    @property
    def plc_url(self) -> str:
        """Where the PLC simulator listens."""
        if isinstance(self.plc, OpcuaPlcSimulator):
            return self.plc.url
        return f"modbus-tcp://{self.plc.host}:{self.plc.port}"

    def camera_urls(self) -> dict[str, str]:
        """Where each camera simulator serves (snapshot URL, or the stream URL if configured)."""
        return {
            name: (c.stream_url if self.config.cameras[name].stream else c.snapshot_url)
            for name, c in self.cameras.items()
        }

    def putwall_urls(self) -> dict[str, str]:
        """Where the lights, printers and check scales listen; where the controller must
        listen for the wall and dock scanners."""
        urls = self.putwall.urls() if self.putwall is not None else {}
        urls.update({name: sim.url for name, sim in self.asrs.items()})
        return urls

    def reader_urls(self) -> dict[str, str]:
        """Where each reader simulator listens (push mode: where the controller must listen)."""
        return {name: r.url for name, r in self.readers.items()}

    def measure_urls(self) -> dict[str, str]:
        """Where each scale and dimensioner simulator listens (TCP URL or pty path)."""
        urls = self.measure.urls()
        urls.update({name: s.url for name, s in self.opcua_scales.items()})
        return urls
