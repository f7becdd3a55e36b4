"""The scales and dimensioners of a line config as simulators, started with the line.

:func:`make_protocol` maps a device's driver name to its protocol handler;
:class:`MeasureDevices` builds one :class:`~simulators.measure.server.DeviceServer` per
scale/dimensioner (``opcua-weighing`` scales are served elsewhere, and ``rfc2217://``
or ``loop://`` addresses cannot be served: both are skipped with a log line), with fault
rates from ``simulation.measure`` raised by the scenario file, and timing from
:class:`MeasureTiming`. With ``any_port`` TCP devices listen on free ports and pty
devices get their symlink in a temporary folder (removed on stop).
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import time
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

from plc_configs.schema import DimensionerDevice, LineConfig, ScaleDevice
from simulators.measure.base import Lookup, MeasureProtocol
from simulators.measure.cubiscan import CubiScan
from simulators.measure.faults import Fault, FaultInjector, RateFn
from simulators.measure.mtsics import MtSics
from simulators.measure.nci import Nci
from simulators.measure.server import DeviceServer, parse_device_url
from simulators.measure.sma import Sma
from simulators.measure.telegram import DelimitedTelegram
from simulators.measure.toledo import ToledoContinuous
from simulators.scenario import Scenario, load_line_scenario
from simulators.twin import Event, EventKind

log = logging.getLogger(__name__)

NOT_SIMULATED_HERE = frozenset({"opcua-weighing"})


@dataclass(frozen=True)
class MeasureTiming:
    """Delays of the simulated devices (real devices: SMA ~0.1 s, Toledo 7 frames/s)."""

    sma_reply_delay_s: float = 0.005
    stability_timeout_s: float = 0.05
    """MT-SICS: how long ``S`` waits for stability before ``S I``."""
    toledo_period_s: float = 1 / 7
    split_gap_s: float = 0.003
    pty_blackout_s: float = 0.5
    """A ``disconnect`` on a pty: the device stays silent this long."""


def make_protocol(
    device: ScaleDevice | DimensionerDevice, lookup: Lookup, timing: MeasureTiming
) -> MeasureProtocol:
    """The protocol handler of a device's driver."""
    if isinstance(device, ScaleDevice):
        match device.driver:
            case "mt-sics":
                return MtSics(lookup, stability_timeout_s=timing.stability_timeout_s)
            case "sma":
                return Sma(lookup, reply_delay_s=timing.sma_reply_delay_s)
            case "nci":
                return Nci(lookup)
            case "toledo-continuous":
                return ToledoContinuous(lookup, period_s=timing.toledo_period_s)
        raise ValueError(f"scale driver {device.driver!r} is not simulated here")
    if device.driver == "cubiscan":
        return CubiScan(lookup)
    fmt = device.telegram_format()
    assert fmt is not None  # the schema requires one for every telegram driver
    return DelimitedTelegram(lookup, fmt)


def measure_devices(config: LineConfig) -> dict[str, ScaleDevice | DimensionerDevice]:
    """The scales and dimensioners this module simulates, by name."""
    devices: dict[str, ScaleDevice | DimensionerDevice] = {}
    devices.update(config.scales)
    devices.update(config.dimensioners)
    return {n: d for n, d in devices.items() if d.driver not in NOT_SIMULATED_HERE}


class MeasureDevices:
    """Every scale and dimensioner simulator of a line."""

    def __init__(
        self,
        config: LineConfig,
        lookup: Lookup,
        *,
        any_port: bool = False,
        config_dir: str | Path | None = None,
        timing: MeasureTiming | None = None,
        scenario: Scenario | None = None,
    ):
        self.config = config
        self.lookup = lookup
        self.any_port = any_port
        self.timing = timing or MeasureTiming()
        devices = measure_devices(config)
        if scenario is None:
            scenario = load_line_scenario(config, config_dir, devices)
        self.scenario = scenario or Scenario()
        self._origin = time.monotonic()
        self._tmp: Path | None = None
        self.servers: dict[str, DeviceServer] = {}
        for name, device in devices.items():
            try:
                endpoint = parse_device_url(device.url)
            except ValueError as err:
                log.warning("%s: not simulated (%s)", name, err)
                continue
            url = device.url
            if any_port and endpoint.kind == "tcp":
                url = f"{endpoint.scheme}://{endpoint.host}:0"
            elif any_port:
                url = f"{self._tmp_dir()}/{name}" + (f"?{endpoint.query}" if endpoint.query else "")
            self.servers[name] = DeviceServer(
                name,
                url,
                make_protocol(device, lookup, self.timing),
                FaultInjector(
                    self._rates(name),
                    seed=f"lanesort-measure:{config.simulation.seed}:{name}",
                    elapsed=self.elapsed,
                ),
                split_gap_s=self.timing.split_gap_s,
                pty_blackout_s=self.timing.pty_blackout_s,
            )

    def _tmp_dir(self) -> str:
        if self._tmp is None:
            self._tmp = Path(tempfile.mkdtemp(prefix="lanesort-sim-"))
        return str(self._tmp)

    def _rates(self, name: str) -> RateFn:
        measure = self.config.simulation.measure

        def rate(fault: Fault, t: float) -> float:
            base = float(getattr(measure, f"{fault.value}_rate"))
            return self.scenario.rate(name, fault, t, base)

        return rate

    def elapsed(self) -> float:
        """Seconds since :meth:`start` (scenario time)."""
        return time.monotonic() - self._origin

    def on_twin_event(self, event: Event) -> None:
        """Twin listener: a parcel passing the scan point makes pushing devices send."""
        if event.kind is EventKind.SCANNED:
            for server in self.servers.values():
                server.parcel_scanned(event.parcel.spec)

    async def start(self) -> None:
        """Start every device simulator; scenario time starts now."""
        self._origin = time.monotonic()
        for server in self.servers.values():
            await server.start()

    async def stop(self) -> None:
        """Stop every device simulator and remove the temporary pty folder."""
        for server in self.servers.values():
            await server.stop()
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None

    def urls(self) -> dict[str, str]:
        """Where each device simulator can be reached (actual ports and paths)."""
        return {name: server.url for name, server in self.servers.items()}

    def names(self) -> Collection[str]:
        """The simulated devices' names."""
        return self.servers.keys()
