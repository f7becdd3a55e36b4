"""Contract under faults: each simulator fault switched on alone (rate 1.0), over both wires.

Device faults come in the device's own terms and the driver must map them: unstable and
overload and error replies to DeviceFault on scales (or to a not-legal measurement where
the protocol carries them as flags); link faults must be survived (split frames, garbage
before frames, bad Toledo checksums) or reported (silence and truncation as a timeout,
a dropped TCP link as ConnectionLost, after which the driver connects again).
"""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest

from drivers.dimensioner.base import Dimensions
from drivers.errors import ConnectionLost, DeviceFault, DeviceTimeout, DriverError, ProtocolError
from simulators.measure.faults import Fault
from tests.drivers.contract.rig import (
    FAST,
    PARCEL,
    PROTOCOLS,
    PUSHED,
    TIMEOUT_MS,
    TRANSPORTS,
    Rig,
    half_division_kg,
)
from tests.drivers.contract.test_measure_contract import (
    assert_dimensions_of_parcel,
    assert_weight_of_parcel,
)

WIRES = pytest.mark.parametrize("transport", TRANSPORTS)
ALL = pytest.mark.parametrize("protocol", PROTOCOLS)
REQUESTED_SCALES = ("mt-sics", "sma", "nci")
PARCEL_KG = Decimal(str(PARCEL.weight_kg))


def assert_good(rig: Rig, result: Dimensions | object) -> None:
    if rig.is_scale:
        assert_weight_of_parcel(result)  # type: ignore[arg-type]
    else:
        assert isinstance(result, Dimensions)
        assert_dimensions_of_parcel(result)


def assert_names_the_device(rig: Rig, err: DriverError) -> None:
    assert err.device == rig.name and err.address == rig.url
    assert rig.name in str(err) and rig.url in str(err)


async def recovers(rig: Rig) -> None:
    """Faults off: the next read is good again."""
    await rig.faults()
    assert_good(rig, await rig.read())


# -- device faults: scales ----------------------------------------------------------------


@WIRES
@pytest.mark.parametrize("protocol", REQUESTED_SCALES)
async def test_unstable_scale_read_stable_is_a_device_fault(rig, protocol, transport):
    r = await rig(protocol, transport)
    await r.faults(Fault.UNSTABLE)
    with pytest.raises(DeviceFault) as info:
        await r.driver.read_stable()
    assert_names_the_device(r, info.value)
    now = await r.driver.read_now()
    assert not now.stable and not now.legal_for_trade and "motion" in now.flags
    assert abs(now.kg - PARCEL_KG) <= half_division_kg(now)
    await recovers(r)


@WIRES
async def test_unstable_toledo_stream_is_never_stable(rig, transport):
    r = await rig("toledo-continuous", transport)
    await r.faults(Fault.UNSTABLE)
    with pytest.raises(DeviceFault, match="not stable"):
        await r.driver.read_stable()
    now = await r.driver.read_now()
    assert not now.stable and "motion" in now.flags and not now.legal_for_trade
    await recovers(r)


@WIRES
@pytest.mark.parametrize("protocol", [*REQUESTED_SCALES, "toledo-continuous"])
async def test_overload_is_a_device_fault(rig, protocol, transport):
    r = await rig(protocol, transport)
    await r.faults(Fault.OVERLOAD)
    with pytest.raises(DeviceFault) as info:
        await r.driver.read_stable()
    assert_names_the_device(r, info.value)
    with pytest.raises(DeviceFault, match=r"overload|out of range"):
        await r.driver.read_now()
    await recovers(r)


@WIRES
@pytest.mark.parametrize("protocol", REQUESTED_SCALES)
async def test_error_reply_is_a_device_fault(rig, protocol, transport):
    r = await rig(protocol, transport)
    await r.faults(Fault.ERROR)
    for _ in range(3):  # the simulator picks among several error replies
        with pytest.raises(DeviceFault) as info:
            await r.driver.read_stable()
        assert_names_the_device(r, info.value)
    await recovers(r)


@WIRES
async def test_toledo_error_is_a_weight_not_legal_for_trade(rig, transport):
    """Toledo's error fault is the power-up-not-zeroed bit: a weight, flagged, not legal."""
    r = await rig("toledo-continuous", transport)
    await r.faults(Fault.ERROR)
    weight = await r.driver.read_stable()
    assert "power_up_not_zeroed" in weight.flags and not weight.legal_for_trade
    assert abs(weight.kg - PARCEL_KG) <= half_division_kg(weight)
    await recovers(r)


@WIRES
async def test_toledo_bad_checksum_frames_are_skipped(rig, transport):
    r = await rig("toledo-continuous", transport)
    await r.faults(Fault.BAD_CHECKSUM)
    with pytest.raises(DeviceTimeout, match="bad checksum") as info:
        await r.driver.read_now()
    assert_names_the_device(r, info.value)
    assert r.driver.bad_checksums >= 1
    r.server.faults.rates = lambda fault, _t: 0.5 if fault is Fault.BAD_CHECKSUM else 0.0
    before = r.driver.bad_checksums
    for _ in range(5):
        assert_weight_of_parcel(await r.driver.read_stable())  # never a bad frame
    assert r.driver.bad_checksums > before
    await recovers(r)


# -- device faults: dimensioners --------------------------------------------------------


@WIRES
@pytest.mark.parametrize(
    ("protocol", "fault", "flag"),
    [
        ("cubiscan", Fault.UNSTABLE, "weight:low_precision"),
        ("cubiscan", Fault.OVERLOAD, "weight:over_range"),
        ("datalogic", Fault.UNSTABLE, "status:NOTREADY"),
        ("datalogic", Fault.OVERLOAD, "status:NOTREADY"),
        ("sick", Fault.UNSTABLE, "weight:zeroed"),
        ("sick", Fault.OVERLOAD, "weight:zeroed"),
    ],
)
async def test_dimensioner_unsure_weight_is_not_legal(rig, protocol, fault, flag, transport):
    """No stable request here: an unstable or overloaded weight comes flagged, not legal."""
    r = await rig(protocol, transport)
    await r.faults(fault)
    dims = await r.measure()
    assert flag in dims.flags and not dims.legal_for_trade, dims
    got = (dims.length_mm, dims.width_mm, dims.height_mm)
    assert got == (PARCEL.length_mm, PARCEL.width_mm, PARCEL.height_mm)
    await recovers(r)


@WIRES
@pytest.mark.parametrize("protocol", ["cubiscan", *PUSHED])
async def test_dimensioner_error_is_a_measurement_without_dimensions(rig, protocol, transport):
    """CubiScan's MN nack and the tunnels' NODIM reason are results, not exceptions."""
    r = await rig(protocol, transport)
    await r.faults(Fault.ERROR)
    for _ in range(3):
        dims = await r.measure()
        assert not dims.measured and dims.no_dimension_reason, dims
        assert not dims.legal_for_trade
    await recovers(r)


# -- link faults: every protocol --------------------------------------------------------


@WIRES
@ALL
async def test_split_frames_are_still_parsed(rig, protocol, transport):
    r = await rig(protocol, transport)
    await r.faults(Fault.SPLIT)
    for _ in range(3):
        assert_good(r, await r.read())
    assert r.server.faults.counts[Fault.SPLIT] >= 3


@WIRES
@ALL
async def test_garbage_before_frames_is_skipped_and_counted(rig, protocol, transport):
    r = await rig(protocol, transport)
    await r.faults(Fault.GARBAGE)
    before = r.driver.garbage_bytes
    for _ in range(3):
        assert_good(r, await r.read())
    assert r.driver.garbage_bytes > before
    await recovers(r)


@WIRES
@ALL
async def test_silence_is_a_timeout_naming_device_and_address(rig, protocol, transport):
    r = await rig(protocol, transport)
    await r.faults(Fault.SILENCE)
    with pytest.raises(DeviceTimeout) as info:
        await r.read()
    assert_names_the_device(r, info.value)
    assert f"{TIMEOUT_MS} ms" in str(info.value)
    await recovers(r)


@WIRES
@ALL
async def test_truncated_frame_is_a_timeout_or_protocol_error(rig, protocol, transport):
    r = await rig(protocol, transport)
    await r.faults(Fault.TRUNCATED)
    for _ in range(2):
        with pytest.raises((DeviceTimeout, ProtocolError)) as info:
            await r.read()
        assert_names_the_device(r, info.value)
    await recovers(r)


@ALL
async def test_tcp_disconnect_mid_frame_is_connection_lost(rig, protocol):
    r = await rig(protocol, "tcp")
    await r.faults(Fault.DISCONNECT)
    with pytest.raises(ConnectionLost) as info:
        await r.read()
    assert_names_the_device(r, info.value)
    assert not r.driver.connected
    with pytest.raises(ConnectionLost):  # stays lost until connect()
        await r.read()
    await r.faults()
    await r.driver.connect()
    assert r.driver.connected
    assert_good(r, await r.read())
    assert r.server.connections == 2


@ALL
async def test_pty_disconnect_is_silence_for_a_while(rig, protocol):
    """A pty cannot be unplugged: the device sends half a frame, then plays dead."""
    r = await rig(protocol, "pty")
    await r.faults(Fault.DISCONNECT)
    with pytest.raises(DeviceTimeout) as info:
        await r.read()
    assert_names_the_device(r, info.value)
    r.server.faults.rates = lambda _f, _t: 0.0
    await asyncio.sleep(FAST.pty_blackout_s)
    assert_good(r, await r.read())
