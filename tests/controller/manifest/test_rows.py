import io
import json
import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from controller.errors import ManifestError
from controller.manifest.rows import (
    FIELDS,
    BadRow,
    ManifestRow,
    check,
    check_text,
    collect,
    json_items,
    open_input,
    parse_csv,
    parse_json,
    parse_ndjson,
    validate_row,
)

CONTROL = {chr(c) for c in [*range(0x20), *range(0x7F, 0xA0), 0x2028, 0x2029]}


def fields_of(result):
    assert isinstance(result, list), result
    return {field for field, _ in result}


def csv_rows(text):
    return list(parse_csv(io.StringIO(text, newline="")))


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


def test_csv_line_numbers_are_physical_lines():
    text = (
        "barcode,route,stop_sequence\n"  # 1
        "A1,R1,1\n"  # 2
        "\n"  # 3 blank: skipped
        'A2,"R\n2",2\n'  # 4-5: a quoted newline (refused: control character)
        "A3,R3,x\n"  # 6
        "A4,R4\n"  # 7: too few fields
        "A5,R5,5\n"  # 8
    )
    rows = csv_rows(text)
    assert [line for line, _ in rows] == [2, 4, 6, 7, 8]
    assert rows[0][1] == ("A1", "R1", 1, None, None, None)
    assert fields_of(rows[1][1]) == {"route"}
    assert fields_of(rows[2][1]) == {"stop_sequence"}
    assert rows[3][1] == [("row", "has 2 fields; the header has 3")]
    assert rows[4][1][0] == "A5"


def test_csv_columns_in_any_order_and_case_and_optional_ones_absent():
    rows = csv_rows(" Route ,POSTAL_CODE,Barcode\r\nR1,AB 1,A1\r\n")
    assert rows == [(2, ("A1", "R1", None, None, "AB 1", None))]


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ("barcode\nA1\n", "line 1: expected columns barcode,route; missing route"),
        ("route,stop_sequence\n", "line 1: expected columns barcode,route; missing barcode"),
        ("", "line 1: empty file"),
        ("\n\nA1,R1\n", "line 1: empty file"),
        ("barcode,route,weight\nA1,R1,3\n", "unknown columns 'weight'"),
        ("barcode,route,\n", "unknown columns column 3 (no name)"),
        ("barcode,route,route\n", "repeated columns route"),
    ],
)
def test_csv_header_errors_stop_the_file(header, message):
    with pytest.raises(ManifestError) as err:
        csv_rows(header)
    assert str(err.value).startswith("line 1: ") and message in str(err.value)


def test_csv_file_with_bom_and_bytes_that_are_not_utf8(tmp_path):
    path = tmp_path / "m.csv"
    path.write_bytes(b"\xef\xbb\xbfbarcode,route\r\nA1,R1\r\nA2,R\xff2\r\nA3,R3\r\n")
    handle, rows = open_input(str(path), "csv")
    with handle:
        result = list(rows)
    assert result[0] == (2, ("A1", "R1", None, None, None, None))
    assert result[1][0] == 3 and result[1][1][0][0] == "route"
    assert "not valid UTF-8 (byte 0xFF" in result[1][1][0][1]
    assert result[2] == (4, ("A3", "R3", None, None, None, None))


def test_open_input_refuses_unknown_formats_and_missing_files(tmp_path):
    with pytest.raises(ManifestError, match="unknown format"):
        open_input(str(tmp_path / "x"), "xml")
    with pytest.raises(ManifestError, match="cannot open"):
        open_input(str(tmp_path / "missing.csv"), "csv")


# -- NDJSON and JSON -------------------------------------------------------------------------


def test_ndjson_lines_blank_lines_and_bad_lines():
    data = (
        b'\xef\xbb\xbf{"barcode": "A1", "route": "R1", "stop_sequence": 3}\n'
        b"\n"
        b"   \n"
        b'{"barcode": "A2"}\n'
        b"not json\n"
        b"[1, 2]\n"
        b'{"barcode": "A3", "route": "R3", "colour": "red"}\n'
        b'{"barcode": "A4", "route": "R\xff"}\n'
        b'{"barcode": "A5", "route": "R5"}'
    )
    rows = list(parse_ndjson(io.BytesIO(data)))
    assert [line for line, _ in rows] == [1, 4, 5, 6, 7, 8, 9]
    assert rows[0][1] == ("A1", "R1", 3, None, None, None)
    assert rows[1][1] == [("route", "is required")]
    assert rows[2][1][0][0] == "row" and "not valid JSON" in rows[2][1][0][1]
    assert rows[3][1] == [("row", "expected a JSON object, not list")]
    assert rows[4][1] == [("colour", "unknown field")]
    assert "not valid UTF-8" in rows[5][1][0][1]
    assert rows[6][1][0] == "A5"


def test_json_array_or_parcels_object_with_item_indexes():
    items = [{"barcode": "A0", "route": "R"}, {"barcode": "A1"}, "x"]
    for document in (items, {"parcels": items}):
        rows = list(parse_json(document))
        assert [i for i, _ in rows] == [0, 1, 2]
        assert rows[0][1][0] == "A0" and fields_of(rows[1][1]) == {"route"}
        assert rows[2][1] == [("row", "expected a JSON object, not str")]


@pytest.mark.parametrize(
    "document", [{"rows": []}, {"parcels": {}}, "text", 3, {"parcels": [], "x": 1}]
)
def test_json_of_the_wrong_shape_is_an_error(document):
    with pytest.raises(ManifestError):
        json_items(document)


def test_json_file_that_is_not_json(tmp_path):
    path = tmp_path / "m.json"
    path.write_text('[{"barcode": "A1", "route": ')
    with pytest.raises(ManifestError, match="not valid JSON"):
        open_input(str(path), "json")
    path.write_text(json.dumps({"parcels": [{"barcode": "A1", "route": "R1"}]}))
    handle, rows = open_input(str(path), "json")
    with handle:
        assert list(rows) == [(0, ("A1", "R1", None, None, None, None))]


# -- the small-JSON path ---------------------------------------------------------------------


def test_collect_keeps_the_later_row_of_a_barcode_and_caps_bad_rows():
    items = [
        {"barcode": "A1", "route": "R1"},
        {"barcode": "A2", "route": "R2"},
        {"barcode": "A1", "route": "R9"},
        *[{"barcode": f"B{i}"} for i in range(5)],
    ]
    result = collect(parse_json(items), max_bad=3)
    assert [r.barcode for r in result.rows] == ["A2", "A1"]
    assert result.rows[1].route == "R9"
    assert (result.rows_read, result.rows_bad, result.duplicates) == (8, 5, 1)
    assert result.bad_rows == (
        BadRow(3, "route", "is required"),
        BadRow(4, "route", "is required"),
        BadRow(5, "route", "is required"),
    )
