"""SMA SCP-0499: the reply parser, and the driver against a fake scale over real TCP."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from drivers.errors import DeviceFault, ProtocolError
from drivers.scale.base import WeightMode
from drivers.scale.sma import SmaScale, parse_reply
from tests.drivers.scale.peer import DevicePeer


def reply(s=" ", r="1", n="G", m=" ", weight="1.250", unit="kg") -> bytes:
    return f"\n{s}{r}{n}{m} {weight:>10}{unit:<3}\r".encode("latin-1")


def test_stable_gross_weight():
    w = parse_reply(reply())
    assert (w.kg, w.value, w.unit, w.stable, w.legal_for_trade) == (
        Decimal("1.250"),
        Decimal("1.250"),
        "kg",
        True,
        True,
    )
    assert w.mode is WeightMode.GROSS and w.flags == () and w.raw == reply().decode()


@pytest.mark.parametrize(
    ("unit", "weight", "kg"),
    [
        ("lb", "1.00", "0.45359237"),
        ("oz", "16", "0.45359237"),
        ("g", "250.0", "0.25"),
        ("kg", "-0.005", "-0.005"),
    ],
)
def test_units_convert_exactly(unit, weight, kg):
    assert parse_reply(reply(unit=unit, weight=weight)).kg == Decimal(kg)


def test_status_letters_and_modes():
    assert parse_reply(reply(s="Z")).flags == ("center_of_zero",)
    moving = parse_reply(reply(m="M"))
    assert not moving.stable and not moving.legal_for_trade and "motion" in moving.flags
    assert parse_reply(reply(n="N")).mode is WeightMode.NET
    tare = parse_reply(reply(n="T"))
    assert tare.mode is WeightMode.TARE and tare.tare_kg == Decimal("1.250")
    high = parse_reply(reply(n="n"))
    assert high.mode is WeightMode.NET and "high_resolution" in high.flags
    assert not high.legal_for_trade and high.stable


@pytest.mark.parametrize(
    ("frame", "words"),
    [
        (reply(s="O", weight="----------"), "overload"),
        (reply(s="U"), "underload"),
        (reply(s="E"), "zero error"),
        (reply(s="T"), "tare error"),
        (b"\n?\r", "unknown command"),
        (b"\n!\r", "parity or framing error"),
    ],
)
def test_fault_replies(frame, words):
    with pytest.raises(DeviceFault, match=words):
        parse_reply(frame, "scale-2", "socket://moxa:4001")


@pytest.mark.parametrize(
    "frame",
    [
        reply()[:-1],
        reply()[1:],
        reply(s="X"),
        reply(r="x"),
        reply(n="Q"),
        reply(m="m"),
        reply(weight="1.2.3"),
        reply(unit="mg"),
        b"\nSMA:2/1.0\r",
        b"\n\r",
        reply() + b"x",
    ],
)
def test_malformed_replies_are_protocol_errors(frame):
    with pytest.raises(ProtocolError):
        parse_reply(frame)


_VALID = re.compile(
    rb"\n[ Z][0-9 ][GTNgn][M ][ -~] *[+-]? *([0-9]+(\.[0-9]*)?|\.[0-9]+) *"
    rb"(?i:kg |lb |oz |g  |t  | kg| lb| oz|  g|  t| g | t )\r"
)


@given(
    st.one_of(
        st.binary(max_size=24),
        st.builds(
            lambda s, n, m, w, u: reply(s=s, n=n, m=m, weight=w, unit=u),
            st.sampled_from(" ZOUETX"),
            st.sampled_from("GTNgnx"),
            st.sampled_from("M x"),
            st.from_regex(r"[-0-9. ]{1,10}", fullmatch=True),
            st.sampled_from(["kg", "g", "lb", "t"]),
        ),
    )
)
def test_arbitrary_bytes_parse_only_when_they_follow_the_grammar(frame):
    try:
        parse_reply(frame)
    except (ProtocolError, DeviceFault):
        assert _VALID.fullmatch(frame) is None or frame[1:2] in b"OUET"
    else:
        assert len(frame) == 20 and _VALID.fullmatch(frame) is not None


@pytest.fixture
async def scale_peer():
    state = {"W": [reply(m="M"), reply(m="M"), reply()], "M": [reply(n="T", weight="0.300")]}

    def respond(request: bytes):
        queue = state.get(request.strip().decode(), [b"\n?\r"])
        return queue.pop(0) if len(queue) > 1 else queue[0]

    async with DevicePeer(respond, end=b"\r") as peer:
        scale = SmaScale("scale-2", peer.url, timeout_s=0.2, stable_timeout_s=1.0)
        await scale.connect()
        try:
            yield scale, peer, state
        finally:
            await scale.close()


async def test_read_stable_retries_while_in_motion(scale_peer):
    scale, peer, _ = scale_peer
    w = await scale.read_stable()
    assert w.stable and w.kg == Decimal("1.250")
    assert peer.requests == [b"\nW\r"] * 3


async def test_zero_and_tare(scale_peer):
    scale, peer, state = scale_peer
    state["Z"] = [reply(s="Z", weight="0.000")]
    await scale.zero()
    state["T"] = [reply(n="N", weight="0.000")]
    tare = await scale.tare()
    assert tare.mode is WeightMode.TARE and tare.tare_kg == Decimal("0.300")
    assert peer.requests == [b"\nZ\r", b"\nT\r", b"\nM\r"]
    state["Z"] = [reply(s="E")]
    with pytest.raises(DeviceFault, match="zero error"):
        await scale.zero()


async def test_never_stable_is_a_fault_saying_so(scale_peer):
    scale, _, state = scale_peer
    scale.stable_timeout_s = 0.2
    state["W"] = [reply(m="M")]
    with pytest.raises(DeviceFault, match="not stable within 200 ms"):
        await scale.read_stable()


async def test_split_reply_and_garbage_before_it(scale_peer):
    scale, _, state = scale_peer
    frame = reply(weight="2.000")
    state["W"] = [[b"noise" + frame[:7], frame[7:]]]
    assert (await scale.read_now()).kg == Decimal("2.000")
    assert scale.link.framer.garbage_bytes == 5
