"""Property tests: parsers never crash on garbage, never invent measurements, round trip."""

from __future__ import annotations

import re
from decimal import Decimal
from functools import reduce
from operator import xor

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from drivers.dimensioner.base import Dimensions
from drivers.dimensioner.cubiscan import parse_cubiscan_reply
from drivers.dimensioner.telegram import build_telegram, format_number, parse_telegram
from drivers.dimensioner.units import KG_PER, MM_PER
from drivers.errors import DeviceFault, ProtocolError
from plc_configs.telegram import DATALOGIC, SICK, TelegramField, TelegramFormat

CUBI = b"\x02MAC004600,L020.0,W010.0,H030.0,M,K500.50,D510.50,M,F0010,I\x03\r\n"
SICK_EXAMPLE = b"\x020145;1JVGL0012345;000081212;g;0;0321;0150;0087;mm;0000;4240\x03"
DL_READY = b"\x02READY,0012,LS0000000001,03210,01500,00870,mm,12.345,kg,,A000123\r\n"

CUSTOM = TelegramFormat(
    start="",
    end="\r\n",
    separator="|",
    fields=(
        TelegramField(name="barcode"),
        TelegramField(name="ignore"),
        TelegramField(name="height", width=6, decimals=2),
        TelegramField(name="width", width=6, decimals=2),
        TelegramField(name="length", width=6, decimals=2),
        TelegramField(name="length_unit"),
        TelegramField(name="weight", decimals=3),
        TelegramField(name="weight_unit"),
    ),
    bcc="xor",
    no_read="????",
)
FORMATS = [SICK, DATALOGIC, SICK.model_copy(update={"bcc": "xor"}), CUSTOM]
EXAMPLES = {id(SICK): SICK_EXAMPLE, id(DATALOGIC): DL_READY}

_CUBI_OK = re.compile(
    rb"\x02MA[CH].{6},L[_~-]?[\d.]+,W[_~-]?[\d.]+,H[_~-]?[\d.]+,[EM],K[_~-]?[\d.]+,"
    rb"D[_~-]?[\d.]+,[EM],F\d{4},[DI]\x03\r\n",
    re.DOTALL,
)
_NUMBER = re.compile(r" *\d+(\.\d+)? *")


def _mutate(data: st.DataObject, frame: bytes) -> bytes:
    """``frame`` with a few random bytes replaced, inserted or deleted."""
    out = bytearray(frame)
    for _ in range(data.draw(st.integers(1, 4))):
        op = data.draw(st.sampled_from(["replace", "insert", "delete"]))
        pos = data.draw(st.integers(0, max(len(out) - 1, 0)))
        byte = data.draw(
            st.sampled_from([0x02, 0x03, 0x0D, 0x0A, ord(";"), ord(","), ord("0")])
            | st.integers(0, 255)
        )
        if op == "replace" and out:
            out[pos] = byte
        elif op == "insert":
            out.insert(pos, byte)
        elif out:
            del out[pos]
    return bytes(out)


def _telegram_well_formed(frame: bytes, fmt: TelegramFormat) -> bool:
    """An oracle independent of the parser: shape, BCC, field count, numeric L/W/H."""
    start, end = fmt.start.encode("latin-1"), fmt.end.encode("latin-1")
    trailer = 1 if fmt.bcc == "xor" else 0
    if not frame.startswith(start) or len(frame) < len(start) + len(end) + trailer:
        return False
    body_end = len(frame) - trailer
    if not frame[:body_end].endswith(end):
        return False
    if trailer and frame[-1] != reduce(xor, frame[len(start) : body_end], 0):
        return False
    texts = frame[len(start) : body_end - len(end)].decode("latin-1").split(fmt.separator)
    if len(texts) != len(fmt.fields):
        return False
    named = {f.name: t for f, t in zip(fmt.fields, texts, strict=True)}
    return all(_NUMBER.fullmatch(named[n]) for n in ("length", "width", "height"))


def _check_cubiscan(frame: bytes) -> None:
    try:
        result = parse_cubiscan_reply(frame)
    except (ProtocolError, DeviceFault):
        return
    assert isinstance(result, Dimensions)
    if result.measured:
        assert _CUBI_OK.fullmatch(frame), frame
    else:
        assert result.no_dimension_reason is not None


def _check_telegram(frame: bytes, fmt: TelegramFormat) -> None:
    try:
        result = parse_telegram(frame, fmt)
    except ProtocolError:
        return
    assert isinstance(result, Dimensions)
    if result.measured:
        assert _telegram_well_formed(frame, fmt), frame
    else:
        assert result.no_dimension_reason is not None
        assert not result.legal_for_trade


@given(st.binary(max_size=120))
def test_cubiscan_arbitrary_bytes(frame):
    _check_cubiscan(frame)
    _check_cubiscan(b"\x02" + frame + b"\x03\r\n")


@given(st.data())
def test_cubiscan_mutated_frames(data):
    _check_cubiscan(_mutate(data, CUBI))


@given(st.binary(max_size=120), st.sampled_from(FORMATS))
def test_telegram_arbitrary_bytes(frame, fmt):
    _check_telegram(frame, fmt)
    start, end = fmt.start.encode(), fmt.end.encode()
    _check_telegram(start + frame + end + bytes([reduce(xor, frame + end, 0)]), fmt)


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(st.data(), st.sampled_from(FORMATS))
def test_telegram_mutated_frames(data, fmt):
    base = EXAMPLES.get(id(fmt)) or _build(data, fmt)[0]
    _check_telegram(_mutate(data, base), fmt)


def _decimal(data: st.DataObject, decimals: int, low: int = 0) -> Decimal:
    units = data.draw(st.integers(low, 99_999 * 10**decimals))
    return Decimal(units).scaleb(-decimals)


def _build(data: st.DataObject, fmt: TelegramFormat) -> tuple[bytes, dict]:
    fields = {f.name: f for f in fmt.fields}
    expected: dict = {}
    values: dict[str, str] = {}
    length_unit = fmt.length_unit
    if "length_unit" in fields:
        length_unit = data.draw(st.sampled_from(sorted(MM_PER)))
        values["length_unit"] = length_unit
    weight_unit = fmt.weight_unit
    if "weight_unit" in fields:
        weight_unit = data.draw(st.sampled_from(sorted(KG_PER)))
        values["weight_unit"] = weight_unit
    for name in ("length", "width", "height"):
        field = fields[name]
        value = _decimal(data, field.decimals, low=1)
        values[name] = format_number(value, field.decimals, field.width)
        expected[name] = value * MM_PER[length_unit]
    if "weight" in fields:
        field = fields["weight"]
        value = _decimal(data, field.decimals, low=1)
        values["weight"] = data.draw(
            st.sampled_from([format_number(value, field.decimals, field.width), str(value)])
        )
        expected["weight"] = value * KG_PER[weight_unit]
    if "sequence" in fields:
        expected["sequence"] = data.draw(st.integers(0, 9999))
        values["sequence"] = str(expected["sequence"])
    if "barcode" in fields:
        barcode = data.draw(st.text("ABCDEFGHJKLMNPQRSTUVWXYZ0123456789", min_size=1, max_size=20))
        values["barcode"] = barcode
        expected["barcode"] = barcode
    if fmt.legal_status:
        status = data.draw(st.sampled_from(fmt.legal_status + fmt.not_legal_status))
        values["status"] = status
        expected["legal"] = status in fmt.legal_status
    else:
        expected["legal"] = True
    if "reason" in fields:
        values["reason"] = data.draw(st.sampled_from(["", "0", "0000"]))
    return build_telegram(fmt, values), expected


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(st.data(), st.sampled_from(FORMATS))
def test_build_then_parse_round_trips(data, fmt):
    frame, expected = _build(data, fmt)
    result = parse_telegram(frame, fmt)
    assert result.measured
    assert (result.length_mm, result.width_mm, result.height_mm) == (
        expected["length"],
        expected["width"],
        expected["height"],
    )
    assert result.weight_kg == expected.get("weight")
    assert result.sequence == expected.get("sequence")
    assert result.barcode == expected.get("barcode")
    assert result.legal_for_trade == expected["legal"]
    assert result.raw == frame.decode("latin-1")


@given(
    st.sampled_from(FORMATS),
    st.from_regex(r"NODIM_[A-Z_]{1,20}", fullmatch=True),
)
def test_a_reason_round_trips_as_no_dimension(fmt, reason):
    if "reason" not in fmt.field_names():
        return
    frame = build_telegram(fmt, {"reason": reason, "length": "1", "width": "1", "height": "1"})
    result = parse_telegram(frame, fmt)
    assert result.no_dimension_reason == reason and not result.measured
