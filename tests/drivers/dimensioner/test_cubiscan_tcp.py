"""CubiScan driver over a real TCP socket to a scripted peer."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest

from drivers.dimensioner.cubiscan import MEASURE, CubiScanDimensioner
from drivers.errors import ConnectionLost, DeviceFault, DeviceTimeout
from tests.conftest import free_port
from tests.drivers.dimensioner.peer import TcpPeer

OK = b"\x02MAC004600,L020.0,W010.0,H030.0,M,K500.50,D510.50,M,F0010,I\x03\r\n"


@pytest.fixture
async def cube():
    answers: list[bytes] = []
    peer = TcpPeer(lambda data: answers.pop(0) if data == MEASURE and answers else None)
    await peer.start()
    driver = CubiScanDimensioner("cube", peer.url, timeout_s=0.2)
    await driver.connect()
    yield driver, peer, answers
    await driver.close()
    await peer.stop()


async def test_measure_sends_m_and_parses_the_reply(cube):
    driver, peer, answers = cube
    answers.append(OK)
    d = await driver.measure()
    assert bytes(peer.received) == MEASURE
    assert (d.length_mm, d.width_mm, d.height_mm, d.weight_kg) == (200, 100, 300, Decimal("500.50"))
    assert d.legal_for_trade and driver.connected and driver.address == peer.url


async def test_reply_with_line_noise_before_stx(cube):
    driver, _, answers = cube
    answers.append(b"\x00\xff noise" + OK)
    assert (await driver.measure()).measured


async def test_a_stale_frame_is_not_taken_for_the_answer(cube):
    driver, peer, answers = cube
    await peer.push(b"\x02MNCZ\x03\r\n")
    await asyncio.sleep(0.05)
    answers.append(OK)
    assert (await driver.measure()).measured


async def test_nack_is_an_explicit_result_over_the_wire(cube):
    driver, _, answers = cube
    answers.append(b"\x02MNCC\x03\r\n")
    d = await driver.measure()
    assert d.no_dimension_reason == "corner_sensor" and not d.measured


async def test_unknown_command_reply_is_a_device_fault(cube):
    driver, _, answers = cube
    answers.append(b"\x02?N\x03\r\n")
    with pytest.raises(DeviceFault, match=r"cube \(tcp://127\.0\.0\.1:\d+\): unknown command"):
        await driver.measure()


async def test_no_answer_is_a_timeout_showing_the_partial_frame(cube):
    driver, _, answers = cube
    answers.append(OK[:20])
    with pytest.raises(DeviceTimeout, match="MAC0046"):
        await driver.measure()


async def test_peer_hang_up_is_connection_lost(cube):
    driver, peer, _ = cube
    await peer.hang_up()
    await asyncio.sleep(0.05)
    with pytest.raises(ConnectionLost):
        await driver.measure()
    assert not driver.connected


async def test_connect_to_nothing_is_connection_lost():
    driver = CubiScanDimensioner("cube", f"tcp://127.0.0.1:{free_port()}")
    with pytest.raises(ConnectionLost, match="cube"):
        await driver.connect()
    await driver.close()
    await driver.close()
