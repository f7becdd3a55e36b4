"""The whole simulated line in one object: the twin, its PLC and its readers.

Used by ``python -m simulators`` and by tests that run the controller against a
line in the same process. The devices listen where the config's URLs say, or,
with ``any_port=True``, on free ports (``plc_url`` / ``reader_urls`` tell which).
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from plc_configs.schema import LineConfig
from simulators.files import write_manifest
from simulators.parcels import ParcelSpec
from simulators.plc_modbus import PlcSimulator
from simulators.reader_tcp import ReaderSimulator
from simulators.twin import LineTwin


def host_port(url: str) -> tuple[str, int]:
    """(host, port) of ``modbus-tcp://HOST:PORT`` or ``tcp://HOST:PORT``."""
    parts = urlsplit(url)
    assert parts.hostname is not None and parts.port is not None
    return parts.hostname, parts.port


class SimulatedLine:
    """The line twin with one PLC simulator and one simulator per barcode reader."""

    def __init__(self, config: LineConfig, *, any_port: bool = False):
        self.config = config
        self.twin = LineTwin(config)
        host, port = host_port(config.plc.url)
        self.plc = PlcSimulator(config, self.twin, host, 0 if any_port else port)
        self.readers: dict[str, ReaderSimulator] = {}
        for name, device in config.readers.items():
            r_host, r_port = host_port(device.url)
            self.readers[name] = ReaderSimulator(
                name,
                device,
                self._in_scan_field,
                host=r_host,
                port=0 if any_port else r_port,
                late_answer_ms=config.simulation.reader.late_answer_ms,
            )

    def _in_scan_field(self) -> ParcelSpec | None:
        self.plc.sync()
        parcel = self.twin.parcel_in_scan_field()
        return parcel.spec if parcel is not None else None

    def write_manifest(self, path: Path, count: int) -> None:
        """Write the TMS manifest of parcels 1..count (those the TMS knows)."""
        write_manifest(path, self.twin.factory.manifest_rows(count))

    async def start(self) -> None:
        """Start the PLC, then the readers."""
        await self.plc.start()
        for reader in self.readers.values():
            await reader.start()

    async def stop(self) -> None:
        """Stop the readers, then the PLC."""
        for reader in self.readers.values():
            await reader.stop()
        await self.plc.stop()

    @property
    def plc_url(self) -> str:
        """Where the PLC simulator listens."""
        return f"modbus-tcp://{self.plc.host}:{self.plc.port}"

    def reader_urls(self) -> dict[str, str]:
        """Where each reader simulator listens."""
        return {name: f"tcp://{r.host}:{r.port}" for name, r in self.readers.items()}
