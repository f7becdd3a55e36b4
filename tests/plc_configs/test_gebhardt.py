"""The Gebhardt-like codec: the PROTOCOLS.md pattern, round trips, splitter, arbitrary bytes."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from plc_configs import gebhardt as gb

STORE = (
    b"/Seq:001/Send:WCS/Rec:CRA-01/Time:20240501120000/Function:Store/HU:10000005/Src:IP-01"
    b"/Dest:R01-001/Len:600/Wid:400/Hgt:300/Wgt:5000/WgtUnit:g/End/"
)
ACK = b"/Seq:001/Send:CRA-01/Rec:WCS/Time:20240501120001/>/End/"


def test_store_and_ack_decoded_as_in_protocols_md() -> None:
    t = gb.decode(STORE)
    assert (t.seq, t.sender, t.receiver, t.ack) == (1, "WCS", "CRA-01", False)
    assert t.function == "Store" and t.get("HU") == "10000005" and t.get("WgtUnit") == "g"
    assert gb.encode(t) == STORE
    ack = gb.decode(ACK)
    assert ack.ack and ack.seq == 1 and ack.sender == "CRA-01"
    assert gb.encode(t.ack_for("20240501120001")) == ACK


@pytest.mark.parametrize(
    "fields",
    [
        {"Function": "Retrieve", "Tord": "T1", "HU": "W1-C0003", "Dest": "OP-01"},
        {"Event": "Arrival", "Tord": "T1", "HU": "W1-C0003", "Loc": "R01-002"},
        {"Event": "PosPass", "HU": "W1-C0003", "Loc": "PP-3"},
        {"Event": "ZoneEntry", "HU": "W1-C0003", "Zone": "Z1"},
        {"Event": "TordDelete", "Tord": "T1", "HU": "W1-C0003", "Code": "102"},
        {
            "Event": "Refused",
            "Tord": "T1",
            "HU": "X",
            "Code": "103",
            "Text": "unknown handling unit",
        },
        {"Event": "Fault", "Code": "101", "Text": "crane fault", "State": "On"},
    ],
)
def test_functions_and_events_round_trip(fields: dict[str, str]) -> None:
    t = gb.message(999, "CRA-01", "WCS", "20240501120000", **fields)
    assert gb.decode(gb.encode(t)) == t
    assert gb.next_seq(999) == 1


@pytest.mark.parametrize(
    ("frame", "match"),
    [
        (STORE.replace(b"Seq:001", b"Seq:000"), "Seq"),
        (STORE.replace(b"/Send:", b"/Sender:"), "Send"),
        (STORE.replace(b"/End/", b"/"), "expected /Seq"),
        (STORE.replace(b"/Src:", b"/Src"), "key:value"),
        (b"/Seq:001/Send:A/Rec:B/Time:1/End/", "body"),
    ],
)
def test_malformed_telegrams_raise_gebhardt_error(frame: bytes, match: str) -> None:
    with pytest.raises(gb.GebhardtError, match=match):
        gb.decode(frame)


def test_values_with_a_slash_are_refused() -> None:
    with pytest.raises(gb.GebhardtError, match="without '/'"):
        gb.encode(gb.message(1, "WCS", "CRA-01", "t", Function="Store", HU="A/B"))


def test_splitter_survives_garbage_split_and_joined_frames() -> None:
    splitter = gb.GebhardtSplitter()
    stream = b"xx/Seq:0" + STORE + ACK + b"/Se" + b"junk" + ACK
    frames = [f for i in range(0, len(stream), 11) for f in splitter.feed(stream[i : i + 11])]
    assert frames == [STORE, ACK, ACK]
    assert splitter.garbage_bytes == len(b"xx/Seq:0") + len(b"/Sejunk")


@settings(max_examples=150, deadline=None)
@given(st.lists(st.binary(max_size=200), max_size=5), st.booleans())
def test_arbitrary_bytes_never_crash(chunks: list[bytes], with_frame: bool) -> None:
    splitter = gb.GebhardtSplitter()
    for chunk in [*chunks, STORE if with_frame else b""]:
        for frame in splitter.feed(chunk):
            with contextlib.suppress(gb.GebhardtError):
                gb.decode(frame)
        with contextlib.suppress(gb.GebhardtError):
            gb.decode(chunk)
