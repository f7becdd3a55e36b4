"""The sorter PLC contract rig: the same tests run against every PLC backend.

A backend is a simulator on loopback plus the driver that talks to it, as python-can
runs one contract against each interface. ``plc_rig`` is parametrized by backend; a
test passes line-config overrides with ``@pytest.mark.parametrize("plc_rig", [...],
indirect=True)`` as ``{"config": {...}}``; the ``backend`` fixture runs it once per backend.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from drivers.plc.base import SorterPlc
from drivers.plc.modbus_tcp import ModbusTcpSorterPlc
from drivers.plc.opcua import OpcuaClientOptions, OpcuaSorterPlc
from plc_configs.schema import LineConfig
from simulators.plc_base import PlcSimulatorBase
from simulators.plc_modbus import PlcSimulator
from simulators.plc_opcua import OpcuaPlcSimulator
from simulators.twin import LineTwin
from tests.simulators.sim_helpers import make_config

OPCUA_PLC = {"devices": {"sorter": {"driver": "opcua", "url": "opc.tcp://127.0.0.1:4840/plc"}}}
"""Config overrides that make the test line's PLC an OPC UA one."""


@dataclass
class PlcRig:
    """A PLC simulator and a way to make drivers for it."""

    backend: str
    config: LineConfig
    simulator: PlcSimulatorBase
    driver: Callable[..., SorterPlc]


def opcua_driver(
    config: LineConfig, url: str, pki: Path | None, timeout_s: float = 0.5, **options: Any
) -> OpcuaSorterPlc:
    """An OPC UA PLC driver for ``url`` (SignAndEncrypt when ``pki`` is given)."""
    opts = OpcuaClientOptions(
        timeout_s=timeout_s,
        pki_dir=pki,
        security_mode="SignAndEncrypt" if pki is not None else "None",
        **options,
    )
    return OpcuaSorterPlc("sorter", url, config.node_map, opts)


@pytest.fixture(params=["modbus", "opcua"])
def backend(request) -> str:
    """Each PLC backend in turn."""
    return request.param


@pytest.fixture(scope="session")
def pki(tmp_path_factory) -> Path:
    """Certificate folders shared by the session's PLC simulators and drivers (an RSA key
    takes a while to make; every test would otherwise make two)."""
    return tmp_path_factory.mktemp("pki")


@pytest.fixture
async def plc_rig(request, backend, pki) -> AsyncIterator[PlcRig]:
    """A started PLC simulator of the backend, with a driver factory (closed at the end)."""
    overrides = dict(getattr(request, "param", {}) or {}).get("config", {})
    drivers: list[SorterPlc] = []
    if backend == "opcua":
        config = make_config(**{**overrides, **OPCUA_PLC})
        sim: PlcSimulatorBase = OpcuaPlcSimulator(
            config, LineTwin(config), "opc.tcp://127.0.0.1:0/plc", pki_dir=pki / "plc"
        )
        await sim.start()

        def make(timeout_s: float = 0.5) -> SorterPlc:
            assert isinstance(sim, OpcuaPlcSimulator)
            drivers.append(opcua_driver(config, sim.url, pki / "host", timeout_s))
            return drivers[-1]

    else:
        config = make_config(**overrides)
        sim = PlcSimulator(config, LineTwin(config), port=0)
        await sim.start()

        def make(timeout_s: float = 0.5) -> SorterPlc:
            assert isinstance(sim, PlcSimulator)
            url = f"modbus-tcp://127.0.0.1:{sim.port}"
            drivers.append(ModbusTcpSorterPlc("sorter", url, config.register_map, timeout_s))
            return drivers[-1]

    yield PlcRig(backend, config, sim, make)
    for driver in drivers:
        await driver.close()
    await sim.stop()
