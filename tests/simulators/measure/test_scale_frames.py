"""Scale protocol handlers produce the vendors' bytes (pure, no I/O)."""

from __future__ import annotations

import pytest

from simulators.measure.faults import Fault
from simulators.measure.mtsics import MtSics
from simulators.measure.nci import Nci, nci_status
from simulators.measure.sma import Sma
from simulators.measure.toledo import ToledoContinuous, toledo_checksum, toledo_frame
from tests.simulators.measure.helpers import OnScale, draw, parcel


def ask(protocol, request: bytes, *faults: Fault) -> bytes:
    reply = protocol.reply(request, draw(*faults))
    assert reply is not None
    return reply.data


# -- MT-SICS ----------------------------------------------------------------------------


def test_mtsics_stable_weight_right_aligned_three_decimals():
    sics = MtSics(OnScale(parcel(1.234)))
    assert ask(sics, b"S") == b"S S      1.234 kg\r\n"
    assert ask(sics, b"SI") == b"S S      1.234 kg\r\n"


def test_mtsics_empty_scale_reads_zero():
    assert ask(MtSics(OnScale()), b"S") == b"S S      0.000 kg\r\n"


def test_mtsics_faults():
    sics = MtSics(OnScale(parcel(12.5)), stability_timeout_s=0.2)
    unstable = sics.reply(b"S", draw(Fault.UNSTABLE))
    assert unstable is not None and unstable.data == b"S I\r\n" and unstable.delay_s == 0.2
    assert ask(sics, b"SI", Fault.UNSTABLE) == b"S D     12.500 kg\r\n"
    assert ask(sics, b"S", Fault.OVERLOAD) == b"S +\r\n"
    assert ask(sics, b"S", Fault.ERROR) in (b"EL\r\n", b"ET\r\n")


def test_mtsics_zero_tare_and_unknown():
    on = OnScale(parcel(2.0))
    sics = MtSics(on)
    assert ask(sics, b"T") == b"T S      2.000 kg\r\n"
    assert ask(sics, b"TA") == b"TA A      2.000 kg\r\n"
    assert ask(sics, b"S") == b"S S      0.000 kg\r\n"
    assert ask(sics, b"TAC") == b"TAC A\r\n"
    on.parcel = None
    assert ask(sics, b"Z") == b"Z A\r\n"
    assert ask(sics, b"XYZ") == b"ES\r\n"
    assert ask(sics, b"I4").startswith(b'I4 A "')


def test_mtsics_requests_end_with_lf_cr_is_stripped():
    buffer = bytearray(b"S\r\nSI\r\nZ")
    assert MtSics(OnScale()).requests(buffer) == [b"S\r", b"SI\r"]
    assert buffer == b"Z"


# -- SMA --------------------------------------------------------------------------------


def test_sma_weight_frame_layout():
    sma = Sma(OnScale(parcel(1.234)), reply_delay_s=0.1)
    reply = sma.reply(b"\nW", draw())
    assert reply is not None and reply.delay_s == 0.1
    assert reply.data == b"\n 1G       1.234kg \r"
    body = reply.data[1:-1]
    assert len(body) == 5 + 10 + 3
    assert body[5:15].strip() == b"1.234" and body[15:] == b"kg "


def test_sma_flags_and_unknown():
    sma = Sma(OnScale(parcel(3.5)), reply_delay_s=0)
    assert ask(sma, b"\nW", Fault.UNSTABLE)[1:6] == b" 1GM "
    assert ask(sma, b"\nW", Fault.OVERLOAD)[1:2] == b"O"
    assert ask(sma, b"\nW", Fault.ERROR)[1:2] in (b"U", b"E")
    assert ask(sma, b"\nQ") == b"\n?\r"
    assert ask(Sma(OnScale(), reply_delay_s=0), b"\nW")[1:2] == b"Z"


def test_sma_tare_gives_net_and_esc_is_dropped():
    sma = Sma(OnScale(parcel(3.5)), reply_delay_s=0)
    assert ask(sma, b"\nT")[1:4] == b" 1N"
    buffer = bytearray(b"\nW\x1b\nW\r")
    assert sma.requests(buffer) == [b"\nW"]
    assert ask(sma, b"\nI").startswith(b"\nSMA:2/1.0\r\nTYP:S\r")


# -- NCI --------------------------------------------------------------------------------


def test_nci_weight_in_lb_and_kg():
    assert ask(Nci(OnScale(parcel(1.234)), unit="kg"), b"W") == b"\n0001.23kg\r\n00\r\x03"
    lb = ask(Nci(OnScale(parcel(0.45359237))), b"W")
    assert lb == b"\n0001.00lb\r\n00\r\x03"


def test_nci_status_bits():
    assert nci_status() == b"00"
    assert nci_status(motion=True, over=True) == bytes((0x31, 0x32))
    nci = Nci(OnScale(parcel(5)))
    assert ask(nci, b"W", Fault.UNSTABLE).endswith(b"\r\n10\r\x03")
    assert ask(nci, b"S", Fault.OVERLOAD) == b"\n02\r\x03"
    assert ask(Nci(OnScale()), b"S") == b"\n20\r\x03"  # at zero
    assert ask(nci, b"X") == b"\n?\r\x03"
    assert all(b >> 4 == 3 for b in ask(nci, b"S", Fault.ERROR)[1:3])


# -- Toledo continuous ------------------------------------------------------------------


def test_toledo_frame_layout_and_checksum():
    frame = toledo_frame(1.23)
    assert frame[:4] == bytes((0x02, 0x2C, 0x30, 0x20))
    assert frame[4:16] == b"000123000000"
    assert frame[16] == 0x0D
    assert (sum(b & 0x7F for b in frame[:17]) + frame[17]) & 0x7F == 0
    assert frame[17] == toledo_checksum(frame[:17])


@pytest.mark.parametrize(("decimals", "code"), [(0, 2), (1, 3), (2, 4), (3, 5)])
def test_toledo_decimal_code(decimals, code):
    assert toledo_frame(1.0, decimals=decimals)[1] & 0x07 == code


def test_toledo_status_bits_and_bad_checksum():
    assert toledo_frame(1, motion=True)[2] & 0x08
    assert toledo_frame(1, out_of_range=True)[2] & 0x04
    assert toledo_frame(20000)[2] & 0x04  # beyond 6 digits
    assert toledo_frame(1, tare_kg=0.5)[2] & 0x01
    good, bad = toledo_frame(1), toledo_frame(1, bad_checksum=True)
    assert good[:-1] == bad[:-1] and good[-1] != bad[-1]


def test_toledo_stream_pushes_and_ignores_input():
    tol = ToledoContinuous(OnScale(parcel(12.34)), period_s=0.01)
    assert tol.push_period_s == 0.01
    reply = tol.push(draw(Fault.UNSTABLE))
    assert reply is not None and reply.data[4:10] == b"001234" and reply.data[2] & 0x08
    buffer = bytearray(b"P\r")
    assert tol.requests(buffer) == [] and not buffer
