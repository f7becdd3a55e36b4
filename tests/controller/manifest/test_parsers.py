import io
import json

import pytest

from controller.errors import ManifestError
from controller.manifest.parsers import (
    collect,
    json_items,
    open_input,
    parse_csv,
    parse_json,
    parse_ndjson,
)
from controller.manifest.rows import BadRow
from tests.controller.manifest.helpers import fields_of


def csv_rows(text):
    return list(parse_csv(io.StringIO(text, newline="")))


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
