"""The OSIP codec: the PROTOCOLS.md example, round trips, the splitter, arbitrary bytes."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from plc_configs import osip

EXAMPLE = (
    b"###00160SPS03MFC__00001REQ_000000000S0000004711FGINIPNT000100000000"
    b"????????????????????0000009020131123225959"
).ljust(160, b"*") + b"\r\n"


def test_example_req_decoded_field_by_field() -> None:
    t = osip.decode(EXAMPLE, 160)
    assert (t.type, t.sender, t.receiver, t.seq) == ("REQ_", "SPS03", "MFC__", 1)
    assert t.barcode == "S0000004711"
    assert t.actual == "FGIN/IPNT/0001/0000/0000"
    assert t.target is None
    assert (t.error, t.date) == ("00000090", "20131123225959")
    assert not t.ok
    assert osip.encode(t) == EXAMPLE


SAMPLES = [
    osip.OsipTelegram(
        "REQ_",
        "SPS03",
        "MFC__",
        7,
        "20240501120000",
        barcode="W1-C0003",
        actual="FGIN/IPNT/0001/0000/0000",
    ),
    osip.OsipTelegram(
        "RES_",
        "MFC__",
        "SPS03",
        8,
        "20240501120000",
        barcode="W1-C0003",
        actual="FGIN/IPNT/0001/0000/0000",
        target="RACK/0001/0002/0000/0000",
        target_group="STOCK",
        error="00000102",
    ),
    osip.OsipTelegram(
        "UPD_",
        "SPS03",
        "MFC__",
        99999,
        "20240501120000",
        barcode="W1-C0003",
        actual="RACK/0001/0002/0000/0000",
    ),
    osip.OsipTelegram(
        "LOCU",
        "SPS03",
        "MFC__",
        0,
        "20240501120000",
        group="AISLE1",
        location="RACK/0001/0002/0000/0000",
        error="00000102",
    ),
    osip.OsipTelegram(
        "SYSU", "SPS03", "MFC__", 3, "20240501120000", group="CRANE01", error="00000101"
    ),
    osip.OsipTelegram("ERR_", "SPS03", "MFC__", 4, "20240501120000", error="00000010"),
    osip.OsipTelegram("SYNQ", "SPS03", "MFC__", 5, "20240501120000"),
    osip.OsipTelegram("SYNC", "MFC__", "SPS03", 5, "20240501120001"),
]


@pytest.mark.parametrize("telegram", SAMPLES, ids=lambda t: t.type)
def test_every_type_round_trips_at_160_and_at_another_length(telegram) -> None:
    for length in (160, 200):
        frame = osip.encode(telegram, length)
        assert len(frame) == length + 2 and frame.endswith(b"*\r\n")
        assert frame[3:8] == f"{length:05d}".encode()
        assert osip.decode(frame, length) == telegram


@pytest.mark.parametrize(
    ("frame", "match"),
    [
        (EXAMPLE.replace(b"00160", b"00161", 1), "LEN"),
        (EXAMPLE.replace(b"REQ_", b"XXX_"), "unknown telegram type"),
        (EXAMPLE[:-3] + b"x\r\n", "filler"),
        (EXAMPLE.replace(b"00000090", b"0000009A"), "error must be digits"),
        (b"\xff" + EXAMPLE[1:], "ASCII"),
    ],
)
def test_malformed_telegrams_raise_osip_error(frame: bytes, match: str) -> None:
    with pytest.raises(osip.OsipError, match=match):
        osip.decode(frame)


def test_encode_refuses_what_does_not_fit() -> None:
    with pytest.raises(osip.OsipError, match="five 4-character"):
        osip.encode(osip.OsipTelegram("UPD_", "A", "B", 1, "20240501120000", actual="X/Y"))
    with pytest.raises(osip.OsipError, match="barcode"):
        osip.encode(osip.OsipTelegram("UPD_", "A", "B", 1, "20240501120000", barcode="x" * 21))


def test_splitter_survives_garbage_split_and_joined_frames() -> None:
    splitter = osip.OsipSplitter(160)
    other = osip.encode(SAMPLES[2])
    stream = b"noise##" + EXAMPLE + b"###00" + other + EXAMPLE
    frames = [f for i in range(0, len(stream), 37) for f in splitter.feed(stream[i : i + 37])]
    assert frames == [EXAMPLE, other, EXAMPLE]
    assert splitter.garbage_bytes == len(b"noise#####00")
    assert splitter.pending() == b""


@settings(max_examples=150, deadline=None)
@given(st.lists(st.binary(max_size=200), max_size=5), st.booleans())
def test_arbitrary_bytes_never_crash(chunks: list[bytes], with_frame: bool) -> None:
    splitter = osip.OsipSplitter()
    for chunk in [*chunks, EXAMPLE if with_frame else b""]:
        for frame in splitter.feed(chunk):
            with contextlib.suppress(osip.OsipError):
                osip.decode(frame)
        with contextlib.suppress(osip.OsipError):
            osip.decode(chunk)
