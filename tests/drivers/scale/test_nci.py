"""NCI: status bytes, the reply parser, and the driver against a fake scale over real TCP."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from drivers.errors import DeviceFault, ProtocolError
from drivers.scale.base import WeightMode
from drivers.scale.nci import NciScale, decode_status, parse_status, parse_weight
from tests.drivers.scale.peer import DevicePeer


def status(*bits_per_byte: int) -> bytes:
    """Status bytes from their low bits; bit 6 set on every byte after the 1st but the last."""
    out = bytearray()
    for i, bits in enumerate(bits_per_byte):
        more = 0x40 if 1 <= i < len(bits_per_byte) - 1 else 0
        out.append(0x30 | more | bits)
    return bytes(out)


def weight_reply(text: str = "  1.00lb", st_bytes: bytes = b"00") -> bytes:
    return b"\n" + text.encode() + b"\r\n" + st_bytes + b"\r\x03"


def test_stable_weight_in_pounds_is_exact_kg():
    w = parse_weight(weight_reply())
    assert (w.kg, w.value, w.unit, w.stable, w.legal_for_trade) == (
        Decimal("0.45359237"),
        Decimal("1.00"),
        "lb",
        True,
        True,
    )
    assert w.mode is WeightMode.GROSS and w.raw == weight_reply().decode()


@pytest.mark.parametrize(
    ("text", "kg"),
    [
        ("0012.50kg", "12.50"),
        ("  16.0oz", "0.45359237"),
        ("250.0 g", "0.25"),
        (" -0.25kg", "-0.25"),
    ],
)
def test_units(text, kg):
    assert parse_weight(weight_reply(text)).kg == Decimal(kg)


def test_status_bits_decode_to_flags():
    assert decode_status(status(0b0011, 0)).flags == ("motion", "center_of_zero")
    s = decode_status(status(0, 0, 0b0101))
    assert s.range == 1 and s.net is True and "net" in s.flags
    assert decode_status(b"00").net is None


def test_motion_is_unstable_and_continuation_byte_gives_net():
    w = parse_weight(weight_reply(st_bytes=status(1, 0, 0b100)))
    assert not w.stable and not w.legal_for_trade and "motion" in w.flags
    assert w.mode is WeightMode.NET


@pytest.mark.parametrize(
    ("bits", "words"),
    [
        ((0b0100, 0), "RAM error"),
        ((0b1000, 0), "EEPROM error"),
        ((0, 0b0001), "under capacity"),
        ((0, 0b0010), "over capacity"),
        ((0, 0b0100), "ROM error"),
        ((0, 0b1000), "bad calibration"),
        ((0, 0, 0b1000), "initial zero error"),
        ((0, 0b0011), "under capacity (underload), over capacity (overload)"),
    ],
)
def test_fault_bits_name_themselves(bits, words):
    with pytest.raises(DeviceFault, match=re.escape(words)):
        parse_weight(weight_reply(st_bytes=status(*bits)), "scale-3", "/dev/ttyUSB0")
    with pytest.raises(DeviceFault, match=re.escape(words)):
        parse_status(b"\n" + status(*bits) + b"\r\x03")


def test_status_only_and_unknown_command():
    assert parse_status(b"\n00\r\x03").flags == ()
    with pytest.raises(DeviceFault, match="unknown command"):
        parse_weight(b"\n?\r\x03")
    with pytest.raises(ProtocolError, match="no weight"):
        parse_weight(b"\n00\r\x03")


@pytest.mark.parametrize(
    "frame",
    [
        weight_reply(st_bytes=b"0"),  # one status byte
        weight_reply(st_bytes=b"0\x70"),  # byte 2 says another follows, none does
        weight_reply(st_bytes=b"000"),  # byte 3 present without continuation bit
        weight_reply(st_bytes=b"\xb0\xb0"),  # parity bit: 8N1 on a 7E1 scale
        weight_reply(st_bytes=b"@0"),
        weight_reply("1.00"),  # no unit
        weight_reply("  1.00mg"),
        weight_reply("1..0lb"),
        b"\n  1.00lb\r\n00\r",
        b"\n  1.00lb\r\n00\r\n00\r\x03",
        b"\x03",
    ],
)
def test_malformed_replies_are_protocol_errors(frame):
    with pytest.raises(ProtocolError):
        parse_weight(frame)


_NUMBER = rb" *[+-]? *([0-9]+(\.[0-9]*)?|\.[0-9]+) *"
_BYTE1 = rb"[\x30-\x33\x70-\x73]"  # no RAM/EEPROM error
_BYTE2 = rb"\x30"  # bits 0-3 are all faults (under/over capacity, ROM, calibration)
_BYTE2_MORE = rb"\x70"
_VALID = re.compile(
    rb"\n"
    + _NUMBER
    + rb"(?i:lb|kg|oz|g | g)\r\n"
    + _BYTE1
    + rb"("
    + _BYTE2
    + rb"|"
    + _BYTE2_MORE
    + rb"([\x30-\x37]|[\x70-\x77][\x30-\x3f]))\r\x03"
)


@given(
    st.one_of(
        st.binary(max_size=24),
        st.builds(
            weight_reply,
            st.from_regex(r"[-0-9. ]{1,8}(lb|kg|g |mg)", fullmatch=True),
            st.binary(min_size=1, max_size=4),
        ),
    )
)
def test_arbitrary_bytes_parse_only_when_they_follow_the_grammar(frame):
    try:
        parse_weight(frame)
    except (ProtocolError, DeviceFault):
        pass
    else:
        assert _VALID.fullmatch(frame) is not None, frame


@pytest.fixture
async def scale_peer():
    state = {"W": [weight_reply(st_bytes=b"10"), weight_reply()], "S": [b"\n00\r\x03"]}

    def respond(request: bytes):
        queue = state.get(request.strip().decode(), [b"\n?\r\x03"])
        return queue.pop(0) if len(queue) > 1 else queue[0]

    async with DevicePeer(respond, end=b"\r") as peer:
        url = peer.url
        scale = NciScale("scale-3", url, timeout_s=0.2, stable_timeout_s=1.0)
        await scale.connect()
        try:
            yield scale, peer, state
        finally:
            await scale.close()


async def test_driver_waits_for_stable_and_zeroes(scale_peer):
    scale, peer, state = scale_peer
    w = await scale.read_stable()
    assert w.stable and w.kg == Decimal("0.45359237")
    assert (await scale.status()).flags == ()
    state["Z"] = [b"\n20\r\x03"]
    await scale.zero()
    assert peer.requests == [b"W\r", b"W\r", b"S\r", b"Z\r"]
    state["Z"] = [b"\n" + status(0, 0b10) + b"\r\x03"]
    with pytest.raises(DeviceFault, match="over capacity"):
        await scale.zero()


async def test_no_tare_command_and_unknown_replies(scale_peer):
    scale, _, state = scale_peer
    with pytest.raises(DeviceFault, match="no tare"):
        await scale.tare()
    state["W"] = [[b"\n?", b"\r\x03"]]
    with pytest.raises(DeviceFault, match="unknown command"):
        await scale.read_now()
