"""Contract: the OPC 40200 scale driver against the OPC UA scale simulator over opc.tcp."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from drivers.errors import ConnectionLost, DeviceFault, DeviceTimeout, ProtocolError
from drivers.scale.base import WeightMode
from drivers.scale.opcua_weighing import OpcUaWeighingScale, WeighingSnapshot, exact_decimal
from simulators.opcua_scale import OpcUaScaleSimulator
from tests.conftest import free_port
from tests.simulators.sim_helpers import wait_for


class Platter:
    """What lies on the simulated scale (kg, or None)."""

    def __init__(self, kg: float | None = None):
        self.kg = kg

    def __call__(self) -> float | None:
        return self.kg


Pair = tuple[OpcUaWeighingScale, OpcUaScaleSimulator, Platter]


@pytest.fixture
async def make_pair() -> AsyncIterator[Callable[..., Any]]:
    """Start simulator + connected driver; everything is closed and stopped at the end."""
    started: list[tuple[OpcUaWeighingScale, OpcUaScaleSimulator]] = []

    async def make(
        kg: float | None = 12.345,
        *,
        node: str | None = None,
        timeout_s: float = 10.0,  # a bound for a loaded machine, not a figure under test
        stable_timeout_s: float | None = None,
        **sim_kw,
    ) -> Pair:
        platter = Platter(kg)
        sim = OpcUaScaleSimulator("scale", platter, **sim_kw)
        await sim.start()
        driver = OpcUaWeighingScale(
            "scale", sim.url, node=node, timeout_s=timeout_s, stable_timeout_s=stable_timeout_s
        )
        started.append((driver, sim))
        await driver.connect()
        return driver, sim, platter

    yield make
    for driver, sim in started:
        await driver.close()
        await sim.stop()


async def test_reads_the_stable_weight_that_lies_on_the_scale(make_pair):
    driver, _, _ = await make_pair(12.345)
    weight = await driver.read_stable()
    assert weight.kg == Decimal("12.345")
    assert (weight.value, weight.unit) == (Decimal("12.345"), "kg")
    assert weight.stable and weight.legal_for_trade
    assert weight.mode is WeightMode.GROSS
    assert weight.tare_kg == 0
    assert weight.raw.startswith("12.345 kg [") and "WeightStable=True" in weight.raw
    assert weight.flags == ()


async def test_follows_the_platter_and_flags_center_of_zero(make_pair):
    driver, sim, platter = await make_pair(None)
    empty = await driver.read_now()
    assert empty.kg == 0 and "center_of_zero" in empty.flags
    platter.kg = 0.1 + 0.2  # 0.30000000000000004: the scale shows its division, 0.300
    await sim.update()
    weight = await driver.read_now()
    assert weight.kg == Decimal("0.3") and weight.value == Decimal("0.300")
    assert weight.raw.startswith("0.300 kg")


async def test_grams_convert_exactly_and_keep_the_printed_digits(make_pair):
    driver, _, _ = await make_pair(1.2345, unit="g", division="1")
    weight = await driver.read_stable()
    assert (weight.value, weight.unit) == (Decimal("1234"), "g")  # half-even at the division
    assert weight.kg == Decimal("1.234")


async def test_pounds_convert_with_the_exact_international_pound(make_pair):
    driver, _, _ = await make_pair(2.5, unit="lb", division="0.001")
    weight = await driver.read_stable()
    assert (weight.value, weight.unit) == (Decimal("5.512"), "lb")
    assert weight.kg == Decimal("5.512") * Decimal("0.45359237")


async def test_unstable_read_now_says_so_and_read_stable_gives_up_after_the_timeout(make_pair):
    driver, sim, _ = await make_pair(5.0, stable_timeout_s=0.3)
    sim.unstable = True
    await sim.update()
    weight = await driver.read_now()
    assert not weight.stable and not weight.legal_for_trade
    assert "motion" in weight.flags
    start = time.monotonic()
    with pytest.raises(DeviceFault, match="not stable within 300 ms") as info:
        await asyncio.wait_for(driver.read_stable(), 60)  # gives up by itself, long before
    assert time.monotonic() - start >= 0.3  # not before its timeout
    assert info.value.device == "scale" and info.value.address == sim.url


class WatchedScale(OpcUaWeighingScale):
    """The real driver; it tells the test when it has read a weight in motion."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.saw_motion = asyncio.Event()

    async def read_snapshot(self) -> WeighingSnapshot:
        snap = await super().read_snapshot()
        if not snap.stable:
            self.saw_motion.set()
        return snap


async def test_read_stable_waits_for_the_scale_to_settle(make_pair):
    _, sim, _ = await make_pair(5.0)
    sim.unstable = True
    await sim.update()
    driver = WatchedScale("scale", sim.url, timeout_s=10.0, stable_timeout_s=60)
    await driver.connect()
    try:
        reading = asyncio.create_task(driver.read_stable())
        await asyncio.wait_for(driver.saw_motion.wait(), 60)
        assert not reading.done()  # still waiting while the scale moves
        sim.unstable = False
        await sim.update()
        weight = await asyncio.wait_for(reading, 60)
    finally:
        await driver.close()
    assert weight.stable and weight.kg == Decimal("5")


async def test_overload_and_underload_are_device_faults(make_pair):
    driver, sim, platter = await make_pair(5.0)
    sim.overload = True
    await sim.update()
    with pytest.raises(DeviceFault, match="overload: OL"):
        await driver.read_now()
    with pytest.raises(DeviceFault, match="overload"):
        await driver.read_stable()
    sim.overload = False
    platter.kg = 100.0  # above capacity (60 kg) + 9 divisions
    await sim.update()
    with pytest.raises(DeviceFault, match="overload"):
        await driver.read_now()
    platter.kg = None
    sim.underload = True
    await sim.update()
    with pytest.raises(DeviceFault, match="underload"):
        await driver.read_now()


async def test_not_legal_for_trade_is_flagged_but_still_read(make_pair):
    driver, sim, _ = await make_pair(3.21)
    sim.not_legal = True
    await sim.update()
    weight = await driver.read_stable()
    assert weight.stable and not weight.legal_for_trade
    assert weight.kg == Decimal("3.21") and "not_legal_for_trade" in weight.flags


async def test_zero_round_trip_and_refusals_carry_the_status_name(make_pair):
    driver, sim, platter = await make_pair(None)
    sim.drift_kg = 0.2
    await sim.update()
    assert (await driver.read_now()).kg == Decimal("0.2")
    await driver.zero()
    weight = await driver.read_now()
    assert weight.kg == 0 and "center_of_zero" in weight.flags
    assert sim.method_calls == [("SetZero", "Good")]

    platter.kg = 10.0  # beyond the 4 % zero range of 60 kg
    with pytest.raises(DeviceFault, match="SetZero refused: BadOutOfRange"):
        await driver.zero()
    sim.unstable = True
    with pytest.raises(DeviceFault, match="SetZero refused: BadInvalidState") as info:
        await driver.zero()
    assert sim.url in str(info.value)


async def test_tare_round_trip(make_pair):
    driver, sim, platter = await make_pair(0.5)
    tare = await driver.tare()
    assert tare.mode is WeightMode.TARE
    assert tare.kg == Decimal("0.5") and tare.tare_kg == Decimal("0.5")

    platter.kg = 2.5
    await sim.update()
    net = await driver.read_stable()
    assert net.mode is WeightMode.NET and "net" in net.flags
    assert net.kg == Decimal("2") and net.tare_kg == Decimal("0.5")
    assert net.raw.startswith("2.000 kg")

    await driver.clear_tare()
    gross = await driver.read_now()
    assert gross.mode is WeightMode.GROSS and gross.kg == Decimal("2.5")
    assert [m for m, _ in sim.method_calls] == ["SetTare", "ClearTare"]

    platter.kg = None
    await sim.update()
    with pytest.raises(DeviceFault, match="SetTare refused: BadOutOfRange"):
        await driver.tare()


async def test_unreachable_endpoint_is_connection_lost_naming_the_url():
    url = f"opc.tcp://127.0.0.1:{free_port()}/lanesort/scale"
    driver = OpcUaWeighingScale("scale", url)
    with pytest.raises(ConnectionLost, match="cannot connect") as info:
        await driver.connect()
    assert url in str(info.value)
    assert isinstance(info.value.__cause__, OSError)
    assert not driver.connected
    await driver.close()


async def test_requests_before_connect_are_connection_lost():
    driver = OpcUaWeighingScale("scale", "opc.tcp://127.0.0.1:4840")
    with pytest.raises(ConnectionLost, match="not connected"):
        await driver.read_now()
    with pytest.raises(ConnectionLost, match="not connected"):
        await driver.zero()


async def test_server_gone_mid_session_is_connection_lost(make_pair):
    driver, sim, _ = await make_pair(1.0)
    await sim.stop()
    with pytest.raises((ConnectionLost, DeviceTimeout)) as info:
        await driver.read_now()
    assert isinstance(info.value, ConnectionLost), info.value
    await driver.close()
    assert not driver.connected
    await driver.close()  # twice is fine


async def test_a_silent_server_is_a_device_timeout(make_pair):
    driver, sim, _ = await make_pair(1.0, timeout_s=0.1)
    sim.method_delay_s = 0.5
    with pytest.raises(DeviceTimeout, match="no answer to SetTare in 100 ms"):
        await driver.tare()
    await wait_for(lambda: sim.method_calls, within=60)  # it finishes (before teardown)
    assert sim.method_calls == [("SetTare", "Good")]  # the late tare did happen


@pytest.mark.parametrize(
    "node",
    [
        "Objects/2:Scale1",
        "/Objects/Scale1",
        "Scale1",
        "ns=2;s=Scale1",
        "nsu=http://opcfoundation.org/UA/Scales/V2/;s=Scale1",
    ],
)
async def test_node_may_be_a_browse_path_or_a_node_id(make_pair, node):
    driver, _, _ = await make_pair(7.5, node=node)
    assert (await driver.read_now()).kg == Decimal("7.5")


async def test_default_finds_the_scale_whatever_its_name(make_pair):
    driver, _, _ = await make_pair(7.5, browse_name="Bench7")
    assert driver.scale_node is not None and driver.scale_node.Identifier == "Bench7"
    assert (await driver.read_now()).kg == Decimal("7.5")


async def test_wrong_node_is_a_protocol_error_and_leaves_nothing_open(make_pair):
    _, sim, _ = await make_pair(1.0)
    driver = OpcUaWeighingScale("scale", sim.url, node="Objects/2:NoSuchScale")
    with pytest.raises(ProtocolError, match="no scale object at browse path"):
        await driver.connect()
    assert not driver.connected
    driver = OpcUaWeighingScale("scale", sim.url, node="ns=2;s=Nope")
    with pytest.raises(ProtocolError, match="lacks CurrentWeight/Gross"):
        await driver.connect()
    assert not driver.connected


def test_bad_url_is_a_value_error():
    with pytest.raises(ValueError, match=r"opc\.tcp://"):
        OpcUaWeighingScale("scale", "tcp://127.0.0.1:4840")


def _snap(**kw: Any) -> WeighingSnapshot:
    base: dict[str, Any] = dict(
        gross=1.5,
        net=1.5,
        tare=0.0,
        unit="kg",
        printable="1.500 kg",
        stable=True,
        overload=False,
        underload=False,
        center_of_zero=False,
        legal_for_trade=True,
    )
    return WeighingSnapshot(**(base | kw))


def test_printable_value_that_disagrees_with_the_double_is_a_protocol_error():
    driver = OpcUaWeighingScale("scale", "opc.tcp://127.0.0.1:4840")
    assert driver.to_weight(_snap()).kg == Decimal("1.5")
    with pytest.raises(ProtocolError, match="disagrees"):
        driver.to_weight(_snap(printable="1.505 kg"))
    with pytest.raises(ProtocolError, match="unparseable"):
        driver.to_weight(_snap(printable="----"))
    with pytest.raises(ProtocolError, match="unknown unit"):
        driver.to_weight(_snap(unit="st", printable=""))
    no_text = driver.to_weight(_snap(printable="", unit="g", gross=1500.0, net=1500.0))
    assert (no_text.kg, no_text.value, no_text.unit) == (Decimal("1.5"), Decimal("1500.0"), "g")


def test_conversion_never_rounds_even_seventeen_digit_doubles():
    driver = OpcUaWeighingScale("scale", "opc.tcp://127.0.0.1:4840")
    weight = driver.to_weight(
        _snap(unit="oz", printable="", gross=0.30000000000000004, net=0.30000000000000004)
    )
    assert weight.value == Decimal("0.30000000000000004")
    assert weight.kg == Decimal("0.008504856937500001133980925")  # exact, never rounded
    assert weight.kg / Decimal("0.028349523125") == weight.value


@given(st.decimals(min_value=-1000, max_value=100000, places=4, allow_nan=False))
def test_exact_decimal_recovers_the_printed_decimal(d: Decimal):
    assert exact_decimal(float(d)) == d
