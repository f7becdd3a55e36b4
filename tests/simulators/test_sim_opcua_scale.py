"""The OPC UA scale simulator seen through a bare asyncua client (no driver)."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest
from asyncua import Client, ua
from asyncua.ua.uaerrors import BadInvalidState

from simulators.opcua_scale import SCALES_NS, OpcUaScaleSimulator


async def test_serves_the_modelled_nodes_and_methods_on_an_os_chosen_port():
    load: list[float | None] = [4.2]
    sim = OpcUaScaleSimulator("scale", lambda: load[0], period_s=0.01)
    await sim.start()
    client = Client(sim.url, timeout=2)
    try:
        assert sim.port != 0 and sim.url == f"opc.tcp://127.0.0.1:{sim.port}/lanesort/scale"
        await client.connect()
        ns = await client.get_namespace_index(SCALES_NS)
        scale = await client.nodes.objects.get_child(f"{ns}:Scale1")
        assert scale.nodeid == ua.NodeId("Scale1", ns)
        names = ["Gross", "Net", "Tare", "Unit", "PrintableValue", "WeightStable", "LegalForTrade"]
        nodes = [await scale.get_child([f"{ns}:CurrentWeight", f"{ns}:{n}"]) for n in names]
        values = await client.read_values(nodes)
        assert values == [4.2, 4.2, 0.0, "kg", "4.200 kg", True, True]

        load[0] = None  # the periodic refresh picks it up without update()
        gross = nodes[0]
        for _ in range(50):
            if await gross.read_value() == 0.0:
                break
            await asyncio.sleep(0.01)
        assert await gross.read_value() == 0.0

        sim.unstable = True
        with pytest.raises(BadInvalidState):
            await scale.call_method(f"{ns}:SetZero")
        assert sim.method_calls == [("SetZero", "BadInvalidState")]
        wobble = {(await sim.update()).gross for _ in range(6)}
        assert len(wobble) > 1 and all(abs(g) <= Decimal("0.005") for g in wobble)
        assert await nodes[5].read_value() is False
    finally:
        await client.disconnect()
        await sim.stop()
    assert not sim.running
    await sim.stop()  # twice is fine


async def test_unknown_unit_is_refused():
    with pytest.raises(ValueError, match="unit"):
        OpcUaScaleSimulator("scale", lambda: None, unit="stone")


async def test_reading_quantises_to_the_division_and_shows_overload():
    sim = OpcUaScaleSimulator("scale", lambda: 61.0, capacity_kg=60.0)  # not started
    reading = sim.compute()
    assert reading.overload and reading.printable == "OL"
    sim.lookup = lambda: 0.0004
    reading = sim.compute()
    assert reading.gross == Decimal("0.000") and reading.center_of_zero
    assert reading.printable == "0.000 kg"
