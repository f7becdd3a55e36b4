import pytest
from hypothesis import given
from hypothesis import strategies as st

from controller.gs1 import GS, Gs1Error, gs1_check_digit, parse_gs1

SSCC = "106141412345678908"  # GS1's example SSCC, check digit 8


def test_check_digit_of_known_numbers():
    assert gs1_check_digit("400638133393") == 1  # EAN-13 4006381333931
    assert gs1_check_digit(SSCC[:-1]) == 8


def test_sscc_and_postal_code_from_a_gs1_128_label():
    label = parse_gs1("]C1" + "00" + SSCC + "420" + "10115")
    assert label.get("00") == SSCC
    assert label.postal_code == "10115"
    assert label.as_dict() == {"00": SSCC, "420": "10115"}


def test_fnc1_ends_a_variable_length_field():
    label = parse_gs1("]C1401ABC-123" + GS + "42010115" + GS + "403R07")
    assert label.elements == (("401", "ABC-123"), ("420", "10115"), ("403", "R07"))


def test_fixed_length_field_may_be_followed_by_a_needless_fnc1():
    assert parse_gs1("00" + SSCC + GS + "42075001").postal_code == "75001"


def test_421_drops_the_country_code():
    assert parse_gs1("421250" + "75001").postal_code == "75001"


def test_bracketed_human_readable_form():
    label = parse_gs1(f"(00){SSCC}(420)10115")
    assert label.get("00") == SSCC and label.postal_code == "10115"


def test_gs1_datamatrix_prefix_is_accepted():
    assert parse_gs1("]d2" + "00" + SSCC).get("00") == SSCC


@pytest.mark.parametrize(
    ("data", "why"),
    [
        ("00" + SSCC[:-1] + "7", "wrong check digit"),
        ("00" + SSCC[:10], "data ends first"),
        ("99", "characters, expected 1 to 90"),
        ("7777", "unknown Application Identifier"),
        ("", "empty"),
        ("420" + "1" * 21, "expected 1 to 20"),
    ],
)
def test_bad_element_strings_say_why(data, why):
    with pytest.raises(Gs1Error, match=why):
        parse_gs1(data)


@given(st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=127), max_size=60))
def test_arbitrary_data_parses_or_raises_gs1error_only(data):
    try:
        label = parse_gs1(data)
    except Gs1Error:
        return
    assert label.elements
