"""Toledo continuous output: frame parser, checksum, and the driver on a real TCP stream."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from drivers.errors import DeviceFault, DeviceTimeout, ProtocolError
from drivers.scale.base import WeightMode
from drivers.scale.toledo_continuous import (
    ChecksumError,
    ToledoContinuousScale,
    checksum,
    parse_frame,
)
from tests.drivers.scale.peer import DevicePeer


def frame(
    weight: str = "001250",
    tare: str = "000000",
    decimals: int = 4,
    increment: int = 0b01,
    swb: int = 0x10,
    swc: int = 0,
    chk: bool = True,
    bad_chk: bool = False,
) -> bytes:
    """A frame; ``swb``/``swc`` give only the variable bits (bit 5 is added)."""
    swa = 0x20 | (increment << 3) | decimals
    body = bytes([0x02, swa, 0x20 | swb, 0x20 | swc]) + (weight + tare).encode() + b"\r"
    if not chk:
        return body
    return body + bytes([(checksum(body) + (1 if bad_chk else 0)) & 0x7F])


def test_checksum_makes_the_7_bit_sum_zero():
    body = frame(chk=False)
    assert (sum(b & 0x7F for b in body) + checksum(body)) & 0x7F == 0


def test_stable_gross_kg():
    w = parse_frame(frame())
    assert (w.kg, w.value, w.unit, w.stable, w.legal_for_trade) == (
        Decimal("12.50"),
        Decimal("12.50"),
        "kg",
        True,
        True,
    )
    assert w.mode is WeightMode.GROSS and w.tare_kg == Decimal("0")
    assert "increment_x1" in w.flags and w.raw == frame().decode("latin-1")


@pytest.mark.parametrize(
    ("code", "printed"),
    [
        (0, "12345600"),
        (1, "1234560"),
        (2, "123456"),
        (3, "12345.6"),
        (4, "1234.56"),
        (5, "123.456"),
        (6, "12.3456"),
        (7, "1.23456"),
    ],
)
def test_decimal_position_codes(code, printed):
    w = parse_frame(frame("123456", decimals=code))
    assert str(w.value) == printed


def test_pounds_negative_net_with_tare():
    w = parse_frame(frame("000100", "000050", decimals=4, swb=0b011))
    assert w.unit == "lb" and w.value == Decimal("-1.00")
    assert w.kg == Decimal("-0.45359237") and w.tare_kg == Decimal("0.22679618500")
    assert w.mode is WeightMode.NET and "net" in w.flags


def test_grams_leading_blanks_and_increments():
    w = parse_frame(frame("   250", decimals=2, swc=0x01, increment=0b11))
    assert w.unit == "g" and w.kg == Decimal("0.250") and "increment_x5" in w.flags
    assert "increment_x2" in parse_frame(frame(increment=0b10)).flags


def test_motion_power_up_and_print_request():
    moving = parse_frame(frame(swb=0x18))
    assert not moving.stable and not moving.legal_for_trade and "motion" in moving.flags
    not_zeroed = parse_frame(frame(swb=0x50))
    assert not_zeroed.stable and not not_zeroed.legal_for_trade
    assert "power_up_not_zeroed" in not_zeroed.flags
    assert "print_request" in parse_frame(frame(swc=0x08)).flags
    assert not parse_frame(frame(swc=0x10)).legal_for_trade  # expanded display


def test_out_of_range_is_a_fault():
    with pytest.raises(DeviceFault, match="out of range"):
        parse_frame(frame(swb=0x14), device="scale-4", address="rfc2217://moxa:4002")


def test_bad_checksum_and_without_checksum():
    with pytest.raises(ChecksumError, match="bad checksum"):
        parse_frame(frame(bad_chk=True))
    assert parse_frame(frame(chk=False), checksum_byte=False).kg == Decimal("12.50")
    parity = frame()[:-1] + bytes([frame()[-1] | 0x80])
    assert parse_frame(parity).kg == Decimal("12.50")


@pytest.mark.parametrize(
    "data",
    [
        frame()[:-2] + frame()[-1:],  # no CR
        frame(chk=False),  # checksum expected
        frame("12a450"),
        frame("      "),
        frame(increment=0),
        b"\x02" + bytes([0x04]) + frame()[2:],  # SWA without bit 5
        b"\x03" + frame()[1:],
    ],
)
def test_malformed_frames_are_protocol_errors(data):
    with pytest.raises(ProtocolError):
        parse_frame(data)


@given(
    st.one_of(
        st.binary(min_size=18, max_size=18),
        st.builds(
            lambda w, t, d, i, b, c: frame(w, t, d, i, b, c),
            st.from_regex(r"[ 0-9]{6}", fullmatch=True),
            st.from_regex(r"[ 0-9a]{6}", fullmatch=True),
            st.integers(0, 7),
            st.integers(0, 3),
            st.integers(0, 0x5F),
            st.integers(0, 0x5F),
        ),
    )
)
def test_arbitrary_frames_never_crash_and_parse_only_when_valid(data):
    try:
        w = parse_frame(data)
    except (ProtocolError, DeviceFault):
        return
    assert data[0] == 2 and data[16] == 13 and checksum(data[:-1]) == data[-1] & 0x7F
    assert data[1] & 0x20 and data[2] & 0x20 and data[3] & 0x20 and not data[2] & 0x04
    assert data[4:16].replace(b" ", b"").isdigit() and w.stable == (not data[2] & 0x08)


async def test_driver_skips_bad_checksums_and_waits_for_stable():
    stream = [
        frame(swb=0x18),
        frame(bad_chk=True),
        b"\x02garbage",
        frame(swb=0x14),
        frame("002000", swb=0x18),
        frame("002000"),
    ] + [frame("002000")] * 200
    async with DevicePeer(stream=stream, interval_s=0.01) as peer:
        scale = ToledoContinuousScale("scale-4", peer.url, timeout_s=0.3, stable_timeout_s=2.0)
        await scale.connect()
        try:
            w = await scale.read_stable()
            assert w.stable and w.kg == Decimal("20.00")
            assert scale.bad_checksums == 1
            assert (await scale.read_now()).kg == Decimal("20.00")
            with pytest.raises(DeviceFault, match="continuous-output"):
                await scale.zero()
            with pytest.raises(DeviceFault, match="continuous-output"):
                await scale.tare()
        finally:
            await scale.close()


async def test_driver_never_stable_and_silent_stream():
    async with DevicePeer(stream=[frame(swb=0x18)] * 100, interval_s=0.01) as peer:
        scale = ToledoContinuousScale("scale-4", peer.url, stable_timeout_s=0.2)
        await scale.connect()
        try:
            with pytest.raises(DeviceFault, match="not stable within 200 ms"):
                await scale.read_stable()
        finally:
            await scale.close()
    async with DevicePeer(stream=[frame(bad_chk=True)] * 5 + [frame()[:9]]) as peer:
        scale = ToledoContinuousScale("scale-4", peer.url, timeout_s=0.2)
        await scale.connect()
        try:
            await asyncio.sleep(0.1)
            with pytest.raises(DeviceTimeout, match="no complete frame in 200 ms"):
                await scale.read_now()
            assert scale.bad_checksums == 5
        finally:
            await scale.close()


async def test_driver_without_checksum():
    async with DevicePeer(stream=[frame("000500", chk=False)] * 50) as peer:
        scale = ToledoContinuousScale("scale-4", peer.url, checksum=False)
        await scale.connect()
        try:
            assert (await scale.read_stable()).kg == Decimal("5.00")
        finally:
            await scale.close()
