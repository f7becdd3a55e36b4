"""Fixtures for the simulator tests."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from pymodbus.client import AsyncModbusTcpClient

from plc_configs.schema import LineConfig
from simulators.plc_modbus import PlcSimulator
from simulators.twin import LineTwin
from tests.simulators.sim_helpers import Host


@pytest.fixture
async def plc_sim() -> AsyncIterator[Callable[..., Any]]:
    """Start a PLC simulator (OS-chosen port) with a connected :class:`Host`; stop at the end."""
    started: list[tuple[PlcSimulator, AsyncModbusTcpClient]] = []

    async def start(config: LineConfig) -> tuple[PlcSimulator, Host]:
        twin = LineTwin(config)
        sim = PlcSimulator(config, twin, "127.0.0.1", 0)
        await sim.start()
        client = AsyncModbusTcpClient("127.0.0.1", port=sim.port, timeout=2, retries=0)
        started.append((sim, client))
        assert await client.connect()
        return sim, Host(config, client)

    yield start
    for sim, client in started:
        client.close()
        await sim.stop()
