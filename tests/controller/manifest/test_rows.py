import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from controller.manifest.rows import FIELDS, ManifestRow, check, check_text, validate_row
from tests.controller.manifest.helpers import fields_of

CONTROL = {chr(c) for c in [*range(0x20), *range(0x7F, 0xA0), 0x2028, 0x2029]}


# -- field rules ---------------------------------------------------------------------------


def test_a_full_row_is_cleaned_and_typed():
    row = validate_row(
        {
            "barcode": " JD014600006101 ",
            "route": "R17",
            "stop_sequence": 4,
            "consignee": "Jane Doe",
            "postal_code": "SW1A 1AA",
            "service_level": "express",
        }
    )
    assert row == ManifestRow("JD014600006101", "R17", 4, "Jane Doe", "SW1A 1AA", "express")
    assert row.as_dict()["stop_sequence"] == 4 and row.values()[0] == "JD014600006101"


def test_optional_fields_may_be_absent_null_or_empty():
    assert check("A", "R", None, "", "  ", None) == ("A", "R", None, None, None, None)
    assert check("A", "R", "", "", "", "", text=True) == ("A", "R", None, None, None, None)


@pytest.mark.parametrize(
    ("values", "field", "reason"),
    [
        ({"route": "R"}, "barcode", "is required"),
        ({"barcode": "  ", "route": "R"}, "barcode", "is required"),
        ({"barcode": "A" * 65, "route": "R"}, "barcode", "at most 64"),
        ({"barcode": "A B", "route": "R"}, "barcode", "whitespace"),
        ({"barcode": "A\u3000B", "route": "R"}, "barcode", "whitespace"),
        ({"barcode": "A\x1dB", "route": "R"}, "barcode", "control character (U+001D)"),
        ({"barcode": "A\u200bB", "route": "R"}, "barcode", "non-printing"),
        ({"barcode": 1234, "route": "R"}, "barcode", "must be a string, not int"),
        ({"barcode": "A"}, "route", "is required"),
        ({"barcode": "A", "route": ""}, "route", "is required"),
        ({"barcode": "A", "route": "R" * 65}, "route", "at most 64"),
        ({"barcode": "A", "route": "R\n1"}, "route", "control character (U+000A)"),
        ({"barcode": "A", "route": "R", "stop_sequence": -1}, "stop_sequence", "0 or more"),
        ({"barcode": "A", "route": "R", "stop_sequence": 2.0}, "stop_sequence", "integer"),
        ({"barcode": "A", "route": "R", "stop_sequence": True}, "stop_sequence", "integer"),
        ({"barcode": "A", "route": "R", "stop_sequence": "3"}, "stop_sequence", "integer"),
        ({"barcode": "A", "route": "R", "stop_sequence": 2**31}, "stop_sequence", "larger"),
        ({"barcode": "A", "route": "R", "consignee": "x" * 201}, "consignee", "at most 200"),
        ({"barcode": "A", "route": "R", "consignee": "a\x00"}, "consignee", "U+0000"),
        ({"barcode": "A", "route": "R", "postal_code": "1" * 17}, "postal_code", "at most 16"),
        ({"barcode": "A", "route": "R", "postal_code": "75_001"}, "postal_code", "A-Z"),
        ({"barcode": "A", "route": "R", "postal_code": "ÄB1"}, "postal_code", "A-Z"),
        ({"barcode": "A", "route": "R", "service_level": "s" * 33}, "service_level", "at most"),
        ({"barcode": "A", "route": "R", "service_level": "x\u2028y"}, "service_level", "U+2028"),
        ({"barcode": "A", "route": "R", "weight": 3}, "weight", "unknown field"),
    ],
)
def test_each_field_rule(values, field, reason):
    problems = validate_row(values)
    assert isinstance(problems, list)
    assert any(f == field and reason in r for f, r in problems), problems


@pytest.mark.parametrize(
    ("text", "expected"),
    [("7", 7), (" 12 ", 12), ("0", 0), ("2147483647", 2**31 - 1)],
)
def test_csv_stop_sequence_parses_ascii_digits(text, expected):
    assert check_text("A", "R", text, "", "", "")[2] == expected


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("-2", "0 or more"),
        ("1.5", "integer"),
        ("+3", "integer"),
        ("1_000", "integer"),
        ("\u0661\u0662", "integer"),  # Arabic-Indic digits are not ASCII
        ("2147483648", "larger"),
        ("9" * 5000, "larger"),
    ],
)
def test_csv_stop_sequence_refuses_what_is_not_a_plain_integer(text, reason):
    problems = check_text("A", "R", text, "", "", "")
    assert fields_of(problems) == {"stop_sequence"} and reason in problems[0][1]


def test_every_problem_of_a_row_is_reported():
    problems = check("", "", "x", "a\x07", "#", "s" * 40, text=True)
    assert fields_of(problems) == set(FIELDS)


def test_reasons_never_echo_a_huge_value():
    problems = check_text("A", "R", "x" * 100_000, "", "", "")
    assert len(problems[0][1]) < 100


def test_lone_surrogates_are_reported_as_bytes_that_are_not_utf8():
    problems = check_text("A\udcff", "R", "", "", "", "")
    assert problems == [("barcode", "is not valid UTF-8 (byte 0xFF at position 1)")]


text_or_none = st.one_of(st.none(), st.text(max_size=80))


@settings(max_examples=400, deadline=None)
@given(st.tuples(*[text_or_none] * 6))
def test_arbitrary_text_never_crashes_and_no_control_character_is_accepted(values):
    for text in (True, False):
        result = check(*values, text=text)
        if isinstance(result, tuple):
            accepted = "".join(v for v in result if isinstance(v, str))
            assert not CONTROL & set(accepted)
            assert not any("\ud800" <= c <= "\udfff" for c in accepted)
            assert " " not in result[0] and result[0].isprintable()
        else:
            assert result and all(f in FIELDS and r for f, r in result)


@settings(max_examples=400, deadline=None)
@given(st.tuples(*[st.text(alphabet=string.printable + "é\u00a0\u200b\x85", max_size=20)] * 6))
def test_the_csv_fast_path_agrees_with_the_full_check(values):
    assert check_text(*values) == check(*values, text=True)


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.text(max_size=15), st.one_of(st.none(), st.integers(), st.text())))
def test_arbitrary_json_objects_never_crash(item):
    result = validate_row(item)
    assert isinstance(result, ManifestRow | list)


# -- CSV ----------------------------------------------------------------------------------
