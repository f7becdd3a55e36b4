"""Exact unit conversion: never a float, never rounded."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from drivers.errors import ProtocolError
from drivers.scale.units import parse_number, to_kg


@pytest.mark.parametrize(
    ("value", "unit", "kg"),
    [
        ("1.00", "lb", "0.45359237"),
        ("1", "oz", "0.028349523125"),
        ("16", "oz", "0.45359237"),
        ("100.00", "g", "0.1"),
        ("12345678.12", "g", "12345.67812"),
        ("2.5", "kg", "2.5"),
        ("-1.25", "kg", "-1.25"),
        ("0.01", "LB", "0.0045359237"),
        ("999999.999", "lb", "453592.369546407630"),
    ],
)
def test_exact_conversion(value, unit, kg):
    assert to_kg(Decimal(value), unit) == Decimal(kg)


def test_value_keeps_its_printed_exponent_for_kg():
    assert str(to_kg(Decimal("100.00"), "kg")) == "100.00"


@given(
    st.decimals(
        allow_nan=False, allow_infinity=False, places=6, max_value=10**9, min_value=-(10**9)
    )
)
def test_lb_to_kg_is_exact_and_reversible(value):
    kg = to_kg(value, "lb")
    assert kg / Decimal("0.45359237") == value


@pytest.mark.parametrize("unit", ["mg", "", "lbs", "kgs", "ton"])
def test_unknown_unit_is_protocol_error(unit):
    with pytest.raises(ProtocolError, match="unknown unit"):
        to_kg(Decimal(1), unit, "scale-1", "tcp://h:1")


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("  100.00", "100.00"),
        ("-1.25", "-1.25"),
        ("-   1.25", "-1.25"),
        ("+3", "3"),
        (".5", "0.5"),
        ("7.", "7"),
    ],
)
def test_numbers_as_printed(text, value):
    assert parse_number(text) == Decimal(value)
    assert str(parse_number("  100.00")) == "100.00"


@pytest.mark.parametrize("text", ["", "NaN", "Infinity", "1e3", "1,5", "1.2.3", "--1", "1 2", "٣"])
def test_not_numbers(text):
    with pytest.raises(ProtocolError):
        parse_number(text)
