"""Contract: every scale and dimensioner driver against its simulator over the real wire.

Each protocol runs over TCP (``tcp://127.0.0.1:<port>``) and over a pty (the simulator's
symlink, opened by the driver as a serial port). The driver must read what the simulator
has on the platter: the weight within half the division the device printed, the
dimensions within 1 mm; and an empty platter as the device reports it.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from drivers.dimensioner.base import Dimensions
from drivers.errors import DeviceFault, DeviceTimeout
from drivers.scale.base import Weight, WeightMode
from tests.drivers.contract.rig import (
    DIMENSIONERS,
    EMPTY_FIELD,
    PARCEL,
    PROTOCOLS,
    PUSHED,
    SCALES,
    TRANSPORTS,
    half_division_kg,
)

WIRES = pytest.mark.parametrize("transport", TRANSPORTS)
PARCEL_KG = Decimal(str(PARCEL.weight_kg))
PARCEL_DIMS = (PARCEL.length_mm, PARCEL.width_mm, PARCEL.height_mm)


def assert_weight_of_parcel(weight: Weight) -> None:
    assert weight.stable and weight.legal_for_trade, weight
    assert abs(weight.kg - PARCEL_KG) <= half_division_kg(weight), weight
    assert weight.mode is WeightMode.GROSS


def assert_dimensions_of_parcel(dims: Dimensions) -> None:
    assert dims.measured and dims.no_dimension_reason is None, dims
    got = (dims.length_mm, dims.width_mm, dims.height_mm)
    for measured, true in zip(got, PARCEL_DIMS, strict=True):
        assert measured is not None and abs(measured - true) <= 1, dims
    assert dims.legal_for_trade, dims


@WIRES
@pytest.mark.parametrize("protocol", SCALES)
async def test_scale_reads_the_parcel_on_the_platter(rig, protocol, transport):
    r = await rig(protocol, transport)
    for _ in range(3):
        assert_weight_of_parcel(await r.driver.read_stable())
    now = await r.driver.read_now()
    assert now.stable and abs(now.kg - PARCEL_KG) <= half_division_kg(now)


@WIRES
@pytest.mark.parametrize("protocol", SCALES)
async def test_scale_follows_the_platter(rig, protocol, transport):
    r = await rig(protocol, transport)
    assert_weight_of_parcel(await r.driver.read_stable())
    r.platter.parcel = None
    empty = await r.driver.read_stable()
    assert empty.kg == 0 and empty.stable, empty
    if protocol in ("sma", "nci"):  # their status says the platter is at centre of zero
        assert "center_of_zero" in empty.flags
    r.platter.parcel = PARCEL
    assert_weight_of_parcel(await r.driver.read_stable())


@WIRES
@pytest.mark.parametrize("protocol", SCALES)
async def test_scale_empty_platter_reads_zero(rig, protocol, transport):
    r = await rig(protocol, transport, parcel=None)
    weight = await r.driver.read_stable()
    assert weight.kg == 0 and weight.stable, weight


@WIRES
@pytest.mark.parametrize("protocol", DIMENSIONERS)
async def test_dimensioner_measures_the_parcel(rig, protocol, transport):
    r = await rig(protocol, transport)
    for _ in range(3):
        dims = await r.measure()
        assert_dimensions_of_parcel(dims)
        assert dims.weight_kg is not None and abs(dims.weight_kg - PARCEL_KG) <= Decimal("0.005")
    if protocol in PUSHED:
        assert dims.barcode == PARCEL.barcode


@WIRES
async def test_cubiscan_empty_field_measures_zero(rig, transport):
    r = await rig("cubiscan", transport, parcel=None)
    dims = await r.measure()
    assert (dims.length_mm, dims.width_mm, dims.height_mm) == (0, 0, 0), dims
    assert dims.weight_kg == 0


@WIRES
@pytest.mark.parametrize("protocol", PUSHED)
async def test_pushing_tunnel_reports_an_empty_field_as_no_dimensions(rig, protocol, transport):
    r = await rig(protocol, transport, parcel=None)
    dims = await r.measure(EMPTY_FIELD)
    assert not dims.measured and dims.no_dimension_reason == "zero_dimensions", dims
    assert dims.barcode is None and not dims.legal_for_trade


@WIRES
@pytest.mark.parametrize("protocol", PUSHED)
async def test_pushing_tunnel_says_nothing_without_a_parcel(rig, protocol, transport):
    r = await rig(protocol, transport, parcel=None)
    with pytest.raises(DeviceTimeout) as info:
        await r.driver.measure()
    assert info.value.device == r.name and info.value.address == r.url


@WIRES
@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_driver_closes_and_connects_again(rig, protocol, transport):
    r = await rig(protocol, transport)
    await r.driver.close()
    await r.driver.close()  # twice is fine
    await r.driver.connect()
    result = await r.read()
    if r.is_scale:
        assert_weight_of_parcel(result)
    else:
        assert_dimensions_of_parcel(result)


@WIRES
@pytest.mark.parametrize("protocol", ["mt-sics", "sma", "nci"])
async def test_scale_zero_takes_the_load_as_zero(rig, protocol, transport):
    r = await rig(protocol, transport)
    await r.driver.zero()
    weight = await r.driver.read_stable()
    assert weight.kg == 0 and weight.stable, weight
    r.platter.parcel = None  # below the new zero
    if protocol == "nci":  # NCI sets its under-capacity bit below zero
        with pytest.raises(DeviceFault, match="under capacity"):
            await r.driver.read_stable()
        return
    below = await r.driver.read_stable()
    assert abs(below.kg + PARCEL_KG) <= half_division_kg(below), below


@WIRES
@pytest.mark.parametrize("protocol", ["mt-sics", "sma"])
async def test_scale_tare_returns_the_tare_and_then_weighs_net(rig, protocol, transport):
    r = await rig(protocol, transport)
    tare = await r.driver.tare()
    assert tare.mode is WeightMode.TARE, tare
    assert abs(tare.kg - PARCEL_KG) <= half_division_kg(tare)
    net = await r.driver.read_stable()
    assert net.kg == 0 and net.mode is WeightMode.NET, net


@WIRES
@pytest.mark.parametrize(
    ("protocol", "ops"), [("nci", ("tare",)), ("toledo-continuous", ("zero", "tare"))]
)
async def test_scale_without_the_command_refuses_it(rig, protocol, ops, transport):
    r = await rig(protocol, transport)
    for op in ops:
        with pytest.raises(DeviceFault):
            await getattr(r.driver, op)()
    assert_weight_of_parcel(await r.driver.read_stable())
