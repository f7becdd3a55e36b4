"""MT-SICS: the reply parser, and the driver against a fake scale over real TCP."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from drivers.errors import DeviceFault, DeviceTimeout, ProtocolError
from drivers.scale.base import WeightMode
from drivers.scale.mt_sics import MtSicsScale, parse_tare, parse_weight, parse_zero
from tests.drivers.scale.peer import DevicePeer


def test_stable_weight():
    w = parse_weight(b"S S     100.00 g\r\n")
    assert (w.kg, w.value, w.unit, w.stable, w.legal_for_trade) == (
        Decimal("0.1"),
        Decimal("100.00"),
        "g",
        True,
        True,
    )
    assert w.mode is WeightMode.GROSS
    assert w.raw == "S S     100.00 g\r\n"
    assert str(w.value) == "100.00"


def test_weight_filling_its_field_leaves_no_space_after_the_status():
    w = parse_weight(b"S S12345678.12 g\r\n")
    assert w.value == Decimal("12345678.12") and w.kg == Decimal("12345.67812")
    assert parse_weight(b"S D12.5 kg\r\n").value == Decimal("12.5")


def test_negative_and_pounds():
    assert parse_weight(b"S S    -1.25 kg\r\n").kg == Decimal("-1.25")
    assert parse_weight(b"S S       1.00 lb\r\n").kg == Decimal("0.45359237")
    assert parse_weight(b"S S       1 oz\r\n").kg == Decimal("0.028349523125")


def test_dynamic_is_unstable_and_not_legal():
    w = parse_weight(b"S D      12.34 kg\r\n", mode=WeightMode.NET)
    assert not w.stable and not w.legal_for_trade and "motion" in w.flags
    assert w.mode is WeightMode.NET


@pytest.mark.parametrize(
    ("frame", "words"),
    [
        (b"S I\r\n", "busy"),
        (b"S +\r\n", "overload"),
        (b"S -\r\n", "underload"),
        (b"ES\r\n", "syntax error (ES)"),
        (b"ET\r\n", "transmission error (ET)"),
        (b"EL\r\n", "logical error (EL)"),
    ],
)
def test_fault_replies(frame, words):
    with pytest.raises(DeviceFault, match=re.escape(words)) as info:
        parse_weight(frame, device="scale-1", address="tcp://10.0.0.9:4001")
    assert info.value.device == "scale-1" and info.value.address == "tcp://10.0.0.9:4001"
    assert repr(frame.decode()) in str(info.value)


@pytest.mark.parametrize(
    "frame",
    [
        b"S S 100.00 g",
        b"S S 100.00\r\n",
        b"S S 100.00 g x\r\n",
        b"S X 1 g\r\n",
        b"Z A\r\n",
        b"S S 1 mg\r\n",
        b"S S 1,5 g\r\n",
        b"S S \xb5 g\r\n",
        b"S + 5\r\n",
        b"S\r\n",
        b"\r\n",
    ],
)
def test_malformed_replies_are_protocol_errors(frame):
    with pytest.raises(ProtocolError):
        parse_weight(frame)


def test_zero_and_tare_replies():
    parse_zero(b"Z A\r\n")
    for status, word in ((b"I", "busy"), (b"+", "overload"), (b"-", "underload")):
        with pytest.raises(DeviceFault, match=word):
            parse_zero(b"Z " + status + b"\r\n")
        with pytest.raises(DeviceFault, match=word):
            parse_tare(b"T " + status + b"\r\n")
    tare = parse_tare(b"T S      0.250 kg\r\n")
    assert tare.mode is WeightMode.TARE and tare.tare_kg == tare.kg == Decimal("0.250")
    with pytest.raises(ProtocolError):
        parse_zero(b"S S 1 g\r\n")


_VALID = re.compile(rb" *S +[SD] *[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+) +(?i:g|kg|lb|oz) *\r\n")


@given(
    st.one_of(
        st.binary(max_size=40),
        st.from_regex(_VALID, fullmatch=True),
        st.from_regex(rb"S [SDI+\-] ?[0-9 .+\-]{0,12} ?[a-z]{0,3}\r\n", fullmatch=True),
    )
)
@example(b"S S12345678.12 g\r\n")
@example(b"S S  -  1 g\r\n")
def test_arbitrary_bytes_parse_only_when_they_follow_the_grammar(frame):
    try:
        weight = parse_weight(frame)
    except (ProtocolError, DeviceFault):
        assert _VALID.fullmatch(frame) is None
    else:
        assert _VALID.fullmatch(frame) is not None
        assert weight.raw == frame.decode("latin-1")


@pytest.fixture
async def scale_peer():
    state = {"S": b"S S     100.00 g\r\n"}

    def respond(request: bytes):
        command = request.strip().decode()
        return state.get(command, b"ES\r\n")

    async with DevicePeer(respond, end=b"\r\n") as peer:
        scale = MtSicsScale("scale-1", peer.url, timeout_s=0.2)
        await scale.connect()
        try:
            yield scale, peer, state
        finally:
            await scale.close()


async def test_driver_reads_zeroes_and_tares(scale_peer):
    scale, peer, state = scale_peer
    assert (await scale.read_stable()).kg == Decimal("0.1")
    state["SI"] = [b"S D    ", b"  50.5 g\r\n"]
    now = await scale.read_now()
    assert not now.stable and now.value == Decimal("50.5")
    state["Z"] = b"Z A\r\n"
    await scale.zero()
    state["T"] = b"T S     12.00 g\r\n"
    assert (await scale.tare()).kg == Decimal("0.012")
    assert (await scale.read_stable()).mode is WeightMode.NET
    assert peer.requests == [b"S\r\n", b"SI\r\n", b"Z\r\n", b"T\r\n", b"S\r\n"]


async def test_driver_faults_and_timeouts(scale_peer):
    scale, _, state = scale_peer
    state["S"] = b"S +\r\n"
    with pytest.raises(DeviceFault, match="overload"):
        await scale.read_stable()
    with pytest.raises(DeviceFault, match="ES"):
        await scale.zero()
    state["S"] = b"S S   1"
    with pytest.raises(DeviceTimeout, match="got b'S S   1'"):
        await scale.read_stable()
    state["S"] = b"S D 1 g\r\n"
    with pytest.raises(ProtocolError, match="dynamic"):
        await scale.read_stable()
