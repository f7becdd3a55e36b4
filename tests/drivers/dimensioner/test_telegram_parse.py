"""Delimited telegram parser and builder: the SICK and Datalogic examples, BCC, errors."""

from __future__ import annotations

from decimal import Decimal
from functools import reduce
from operator import xor

import pytest

from drivers.dimensioner.telegram import (
    bcc_xor,
    build_telegram,
    format_number,
    parse_telegram,
)
from drivers.errors import ProtocolError
from plc_configs.telegram import DATALOGIC, SICK, TelegramField, TelegramFormat

SICK_EXAMPLE = b"\x020145;1JVGL0012345;000081212;g;0;0321;0150;0087;mm;0000;4240\x03"
DL_READY = b"\x02READY,0012,LS0000000001,03210,01500,00870,mm,12.345,kg,,A000123\r\n"

XOR_FMT = SICK.model_copy(update={"bcc": "xor"})


def test_sick_example():
    d = parse_telegram(SICK_EXAMPLE, SICK)
    assert d.sequence == 145
    assert d.barcode == "1JVGL0012345"
    assert d.weight_kg == Decimal("81.212")
    assert (d.length_mm, d.width_mm, d.height_mm) == (321, 150, 87)
    assert d.measured and d.legal_for_trade
    assert d.no_dimension_reason is None and d.flags == ()
    assert d.raw == SICK_EXAMPLE.decode("latin-1")


def test_sick_no_read_is_barcode_none():
    d = parse_telegram(SICK_EXAMPLE.replace(b"1JVGL0012345", b"NoRead"), SICK)
    assert d.barcode is None and d.measured


def test_sick_zeroed_weight_is_not_legal():
    d = parse_telegram(SICK_EXAMPLE.replace(b"000081212", b"000000000"), SICK)
    assert d.weight_kg is None
    assert not d.legal_for_trade
    assert "weight:zeroed" in d.flags
    assert d.measured


def test_sick_zeroed_dimensions_mean_no_dimension():
    frame = SICK_EXAMPLE.replace(b"0321;0150;0087", b"0000;0000;0000")
    d = parse_telegram(frame, SICK)
    assert d.no_dimension_reason == "zero_dimensions"
    assert (d.length_mm, d.width_mm, d.height_mm) == (None, None, None)
    assert not d.legal_for_trade and d.weight_kg == Decimal("81.212")


def test_zero_dimensions_kept_when_the_format_says_so():
    fmt = SICK.model_copy(update={"zero_means_no_dimension": False})
    d = parse_telegram(SICK_EXAMPLE.replace(b"0321;0150;0087", b"0000;0000;0000"), fmt)
    assert d.measured and d.length_mm == 0


def test_datalogic_ready_with_implied_decimals_and_point_weight():
    d = parse_telegram(DL_READY, DATALOGIC)
    assert (d.length_mm, d.width_mm, d.height_mm) == (Decimal("321.0"), 150, 87)
    assert str(d.length_mm) == "321.0"
    assert d.weight_kg == Decimal("12.345")
    assert d.sequence == 12 and d.barcode == "LS0000000001"
    assert d.legal_for_trade
    assert d.flags == ("alibi:A000123",)


def test_datalogic_notready_is_not_legal():
    d = parse_telegram(DL_READY.replace(b"READY", b"NOTREADY"), DATALOGIC)
    assert d.measured and not d.legal_for_trade
    assert "status:NOTREADY" in d.flags


def test_unknown_status_is_not_legal_when_legal_statuses_are_listed():
    d = parse_telegram(DL_READY.replace(b"READY", b"BUSY"), DATALOGIC)
    assert not d.legal_for_trade and "status:BUSY" in d.flags


def test_datalogic_nodim_reason():
    frame = b"\x02READY,0013,LS0000000002,00000,00000,00000,mm,1.200,kg,NODIM_BOX_STACKED,A1\r\n"
    d = parse_telegram(frame, DATALOGIC)
    assert d.no_dimension_reason == "NODIM_BOX_STACKED"
    assert (d.length_mm, d.width_mm, d.height_mm) == (None, None, None)
    assert d.weight_kg == Decimal("1.200")
    assert not d.legal_for_trade and not d.measured


def test_a_reason_with_empty_lengths_is_still_a_no_dimension_result():
    frame = b"\x02READY,0013,NoRead,,,,,,,NODIM_TOO_BIG,\r\n"
    d = parse_telegram(frame, DATALOGIC)
    assert d.no_dimension_reason == "NODIM_TOO_BIG"
    assert d.barcode is None and d.weight_kg is None


@pytest.mark.parametrize(
    ("unit", "text", "mm"),
    [("mm", "0321", "321"), ("cm", "0321", "3210"), ("m", "0321", "321000"), ("in", "12", "304.8")],
)
def test_length_units(unit, text, mm):
    fmt = SICK
    frame = SICK_EXAMPLE.replace(b"0321;", text.encode() + b";").replace(
        b";mm;", f";{unit};".encode()
    )
    assert parse_telegram(frame, fmt).length_mm == Decimal(mm)


@pytest.mark.parametrize(
    ("unit", "kg"),
    [("g", "81.212"), ("kg", "81212"), ("lb", "36837.14355244"), ("oz", "2302.321472027500")],
)
def test_weight_units_are_exact(unit, kg):
    frame = SICK_EXAMPLE.replace(b";g;", f";{unit};".encode())
    assert parse_telegram(frame, SICK).weight_kg == Decimal(kg)


def test_defaults_units_when_the_telegram_has_no_unit_fields():
    fmt = TelegramFormat(
        fields=(
            TelegramField(name="length", decimals=2),
            TelegramField(name="width"),
            TelegramField(name="height"),
            TelegramField(name="weight"),
        ),
        length_unit="in",
        weight_unit="lb",
    )
    d = parse_telegram(b"\x021250;3.5; 2 ;1\x03", fmt)
    assert d.length_mm == Decimal("12.50") * Decimal("25.4")
    assert d.width_mm == Decimal("88.9") and d.height_mm == Decimal("50.8")
    assert d.weight_kg == Decimal("0.45359237")


@pytest.mark.parametrize(
    ("old", "new", "field"),
    [
        (b"0321", b"03x1", "length"),
        (b"0150", b"1.5.0", "width"),
        (b"0087", b"", "height"),
        (b"000081212", b"-81212", "weight"),
        (b"0145", b"01A5", "sequence"),
        (b";mm;", b";yd;", "length_unit"),
        (b";g;", b";st;", "weight_unit"),
    ],
)
def test_garbled_fields_name_the_field_and_text(old, new, field):
    frame = SICK_EXAMPLE.replace(old, new, 1)
    with pytest.raises(ProtocolError) as info:
        parse_telegram(frame, SICK, "tunnel", "tcp://h:1")
    message = str(info.value)
    assert message.startswith("tunnel (tcp://h:1): ")
    assert f"field {field}" in message
    assert repr(new.strip(b";").decode()) in message


@pytest.mark.parametrize(
    "frame",
    [
        SICK_EXAMPLE[1:],
        SICK_EXAMPLE[:-1],
        SICK_EXAMPLE.replace(b";4240", b""),
        SICK_EXAMPLE.replace(b";4240", b";4240;1"),
        b"",
        b"\x02\x03",
    ],
)
def test_frame_shape_errors(frame):
    with pytest.raises(ProtocolError):
        parse_telegram(frame, SICK)


def test_bcc_is_xor_of_everything_after_start_through_end():
    frame = build_telegram(XOR_FMT, {"length": "1", "width": "2", "height": "3"})
    body = b";;;;;0001;0002;0003;;;\x03"
    assert frame == b"\x02" + body + bytes([reduce(xor, body, 0)])
    assert bcc_xor(b"\x02AB\x03", b"\x02") == 0x41 ^ 0x42 ^ 0x03
    assert parse_telegram(frame, XOR_FMT).length_mm == 1


def test_bcc_mismatch_is_a_protocol_error():
    good = SICK_EXAMPLE + bytes([reduce(xor, SICK_EXAMPLE[1:], 0)])
    assert parse_telegram(good, XOR_FMT).measured
    bad = good[:-1] + bytes([good[-1] ^ 0x01])
    with pytest.raises(ProtocolError, match="BCC mismatch"):
        parse_telegram(bad, XOR_FMT)
    with pytest.raises(ProtocolError):
        parse_telegram(SICK_EXAMPLE, XOR_FMT)


def test_build_reproduces_the_sick_example():
    values = {
        "sequence": "145",
        "barcode": "1JVGL0012345",
        "weight": "81212",
        "weight_unit": "g",
        "status": "0",
        "length": "321",
        "width": "150",
        "height": "87",
        "length_unit": "mm",
        "reason": "0",
        "volume": "4240",
    }
    assert build_telegram(SICK, values) == SICK_EXAMPLE


def test_build_rejects_what_cannot_be_framed():
    with pytest.raises(ValueError, match="no such fields"):
        build_telegram(SICK, {"colour": "red"})
    with pytest.raises(ValueError, match="separator"):
        build_telegram(SICK, {"barcode": "A;B"})
    with pytest.raises(ValueError, match="end"):
        build_telegram(SICK, {"barcode": "A\x03B"})
    with pytest.raises(ValueError):
        build_telegram(SICK, {"barcode": "Ā"})


def test_format_number_is_exact_or_refuses():
    assert format_number(Decimal("321.5"), 1, 5) == "03215"
    assert format_number(87, 0, 4) == "0087"
    assert format_number("12.345", 3) == "12345"
    with pytest.raises(ValueError):
        format_number(Decimal("1.25"), 1)
    with pytest.raises(ValueError):
        format_number(-1)
