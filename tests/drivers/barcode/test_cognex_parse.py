from drivers.barcode.base import BarcodeRead
from drivers.barcode.cognex_tcp import parse_symbols


def test_aim_prefix_becomes_symbology():
    assert parse_symbols("]C0LS0000000001", "NOREAD", ",") == (BarcodeRead("LS0000000001", "]C0"),)


def test_no_read_string_and_empty_payload_are_no_symbols():
    assert parse_symbols("NOREAD", "NOREAD", ",") == ()
    assert parse_symbols("", "NOREAD", ",") == ()


def test_several_symbols_keep_order_and_plain_data_has_no_symbology():
    assert parse_symbols("]C0A;B", "X", ";") == (BarcodeRead("A", "]C0"), BarcodeRead("B", ""))
