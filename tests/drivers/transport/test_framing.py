"""Framers: frames split over any number of reads reassemble; garbage is counted."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from drivers.transport import DelimitedFramer, FixedLengthFramer


def feed_all(framer, chunks: list[bytes]) -> list[bytes]:
    return [frame for chunk in chunks for frame in framer.feed(chunk)]


def test_lines_without_start_include_their_end():
    framer = DelimitedFramer(end=b"\r\n")
    assert framer.feed(b"S S 1.00 g\r\nS D 2.00 g\r\nS S") == [b"S S 1.00 g\r\n", b"S D 2.00 g\r\n"]
    assert framer.pending() == b"S S"
    assert framer.feed(b" 3.00 g\r") == []
    assert framer.feed(b"\n") == [b"S S 3.00 g\r\n"]
    assert framer.garbage_bytes == 0


def test_a_frame_split_byte_by_byte_reassembles():
    framer = DelimitedFramer(end=b"\r", start=b"\n")
    frame = b"\nZ1G       1.00kg \r"
    assert feed_all(framer, [bytes([b]) for b in frame]) == [frame]


def test_bytes_before_start_are_garbage():
    framer = DelimitedFramer(end=b"\r", start=b"\n")
    assert framer.feed(b"xyz\nAB\r!!\nCD\r") == [b"\nAB\r", b"\nCD\r"]
    assert framer.garbage_bytes == 5
    assert framer.garbage_chunks == 2
    assert framer.last_garbage == b"xyz!!"


def test_a_new_start_restarts_a_partial_frame():
    framer = DelimitedFramer(end=b"\r", start=b"\n")
    assert framer.feed(b"\nhalf\nwhole\r") == [b"\nwhole\r"]
    assert framer.garbage_bytes == len(b"\nhalf")
    assert framer.last_garbage == b"\nhalf"


def test_restart_can_be_turned_off_for_protocols_with_start_inside():
    framer = DelimitedFramer(end=b"\x03", start=b"\n", restart_on_start=False)
    frame = b"\n  1.00lb\r\n00\r\x03"
    assert framer.feed(b"junk" + frame) == [frame]
    assert framer.garbage_bytes == 4


def test_trailer_bytes_follow_the_end_even_if_they_look_like_start():
    framer = DelimitedFramer(end=b"\r", start=b"\x02", trailer=1)
    assert framer.feed(b"\x02abc\r") == []
    assert framer.pending() == b"\x02abc\r"
    assert framer.feed(b"\x02\x02def\r\x0d") == [b"\x02abc\r\x02", b"\x02def\r\x0d"]


def test_too_long_without_end_is_garbage():
    framer = DelimitedFramer(end=b"\r", start=b"\n", max_frame=8)
    assert framer.feed(b"\n123456789") == []
    assert framer.garbage_bytes == 10
    assert framer.feed(b"\nok\r") == [b"\nok\r"]


def test_too_long_without_start_is_garbage_and_framing_goes_on():
    framer = DelimitedFramer(end=b"\r\n", max_frame=6)
    assert framer.feed(b"1234567") == []
    assert framer.garbage_bytes == 7
    assert framer.feed(b"ok\r\n") == [b"ok\r\n"]


def test_multibyte_start_split_across_reads():
    framer = DelimitedFramer(end=b"]]", start=b"[[")
    assert feed_all(framer, [b"x[", b"[ab]", b"]"]) == [b"[[ab]]"]
    assert framer.garbage_bytes == 1


def test_reset_drops_the_partial_frame():
    framer = DelimitedFramer(end=b"\r\n")
    framer.feed(b"S S")
    framer.reset()
    assert framer.pending() == b""
    assert framer.feed(b"Z A\r\n") == [b"Z A\r\n"]


def test_bad_arguments():
    with pytest.raises(ValueError):
        DelimitedFramer(end=b"")
    with pytest.raises(ValueError):
        DelimitedFramer(end=b"\r", trailer=-1)
    with pytest.raises(ValueError):
        FixedLengthFramer(0)


def test_fixed_length_with_start_skips_garbage():
    framer = FixedLengthFramer(4, start=b"\x02")
    assert framer.feed(b"zz\x02ab") == []
    assert framer.pending() == b"\x02ab"
    assert framer.feed(b"c\x02\x02\x02\x02") == [b"\x02abc", b"\x02\x02\x02\x02"]
    assert framer.garbage_bytes == 2 and framer.garbage_chunks == 1


def test_fixed_length_without_start():
    framer = FixedLengthFramer(3)
    assert framer.feed(b"abcdefg") == [b"abc", b"def"]
    assert framer.pending() == b"g"


# Property: any chunking of a stream gives the same frames and the same garbage count.

_payload = st.binary(max_size=20).map(lambda b: b.replace(b"\n", b"").replace(b"\r", b""))
_garbage = st.binary(max_size=10).map(lambda b: b.replace(b"\n", b""))


@st.composite
def stream_and_cuts(draw):
    parts = draw(st.lists(st.tuples(_garbage, _payload), max_size=8))
    frames = [b"\n" + payload + b"\r" for _, payload in parts]
    stream = b"".join(g + f for (g, _), f in zip(parts, frames, strict=True))
    cuts = sorted(draw(st.lists(st.integers(0, len(stream)), max_size=10)))
    chunks = [stream[a:b] for a, b in zip([0, *cuts], [*cuts, len(stream)], strict=True)]
    return frames, stream, chunks, sum(len(g) for g, _ in parts)


@given(stream_and_cuts())
def test_any_chunking_gives_the_same_frames(case):
    frames, stream, chunks, garbage = case
    whole, pieces = DelimitedFramer(b"\r", b"\n"), DelimitedFramer(b"\r", b"\n")
    assert whole.feed(stream) == frames
    assert feed_all(pieces, chunks) == frames
    assert whole.garbage_bytes == pieces.garbage_bytes == garbage
    assert whole.garbage_chunks == pieces.garbage_chunks


@given(st.binary(max_size=200), st.lists(st.integers(0, 200), max_size=12))
def test_any_chunking_of_any_bytes_is_equivalent(stream, cuts):
    cuts = sorted(c for c in cuts if c <= len(stream))
    chunks = [stream[a:b] for a, b in zip([0, *cuts], [*cuts, len(stream)], strict=True)]
    for make in (
        lambda: DelimitedFramer(b"\r", b"\x02", trailer=1, max_frame=16),
        lambda: DelimitedFramer(b"\r\n", max_frame=16),
        lambda: FixedLengthFramer(5, b"\x02"),
    ):
        whole, pieces = make(), make()
        frames = whole.feed(stream)
        assert feed_all(pieces, chunks) == frames
        assert whole.garbage_bytes == pieces.garbage_bytes
        assert whole.pending() == pieces.pending()
        consumed = sum(map(len, frames)) + whole.garbage_bytes + len(whole.pending())
        assert consumed <= len(stream)


class _ByteByByte(DelimitedFramer):
    """The reference: the cut byte by byte, every byte through ``_in_frame_byte``."""

    def feed(self, data: bytes) -> list[bytes]:
        return super(DelimitedFramer, self).feed(data)

    def _quiet(self, data: bytes, i: int) -> int:
        return 0


class _FixedByteByByte(FixedLengthFramer):
    def _quiet(self, data: bytes, i: int) -> int:
        return 0


@given(
    st.lists(st.sampled_from([b"a", b"bc", b"\r", b"\n", b"\x02", b"\x03"]), max_size=150).map(
        b"".join
    ),
    st.lists(st.integers(0, 300), max_size=12),
    st.sampled_from([b"\x03", b"\r\n", b"\r\r", b"\x03\x02"]),
    st.sampled_from([b"\x02", b"\n\x02", b"\x02\x02"]),
    st.integers(0, 2),
    st.booleans(),
    st.integers(6, 24),
)
def test_buffering_quiet_runs_of_framed_frames_is_the_byte_by_byte_cut(
    stream, cuts, end, start, trailer, restart, max_frame
):
    cuts = sorted(c for c in cuts if c <= len(stream))
    chunks = [stream[a:b] for a, b in zip([0, *cuts], [*cuts, len(stream)], strict=True)]
    args = {"trailer": trailer, "max_frame": max_frame, "restart_on_start": restart}
    pairs = [
        (DelimitedFramer(end, start, **args), _ByteByByte(end, start, **args)),
        (FixedLengthFramer(max_frame, start), _FixedByteByByte(max_frame, start)),
    ]
    for fast, slow in pairs:
        assert feed_all(fast, chunks) == feed_all(slow, chunks)
        assert (fast.garbage_bytes, fast.garbage_chunks) == (
            slow.garbage_bytes,
            slow.garbage_chunks,
        )
        assert fast.last_garbage == slow.last_garbage
        assert fast.pending() == slow.pending()


@given(
    st.lists(st.sampled_from([b"a", b"bc", b"\r", b"\n"]), max_size=150).map(b"".join),
    st.lists(st.integers(0, 300), max_size=12),
    st.sampled_from([b"\r", b"\r\n", b"\r\r"]),
    st.integers(4, 24),
)
def test_the_fast_cut_of_end_only_frames_is_the_byte_by_byte_cut(stream, cuts, end, max_frame):
    cuts = sorted(c for c in cuts if c <= len(stream))
    chunks = [stream[a:b] for a, b in zip([0, *cuts], [*cuts, len(stream)], strict=True)]
    fast, slow = DelimitedFramer(end, max_frame=max_frame), _ByteByByte(end, max_frame=max_frame)
    assert feed_all(fast, chunks) == feed_all(slow, chunks)
    assert (fast.garbage_bytes, fast.garbage_chunks) == (slow.garbage_bytes, slow.garbage_chunks)
    assert fast.last_garbage == slow.last_garbage
    assert fast.pending() == slow.pending()


@pytest.mark.parametrize("restart", [True, False])
def test_a_frame_too_long_is_dropped_on_the_byte_that_makes_it_too_long(restart):
    for make in (DelimitedFramer, _ByteByByte):
        framer = make(b"\x03", b"\x02", max_frame=6, restart_on_start=restart)
        assert framer.feed(b"\x02abcdef") == []
        assert (framer.pending(), framer.garbage_bytes) == (b"", 7)
        assert framer.feed(b"\x02xy\x03") == [b"\x02xy\x03"]
