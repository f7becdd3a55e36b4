"""Dimensioner handlers: CubiScan frames and config-driven delimited telegrams."""

from __future__ import annotations

from plc_configs.telegram import DATALOGIC, SICK, TelegramField, TelegramFormat, bcc_xor
from simulators.measure.cubiscan import CubiScan
from simulators.measure.faults import Fault
from simulators.measure.telegram import DelimitedTelegram
from simulators.parcels import ReaderOutcome
from tests.simulators.measure.helpers import OnScale, draw, parcel

# -- CubiScan ---------------------------------------------------------------------------


def test_cubiscan_measure_frame_metric():
    cube = CubiScan(OnScale(parcel(1.234, (200, 100, 300))))
    assert cube.requests(bytearray(b"\x02M\x03\r\n")) == [b"M"]
    reply = cube.reply(b"M", draw())
    assert reply is not None
    assert reply.data == (b"\x02MAC004600,L020.0,W010.0,H030.0,M,K001.23,D001.20,M,F5000,I\x03\r\n")


def test_cubiscan_nothing_in_the_field_is_all_zero():
    reply = CubiScan(OnScale()).measure(draw())
    assert reply == b"\x02MAC004600,L000.0,W000.0,H000.0,M,K000.00,D000.00,M,F5000,I\x03\r\n"


def test_cubiscan_failures_markers_and_unknown():
    cube = CubiScan(OnScale(parcel(2.0, (321, 150, 20))))
    assert cube.measure(draw(Fault.ERROR)) in (
        b"\x02MNC\x03\r\n",
        b"\x02MNM\x03\r\n",
        b"\x02MNZ\x03\r\n",
    )
    assert b",K-002.00," in cube.measure(draw(Fault.UNSTABLE))
    assert b",K~002.00," in cube.measure(draw(Fault.OVERLOAD))
    assert b",H_002.0," in cube.measure(draw())  # 20 mm: below the low limit
    assert cube.reply(b"Q", draw()).data == b"\x02?N\x03\r\n"  # type: ignore[union-attr]
    assert cube.reply(b"Z", draw()).data == b"\x02ZA\x03\r\n"  # type: ignore[union-attr]


def test_cubiscan_english_units():
    cube = CubiScan(OnScale(parcel(0.45359237, (254, 254, 254))), units="E")
    data = cube.measure(draw())
    assert b",L010.0,W010.0,H010.0,E,K001.00," in data and b",F0166," in data


def test_cubiscan_requests_drop_noise_before_stx():
    buffer = bytearray(b"\r\n\x02M\x03\r\nxx\x02Z\x03\r\n\x02M")
    assert CubiScan(OnScale()).requests(buffer) == [b"M", b"Z"]
    assert buffer == b"\r\n\x02M"


# -- delimited telegrams ----------------------------------------------------------------


def test_sick_telegram():
    tel = DelimitedTelegram(OnScale(), SICK)
    frame = tel.telegram(parcel(81.212, (321, 150, 87)), draw())
    assert frame == b"\x020001;LS0000012345;000081212;g;0;0321;0150;0087;mm;0000;4189050\x03"
    second = tel.telegram(None, draw())
    assert second.startswith(b"\x020002;NoRead;000000000;g;0;0000;0000;0000;mm;0000;0")


def test_sick_not_legal_zeroes_the_weight_and_error_zeroes_dims():
    tel = DelimitedTelegram(OnScale(), SICK)
    unstable = tel.telegram(parcel(5.0), draw(Fault.UNSTABLE)).split(b";")
    assert unstable[2] == b"000000000" and unstable[4] == b"1"
    nodim = tel.telegram(parcel(5.0), draw(Fault.ERROR)).split(b";")
    assert nodim[5:8] == [b"0000", b"0000", b"0000"] and nodim[9] == b"0001"


def test_datalogic_telegram_ready_notready_and_nodim():
    tel = DelimitedTelegram(OnScale(), DATALOGIC)
    ok = tel.telegram(parcel(12.345, (321, 150, 87)), draw())
    assert ok == b"\x02READY,0001,LS0000012345,03210,01500,00870,mm,012345,kg,,A000001\r\n"
    bad = tel.telegram(parcel(12.345), draw(Fault.UNSTABLE)).split(b",")
    assert bad[0] == b"\x02NOTREADY" and bad[-1] == b"\r\n"
    nodim = tel.telegram(parcel(1.0), draw(Fault.ERROR)).split(b",")
    assert nodim[3:6] == [b"00000", b"00000", b"00000"] and nodim[9] == b"NODIM_BOX_STACKED"
    noread = tel.telegram(parcel(outcome=ReaderOutcome.NO_READ), draw()).split(b",")
    assert noread[2] == b"NoRead"


def _custom(**kw) -> TelegramFormat:
    fields = (
        TelegramField(name="barcode"),
        TelegramField(name="length", width=6, decimals=2),
        TelegramField(name="width", width=6, decimals=2),
        TelegramField(name="height", width=6, decimals=2),
        TelegramField(name="weight", width=5, decimals=1),
    )
    return TelegramFormat(
        start="<", end=">", separator="|", fields=fields, length_unit="cm", weight_unit="lb", **kw
    )


def test_custom_telegram_with_bcc_units_and_bad_checksum():
    fmt = _custom(bcc="xor")
    tel = DelimitedTelegram(OnScale(), fmt)
    frame = tel.telegram(parcel(0.45359237 * 2.5, (205, 100, 300)), draw())
    body, bcc = frame[:-1], frame[-1]
    assert body == b"<LS0000012345|002050|001000|003000|00025>"
    assert bcc == bcc_xor(body, b"<")
    broken = tel.telegram(parcel(), draw(Fault.BAD_CHECKSUM))
    assert broken[-1] != bcc_xor(broken[:-1], b"<")


def test_trigger_answers_and_push_only_without_trigger():
    on = OnScale(parcel())
    triggered = DelimitedTelegram(on, _custom(trigger="T\r"))
    buffer = bytearray(b"xxT\rT")
    assert triggered.requests(buffer) == [b"T\r"]
    buffer += b"\r"
    assert triggered.requests(buffer) == [b"T\r"]
    assert triggered.reply(b"T\r", draw()).data.startswith(b"<LS0000012345|")  # type: ignore[union-attr]
    assert triggered.on_scanned(parcel(), draw()) is None
    pushed = DelimitedTelegram(on, _custom())
    assert pushed.requests(bytearray(b"T\r")) == []
    assert pushed.on_scanned(parcel(), draw()) is not None
