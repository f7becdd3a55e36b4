"""Contract: the opcua-weighing driver, built from its config, against the OPC UA scale
simulator over opc.tcp (once: OPC UA has one transport).

The simulator has no fault rates; its fault hooks (unstable, overload, underload) are
switched instead, and a method call in motion stands for an error reply.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal

import pytest

from drivers.errors import ConnectionLost, DeviceFault
from drivers.registry import create_scale
from drivers.scale.base import WeightMode
from plc_configs.schema import ScaleDevice
from simulators.opcua_scale import OpcUaScaleSimulator
from tests.drivers.contract.rig import PARCEL, TIMEOUT_MS, Platter, half_division_kg

PARCEL_KG = Decimal(str(PARCEL.weight_kg))


@pytest.fixture
async def opcua() -> AsyncIterator[tuple]:
    platter = Platter(PARCEL)

    def kg() -> float | None:
        return platter.parcel.weight_kg if platter.parcel is not None else None

    sim = OpcUaScaleSimulator("ua-scale", kg, period_s=0.01)
    await sim.start()
    device = ScaleDevice(kind="scale", driver="opcua-weighing", url=sim.url, timeout_ms=TIMEOUT_MS)
    driver = create_scale("ua-scale", device)
    try:
        await driver.connect()
        yield driver, sim, platter
    finally:
        await driver.close()
        await sim.stop()


async def test_opcua_contract(opcua):
    driver, sim, platter = opcua
    # The parcel on the platter, within the printed division.
    weight = await driver.read_stable()
    assert weight.stable and weight.legal_for_trade and weight.mode is WeightMode.GROSS
    assert abs(weight.kg - PARCEL_KG) <= half_division_kg(weight), weight
    # Empty platter: zero, at centre of zero.
    platter.parcel = None
    await sim.update()
    empty = await driver.read_stable()
    assert empty.kg == 0 and "center_of_zero" in empty.flags
    platter.parcel = PARCEL
    await sim.update()
    # Unstable: read_now says so, read_stable gives up with DeviceFault.
    sim.unstable = True
    await sim.update()
    assert not (await driver.read_now()).stable
    with pytest.raises(DeviceFault, match="not stable") as info:
        await driver.read_stable()
    assert info.value.device == "ua-scale" and info.value.address == sim.url
    # Error reply: a method refused in motion.
    with pytest.raises(DeviceFault, match="SetZero refused"):
        await driver.zero()
    sim.unstable = False
    # Overload and underload.
    for hook in ("overload", "underload"):
        setattr(sim, hook, True)
        await sim.update()
        with pytest.raises(DeviceFault, match=hook):
            await driver.read_stable()
        setattr(sim, hook, False)
    await sim.update()
    # Tare, then net zero.
    tare = await driver.tare()
    assert tare.mode is WeightMode.TARE and abs(tare.kg - PARCEL_KG) <= half_division_kg(tare)
    net = await driver.read_stable()
    assert net.kg == 0 and net.mode is WeightMode.NET
    await driver.clear_tare()
    # Close and connect again.
    await driver.close()
    with pytest.raises(ConnectionLost):
        await driver.read_now()
    await driver.connect()
    assert abs((await driver.read_stable()).kg - PARCEL_KG) <= half_division_kg(weight)
