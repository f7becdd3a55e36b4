"""Preset parsers frame by frame, the datalogic multiple read, the registry's preset defaults."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from drivers.barcode.autoid import AutoIdReader
from drivers.barcode.base import BarcodeRead, ReadResult
from drivers.barcode.cognex_push import CognexPushReader
from drivers.barcode.protocols import (
    CognexProtocol,
    CognexSilentProtocol,
    DatalogicProtocol,
    KeyenceProtocol,
    Kind,
    SickProtocol,
)
from drivers.barcode.tcp_reader import TcpReader
from drivers.errors import DeviceFault, ProtocolError
from drivers.registry import create_reader
from simulators.parcels import ReaderOutcome
from tests.drivers.barcode.reader_rig import device, parcel, rig


def test_cognex_position_and_grade_suffix():
    msg = CognexProtocol().parse(b"||:3[0]]C1LS1@812:377#B,]C0LS2#A,LS3@-1:5\r\n")
    assert msg is not None and msg.cmd_id == 3
    assert msg.symbols == (
        BarcodeRead("LS1", "]C1", (812, 377), "B"),
        BarcodeRead("LS2", "]C0", None, "A"),
        BarcodeRead("LS3", "", (-1, 5), None),
    )


def test_cognex_silent_reply_is_the_read_string_alone():
    silent = CognexSilentProtocol(no_read="NR", separator=";")
    msg = silent.parse(b"]C1LS1@812:377#B;LS2\r\n")
    assert msg is not None and msg.kind is Kind.RESULT and msg.cmd_id is None
    assert msg.symbols == (BarcodeRead("LS1", "]C1", (812, 377), "B"), BarcodeRead("LS2"))
    assert silent.parse(b"NR\r\n").symbols == () and silent.parse(b"NR\r\n").error is None
    assert silent.parse(b"\r\n") is None
    assert silent.parse(b"]C0LS\x7f1\r\n") is None
    assert silent.parse(b"LS1;;LS2\r\n").error[0] is ProtocolError


def test_cognex_silent_never_reads_a_response_header_as_data_and_says_why():
    silent = CognexSilentProtocol()
    for frame in (b"||:3[0]]C0LS1\r\n", b"||[0]NOREAD\r\n", b"||:3[104]\r\n"):
        assert silent.parse(frame) is None
        assert "COM.DMCC-RESPONSE 1 (extended)" in silent.hint(frame.decode())
    assert silent.hint("#~garbled") == ""
    assert silent.trigger_frames(7) == [b"||>TRIGGER ON\r\n"]  # no id: none comes back
    assert silent.stop_frame() == b"||>TRIGGER OFF\r\n"
    assert not silent.has_ids


def test_cognex_extended_names_a_reader_left_silent():
    extended = CognexProtocol()
    assert extended.parse(b"]C0LS1\r\n") is None
    assert "COM.DMCC-RESPONSE 0 (silent" in extended.hint("]C0LS1\r\n")
    assert extended.hint("||:1[0\r\n") == "" and extended.hint("\x7f\r\n") == ""
    assert extended.trigger_frames(7) == [b"||:7>TRIGGER ON\r\n"] and extended.has_ids
    assert extended.stop_frame() is None


def test_cognex_control_characters_are_not_a_reply_but_gs_is_data():
    assert CognexProtocol().parse(b"||:3[0]]C0LS\x7f1\r\n") is None
    msg = CognexProtocol().parse(b"||:3[0]]C10012345\x1d42012345\r\n")
    assert msg is not None and msg.symbols[0].data == "0012345\x1d42012345"


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (b"\x021;1;]C0LS1\x03", "bad check digit"),
        (b"\x025;0\x03", "multiple-read count not met"),
        (b"\x023;0\x03", "system error"),
        (b"\x02sFA 5\x03", "command error"),
        (b"\x02sAN mTCgateon 0\x03", "refused"),
    ],
)
def test_sick_error_statuses_carry_their_meaning(body, error):
    msg = SickProtocol().parse(body)
    assert msg is not None and msg.error is not None
    assert msg.error[0] is DeviceFault and error in msg.error[1]


def test_sick_telegrams():
    sick = SickProtocol()
    assert sick.parse(b"\x02sAN mTCgateoff 1\x03").kind is Kind.ACK
    assert sick.parse(b"\x022;0\x03").symbols == ()
    assert sick.parse(b"\x020;2;]C0A;B\x03").symbols == (BarcodeRead("A", "]C0"), BarcodeRead("B"))
    assert sick.parse(b"\x020;3;]C0A;B\x03") is None  # count disagrees
    assert sick.parse(b"\x020;0\x03") is None  # good without a symbol
    assert sick.parse(b"junk\x020;1;A\x03") is None
    assert sick.parse(b"\x027;0\x03").error[0] is ProtocolError


def test_keyence_lines():
    keyence = KeyenceProtocol()
    assert keyence.parse(b"OK,LON\r").kind is Kind.ACK
    assert keyence.parse(b"ERROR\r").symbols == () and keyence.parse(b"ERROR\r").error is None
    fault = keyence.parse(b"ER,LON,14\r")
    assert fault.kind is Kind.FAULT and "14" in fault.error[1]
    assert keyence.parse(b"\nLS1,]C0LS2\r").symbols == (
        BarcodeRead("LS1"),
        BarcodeRead("LS2", "]C0"),
    )
    assert keyence.parse(b"LS1,,LS2\r").error[0] is ProtocolError


def test_datalogic_no_reads_and_multiple_read():
    dl = DatalogicProtocol(multiple_read="MULTI")
    assert dl.parse(b"\x02???????\r\n").symbols == ()
    assert dl.parse(b"\x02]C0A,???,B\r\n").symbols == (BarcodeRead("A", "]C0"), BarcodeRead("B"))
    alone = dl.parse(b"\x02MULTI\r\n")
    assert alone.multiple and alone.symbols == ()
    both = dl.parse(b"\x02MULTI,A,B\r\n")
    assert both.multiple and [s.data for s in both.symbols] == ["A", "B"]
    assert dl.parse(b"]C0A\r\n") is None  # no STX


def test_a_multiple_result_is_never_a_no_read():
    assert not ReadResult((), "MULTI", multiple=True).no_read


async def test_datalogic_multiple_read_string_reaches_the_caller():
    async with rig("datalogic", multiple_read="MULTIPLE") as (driver, _, scan):
        scan.parcel = parcel(ReaderOutcome.MULTI_LABEL)
        result = await driver.trigger()
        assert result.multiple and result.symbols == () and not result.no_read
        assert result.raw == "MULTIPLE"


@pytest.mark.parametrize(
    ("driver", "fields", "cls", "no_read", "separator"),
    [
        ("cognex", {}, TcpReader, "NOREAD", ","),
        ("sick", {}, TcpReader, "NoRead", ";"),
        ("keyence", {}, TcpReader, "ERROR", ","),
        ("datalogic", {}, TcpReader, "???????", ","),
        ("keyence", {"no_read": "NG", "separator": ":"}, TcpReader, "NG", ":"),
        ("cognex", {"push": True}, CognexPushReader, "NOREAD", ","),
    ],
)
def test_registry_applies_preset_defaults(driver, fields, cls, no_read, separator):
    reader = create_reader("r", device(driver, **fields))
    assert isinstance(reader, cls)
    assert reader.protocol.no_read == no_read and reader.protocol.separator == separator


@pytest.mark.parametrize(
    ("fields", "cls"),
    [({}, CognexSilentProtocol), ({"response": "extended"}, CognexProtocol)],
)
def test_registry_takes_the_cognex_response_mode_silent_by_default(fields, cls):
    reader = create_reader("r", device("cognex", **fields))
    assert isinstance(reader, TcpReader) and type(reader.protocol) is cls


@pytest.mark.parametrize(
    "fields",
    [
        {"driver": "sick", "response": "extended"},
        {"driver": "cognex", "push": True, "response": "extended"},
    ],
)
def test_config_takes_response_extended_only_for_a_triggered_cognex(fields):
    driver = fields.pop("driver")
    with pytest.raises(ValidationError, match="response: extended is a DMCC response mode"):
        device(driver, **fields)
    device(driver, **{**fields, "response": "silent"})  # the default, written out: fine


def test_registry_builds_autoid_and_refuses_push_for_other_presets():
    dev = device("cognex").model_copy(
        update={"driver": "autoid", "url": "opc.tcp://127.0.0.1:4840/x", "node": "Reader1"}
    )
    reader = create_reader("r", dev)
    assert isinstance(reader, AutoIdReader) and reader.node == "Reader1"
    with pytest.raises(ValueError, match="push"):
        create_reader("r", device("sick", push=True))
