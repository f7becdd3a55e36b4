"""Telegram driver over a real TCP socket: pushed (SICK) and triggered (with BCC) telegrams."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest

from drivers.dimensioner.telegram import TelegramDimensioner, build_telegram
from drivers.errors import DeviceTimeout, ProtocolError
from plc_configs.telegram import DATALOGIC, SICK
from tests.drivers.dimensioner.peer import TcpPeer

SICK_EXAMPLE = b"\x020145;1JVGL0012345;000081212;g;0;0321;0150;0087;mm;0000;4240\x03"
TRIGGERED = DATALOGIC.model_copy(update={"trigger": "\x02TRIG\r\n", "bcc": "xor"})


@pytest.fixture
async def pushed():
    peer = TcpPeer()
    await peer.start()
    driver = TelegramDimensioner("tunnel", peer.url, SICK, timeout_s=0.3)
    await driver.connect()
    yield driver, peer
    await driver.close()
    await peer.stop()


async def test_pushed_telegram_in_pieces(pushed):
    driver, peer = pushed
    measuring = asyncio.create_task(driver.measure())
    await asyncio.sleep(0.02)
    await peer.push(SICK_EXAMPLE, pieces=5)
    d = await measuring
    assert d.sequence == 145 and d.length_mm == 321 and d.weight_kg == Decimal("81.212")


async def test_telegrams_pushed_before_the_call_are_discarded(pushed):
    driver, peer = pushed
    await peer.push(SICK_EXAMPLE.replace(b"0145", b"0144"))
    await asyncio.sleep(0.05)
    measuring = asyncio.create_task(driver.measure())
    await asyncio.sleep(0.02)
    await peer.push(SICK_EXAMPLE)
    assert (await measuring).sequence == 145
    assert driver.stale_frames == 1


async def test_no_telegram_is_a_timeout(pushed):
    driver, _ = pushed
    with pytest.raises(DeviceTimeout, match="tunnel"):
        await driver.measure()


async def test_a_garbled_telegram_is_a_protocol_error(pushed):
    driver, peer = pushed
    measuring = asyncio.create_task(driver.measure())
    await asyncio.sleep(0.02)
    await peer.push(SICK_EXAMPLE.replace(b"0150", b"01S0"))
    with pytest.raises(ProtocolError, match="field width: garbled number '01S0'"):
        await measuring


def _triggered_reply(status: str):
    values = {
        "status": status,
        "sequence": "12",
        "barcode": "LS0000000001",
        "length": "3210",
        "width": "1500",
        "height": "870",
        "length_unit": "mm",
        "weight": "12.345",
        "weight_unit": "kg",
        "alibi": "A000123",
    }
    frame = build_telegram(TRIGGERED, values)
    return lambda data: frame if data == b"\x02TRIG\r\n" else None


async def test_trigger_then_reply_with_bcc():
    peer = TcpPeer(_triggered_reply("NOTREADY"))
    await peer.start()
    driver = TelegramDimensioner("tunnel", peer.url, TRIGGERED, timeout_s=0.3)
    await driver.connect()
    try:
        d = await driver.measure()
        d2 = await driver.measure()
    finally:
        await driver.close()
        await peer.stop()
    assert bytes(peer.received) == b"\x02TRIG\r\n" * 2
    assert d == d2
    assert d.length_mm == Decimal("321.0") and d.height_mm == Decimal("87.0")
    assert d.weight_kg == Decimal("12.345") and d.sequence == 12
    assert not d.legal_for_trade and d.flags == ("status:NOTREADY", "alibi:A000123")


async def test_bcc_mismatch_over_the_wire():
    good = _triggered_reply("READY")(b"\x02TRIG\r\n")
    assert good is not None
    peer = TcpPeer(lambda _: good[:-1] + bytes([good[-1] ^ 0xFF]))
    await peer.start()
    driver = TelegramDimensioner("tunnel", peer.url, TRIGGERED, timeout_s=0.3)
    await driver.connect()
    try:
        with pytest.raises(ProtocolError, match="BCC mismatch"):
            await driver.measure()
    finally:
        await driver.close()
        await peer.stop()
