"""The Atop ABLEPick frame codec: lengths, encodings, streaming decode and resync."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from plc_configs import atop
from plc_configs.atop import Frame, FrameDecoder, Malformed


def test_len_counts_the_whole_frame_as_in_the_manual():
    assert atop.encode_frame(atop.MALFUNCTION, 5) == bytes([8, 0, 0x60, 0, 0, 0, 0x0B, 5])
    assert atop.encode_frame(atop.DEVICE_STATUS, None) == bytes([7, 0, 0x60, 0, 0, 0, 0x09])
    three = atop.encode_frame(atop.MAX_ADDRESS, 0xFC, b"\x00\x00\x00", msg_type=0x61)
    assert three[:3] == bytes([0x0B, 0, 0x61]) and len(three) == 11


def test_display_digits_are_right_aligned_ascii_with_blank_leading_digits():
    frame = atop.encode_frame(atop.DISPLAY, 3, atop.digits_data(42))
    assert frame == bytes([15, 0, 0x60, 0, 0, 0, 0, 3]) + b"    42" + b"\x00"
    assert atop.parse_digits(b"    42\x00") == 42
    assert atop.parse_digits(b"999999\x01") == 999999
    assert atop.parse_digits(b"      \x00") is None
    assert atop.parse_digits(b"  -12 \x00") is None
    with pytest.raises(ValueError):
        atop.digits_data(1_000_000)


def test_status_bitmap_one_bit_per_node_one_means_not_connected():
    data = atop.status_bitmap_data([1, 9, 200])
    assert len(data) == 35 and data[:3] == b"\x00\x00\x00"
    assert data[3] == 0x01 and data[4] == 0x01 and data[3 + 24] == 0x80
    assert atop.parse_status_bitmap(data) == {1, 9, 200}
    frame = atop.encode_frame(atop.DEVICE_STATUS, 0, data)
    assert len(frame) == 43


def test_round_trip_and_several_frames_in_one_read():
    frames = [
        Frame(0x60, atop.CONFIRM, 7, atop.digits_data(12)),
        Frame(0x60, atop.DEVICE_TIMEOUT, 250, b""),
        Frame(0x60, atop.DEVICE_STATUS, None, b""),
    ]
    decoder = FrameDecoder()
    assert decoder.feed(b"".join(f.encode() for f in frames)) == frames
    assert decoder.pending() == b""


def test_garbage_is_skipped_and_reported_once_per_run():
    good = atop.encode_frame(atop.CONFIRM, 2, atop.digits_data(5))
    decoder = FrameDecoder()
    out = decoder.feed(b"\xff\xfe\x13" + good + b"\x01\x02" + good)
    assert [type(x) for x in out] == [Malformed, Frame, Malformed, Frame]
    assert out[0].raw == b"\xff\xfe\x13" and out[2].raw == b"\x01\x02"
    assert decoder.garbage_bytes == 5


def test_wrong_type_byte_and_impossible_length_are_malformed_not_fatal():
    good = atop.encode_frame(atop.SHORTAGE, 4, atop.digits_data(3))
    wrong_type = atop.encode_frame(atop.MALFUNCTION, 4, msg_type=0x62)
    short_confirm = bytes([9, 0, 0x60, 0, 0, 0, atop.CONFIRM, 4, 0x31])
    decoder = FrameDecoder({0x60})
    out = decoder.feed(wrong_type + short_confirm + good)
    assert isinstance(out[0], Malformed) and out[0].raw == wrong_type
    assert isinstance(out[1], Malformed) and "never has 9 bytes" in out[1].reason
    assert out[2] == Frame(0x60, atop.SHORTAGE, 4, atop.digits_data(3))


_frames = st.builds(
    lambda sub, node, value: Frame(0x60, sub, node, atop.digits_data(value)),
    st.sampled_from([atop.CONFIRM, atop.SHORTAGE, atop.DISPLAY]),
    st.integers(1, 250),
    st.integers(0, 999_999),
) | st.builds(
    lambda sub, node: Frame(0x60, sub, node, b""),
    st.sampled_from([atop.DEVICE_TIMEOUT, atop.MALFUNCTION, atop.CLEAR]),
    st.integers(1, 250),
)
_garbage = st.lists(st.integers(atop.MAX_FRAME_LEN + 1, 255), min_size=1, max_size=6).map(bytes)
"""Bytes that can never start a frame (a LEN above the maximum)."""


@given(
    st.lists(st.tuples(st.one_of(st.none(), _garbage), _frames), min_size=1, max_size=8),
    st.lists(st.integers(1, 30), max_size=40),
)
def test_any_chunking_of_a_stream_decodes_to_the_same_items(items, cuts):
    stream = b"".join((garbage or b"") + frame.encode() for garbage, frame in items)
    whole = FrameDecoder().feed(stream)
    decoder, chunked, at = FrameDecoder(), [], 0
    for size in cuts:
        chunked += decoder.feed(stream[at : at + size])
        at += size
    chunked += decoder.feed(stream[at:])
    assert chunked == whole
    assert [x for x in whole if isinstance(x, Frame)] == [frame for _, frame in items]
