"""CubiScan reply frames from the vendor examples."""

from __future__ import annotations

from decimal import Decimal

import pytest

from drivers.dimensioner.cubiscan import MEASURE, parse_cubiscan_reply
from drivers.errors import DeviceFault, ProtocolError

METRIC = b"\x02MAC004600,L020.0,W010.0,H030.0,M,K500.50,D510.50,M,F0010,I\x03\r\n"


def test_measure_command_bytes():
    assert MEASURE == b"\x02M\x03\r\n"


def test_metric_example_is_centimetres_and_kilograms_exactly():
    d = parse_cubiscan_reply(METRIC)
    assert (d.length_mm, d.width_mm, d.height_mm) == (Decimal(200), Decimal(100), Decimal(300))
    assert str(d.length_mm) == "200.0"
    assert d.weight_kg == Decimal("500.50")
    assert d.measured and d.legal_for_trade and d.flags == ()
    assert d.no_dimension_reason is None
    assert d.raw == METRIC.decode("latin-1")


def test_inch_and_pound_frame_converts_exactly():
    frame = b"\x02MAH000001,L012.5,W008.1,H001.0,E,K002.20,D003.10,E,F0166,D\x03\r\n"
    d = parse_cubiscan_reply(frame)
    assert d.length_mm == Decimal("317.50")
    assert d.width_mm == Decimal("205.74")
    assert d.height_mm == Decimal("25.40")
    assert d.weight_kg == Decimal("2.20") * Decimal("0.45359237")
    assert d.weight_kg == Decimal("0.9979032140")
    assert d.legal_for_trade


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"MNC", "corner_sensor"),
        (b"MNM", "measure_error"),
        (b"MNZ", "zeroing"),
        (b"MNCZ", "zeroing"),
        (b"MNCC", "corner_sensor"),
        (b"MNHM", "measure_error"),
    ],
)
def test_nack_is_an_explicit_no_dimension_result(body, reason):
    d = parse_cubiscan_reply(b"\x02" + body + b"\x03\r\n")
    assert d.no_dimension_reason == reason
    assert (d.length_mm, d.width_mm, d.height_mm, d.weight_kg) == (None, None, None, None)
    assert not d.measured and not d.legal_for_trade


@pytest.mark.parametrize(
    ("marker", "flag"), [("_", "low"), ("-", "low_precision"), ("~", "over_range")]
)
@pytest.mark.parametrize("position", ["L", "W", "H", "K"])
def test_value_markers_keep_the_number_flag_it_and_make_it_not_legal(marker, flag, position):
    text = METRIC.decode("latin-1")
    value = {"L": "020.0", "W": "010.0", "H": "030.0", "K": "500.50"}[position]
    frame = text.replace(f"{position}{value}", f"{position}{marker}{value}").encode("latin-1")
    d = parse_cubiscan_reply(frame)
    name = {"L": "length", "W": "width", "H": "height", "K": "weight"}[position]
    assert d.flags == (f"{name}:{flag}",)
    assert not d.legal_for_trade
    assert d.measured
    assert (d.length_mm, d.width_mm, d.height_mm) == (200, 100, 300)
    assert d.weight_kg == Decimal("500.50")


def test_marker_in_place_of_the_first_digit_keeps_the_width():
    frame = METRIC.replace(b"H030.0", b"H~99.9")
    d = parse_cubiscan_reply(frame)
    assert d.height_mm == Decimal("999.0")
    assert d.flags == ("height:over_range",)


def test_several_markers_are_all_flagged():
    frame = METRIC.replace(b"L020.0", b"L_020.0").replace(b"D510.50", b"D-510.50")
    assert parse_cubiscan_reply(frame).flags == ("length:low", "dim_weight:low_precision")


def test_unknown_command_is_a_device_fault():
    with pytest.raises(DeviceFault, match="unknown command"):
        parse_cubiscan_reply(b"\x02?N\x03\r\n", "cube", "tcp://h:1")


@pytest.mark.parametrize(
    "frame",
    [
        b"",
        b"\x02\x03\r\n",
        b"MAC004600,L020.0,W010.0,H030.0,M,K500.50,D510.50,M,F0010,I\x03\r\n",
        METRIC[:-2],
        METRIC.replace(b"L020.0", b"L02O.0"),
        METRIC.replace(b"L020.0", b"X020.0"),
        METRIC.replace(b",M,K", b",Q,K"),
        METRIC.replace(b",M,F", b",X,F"),
        METRIC.replace(b"F0010", b"F10"),
        METRIC.replace(b",I\x03", b",X\x03"),
        METRIC.replace(b",I\x03", b"\x03"),
        METRIC.replace(b"MAC004600", b"MAX004600"),
        METRIC.replace(b"MAC004600", b"MAC0046"),
        METRIC.replace(b"K500.50", b"K\xb500.50"),
        b"\x02MNQ\x03\r\n",
        b"\x02MN\x03\r\n",
        b"\x02ZA\x03\r\n",
    ],
)
def test_malformed_replies_are_protocol_errors(frame):
    with pytest.raises(ProtocolError):
        parse_cubiscan_reply(frame)


def test_protocol_error_names_the_part_and_the_device():
    with pytest.raises(ProtocolError) as info:
        parse_cubiscan_reply(METRIC.replace(b"W010.0", b"W01x.0"), "cube", "tcp://h:1")
    assert "width" in str(info.value) and "W01x.0" in str(info.value)
    assert str(info.value).startswith("cube (tcp://h:1): ")
