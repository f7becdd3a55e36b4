"""The buffer service against the AS/RS simulator over TCP (OSIP and the Gebhardt-like
telegrams): store and retrieve to the end, a refusal as a TransportError naming the
device's reason, a crane fault as an alarm until it clears."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest

from controller.alarms.board import AlarmBoard
from controller.buffer.service import BufferService
from controller.errors import TransportError
from plc_configs.loader import load_line_config
from simulators.asrs.server import AsrsSimulator
from tests.controller.fleet.conftest import ROOT
from tests.controller.line.helpers import until


@pytest.fixture(params=["osip", "gebhardt"])
async def buffer(request) -> AsyncIterator[tuple[BufferService, AsrsSimulator]]:
    sim = AsrsSimulator(request.param, "127.0.0.1", 0, capacity=3, store_s=0.01, retrieve_s=0.01)
    await sim.start()
    config = load_line_config(ROOT / "plc_configs" / "demo-line-fleet.yaml")
    device = config.devices["buffer-asrs"].model_copy(
        update={"protocol": request.param, "url": sim.url, "our_id": None, "device_id": None,
                "in_location": None, "out_location": None, "reply_timeout_ms": 300}
    )  # fmt: skip
    device = type(device).model_validate(device.model_dump())  # the protocol's defaults
    config = config.model_copy(update={"devices": {**config.devices, "buffer-asrs": device}})
    service = BufferService(config, AlarmBoard(), order_timeout_s=5, link_wait_s=5)
    runner = asyncio.create_task(service.run())
    try:
        yield service, sim
    finally:
        runner.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await runner
        await sim.stop()


async def test_a_container_is_stored_and_retrieved(buffer):
    service, sim = buffer
    slot = await service.store("W1-C0001")
    assert slot and service.contents == {"W1-C0001": slot}
    assert list(sim.snapshot().values()) == ["W1-C0001"] and sim.occupancy == (1, 3)
    await service.retrieve("W1-C0001")
    assert service.contents == {} and service.snapshot()["counts"] == {"stored": 1, "retrieved": 1}
    assert service.snapshot()["pending"] == []


async def test_a_refusal_names_the_reason_and_a_crane_fault_is_an_alarm(buffer):
    service, sim = buffer
    with pytest.raises(TransportError, match="retrieve refused"):
        await service.retrieve("NOT-STORED")
    sim.crane_fault(0.5)
    await until(lambda: any(a.key == "asrs-fault:buffer-asrs" for a in service.alarms.active()))
    await until(lambda: not service.faults, within=5)
    alarm = next(a for a in service.alarms.active() if a.key == "asrs-fault:buffer-asrs")
    assert not alarm.condition_active and "crane fault" in alarm.text
    assert await service.store("W1-C0002")
