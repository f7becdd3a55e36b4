"""Cut a byte stream into frames, whatever chunks it arrives in.

Serial ports and TCP sockets deliver bytes in arbitrary pieces: one frame may
arrive in five reads, or three frames in one. A framer is fed every piece and
returns each frame once it is complete, exactly as received (start, end and
trailer bytes included), so that the parser and the ``raw`` text see what the
device sent.

Bytes that cannot belong to a frame (before a start byte, or a run longer than
``max_frame`` without an end) are *garbage*: skipped, counted in
:attr:`garbage_bytes` and :attr:`garbage_chunks` (one per contiguous run), the
most recent up to 64 of them kept in :attr:`last_garbage` for diagnostics.
"""

from __future__ import annotations

GARBAGE_KEPT = 64


class _Framer:
    """What both framers share: the buffer, hunting for ``start``, counting garbage."""

    def __init__(self, start: bytes) -> None:
        self.garbage_bytes = 0
        self.garbage_chunks = 0
        self.last_garbage = b""
        self._skipping = False
        self.start = bytes(start)
        self._buf = bytearray()
        self._in_frame = not self.start

    def reset(self) -> None:
        """Drop a partial frame (garbage counters are kept)."""
        self._buf.clear()
        self._in_frame = not self.start

    def pending(self) -> bytes:
        """The partial frame received so far (empty between frames)."""
        return bytes(self._buf) if self._in_frame else b""

    def feed(self, data: bytes) -> list[bytes]:
        """Every frame that ``data`` completes, in order.

        The cut is byte by byte, but a run of bytes inside a frame that cannot end it,
        restart it or make it too long (:meth:`_quiet`) is buffered at once."""
        frames: list[bytes] = []
        buf, i, n = self._buf, 0, len(data)
        while i < n:
            if self._in_frame:
                quiet = self._quiet(data, i)
                if quiet:
                    buf += data[i : i + quiet]
                    i += quiet
                    continue
            buf.append(data[i])
            i += 1
            if not self._in_frame:
                self._hunt()
                if not self._in_frame:
                    continue
            frame = self._in_frame_byte()
            if frame is not None:
                frames.append(frame)
        return frames

    def _quiet(self, data: bytes, i: int) -> int:
        """How many bytes of ``data`` from ``i`` on change nothing but the buffer (0: the
        next byte must go through :meth:`_in_frame_byte`)."""
        return 0

    def _in_frame_byte(self) -> bytes | None:
        """The byte just buffered belongs to a frame: the frame if it is now complete."""
        raise NotImplementedError

    def _hunt(self) -> None:
        """Looking for ``start``: keep only what could still be its beginning."""
        n = len(self.start)
        if self._buf.endswith(self.start):
            self._skip(self._buf[:-n])
            del self._buf[:-n]
            self._in_frame = True
            self._frame_started()
        elif len(self._buf) >= n:
            cut = len(self._buf) - (n - 1)
            self._skip(self._buf[:cut])
            del self._buf[:cut]

    def _complete(self) -> bytes:
        frame = bytes(self._buf)
        self.reset()
        self._frame_started()
        return frame

    def _skip(self, data: bytes | bytearray) -> None:
        if not data:
            return
        if not self._skipping:
            self.garbage_chunks += 1
            self._skipping = True
        self.garbage_bytes += len(data)
        self.last_garbage = (self.last_garbage + bytes(data))[-GARBAGE_KEPT:]

    def _frame_started(self) -> None:
        self._skipping = False


class DelimitedFramer(_Framer):
    """Frames that end with ``end`` (then ``trailer`` more bytes, e.g. a checksum).

    With ``start`` set, a frame begins with ``start``; bytes before it are garbage,
    and a new ``start`` inside a partial frame restarts the frame (the partial part
    is garbage) unless ``restart_on_start`` is false: protocols such as NCI use the
    start byte inside their frames too. Without ``start`` a frame is everything
    after the previous frame up to and including ``end``.
    """

    def __init__(
        self,
        end: bytes,
        start: bytes = b"",
        trailer: int = 0,
        max_frame: int = 4096,
        *,
        restart_on_start: bool = True,
    ):
        if not end:
            raise ValueError("end must be at least one byte")
        if trailer < 0:
            raise ValueError(f"trailer must be >= 0, got {trailer}")
        if max_frame < len(start) + len(end) + trailer:
            raise ValueError(f"max_frame {max_frame} is shorter than start + end + trailer")
        super().__init__(start)
        self.end = bytes(end)
        self.trailer = trailer
        self.max_frame = max_frame
        self.restart_on_start = restart_on_start
        self._trailer_left: int | None = None

    def reset(self) -> None:
        """Drop a partial frame (garbage counters are kept)."""
        super().reset()
        self._trailer_left = None

    def feed(self, data: bytes) -> list[bytes]:
        """Every frame that ``data`` completes, in order.

        Frames with neither a start nor a trailer (line-framed readers, scales) are cut with
        ``bytearray.find``, not byte by byte: the same frames and garbage (a property test
        holds it to the byte-by-byte cut), at a fraction of the CPU."""
        if self.start or self.trailer:
            return super().feed(data)
        frames: list[bytes] = []
        buf, end = self._buf, self.end
        longest = self.max_frame + 1  # byte by byte, a frame may end on this byte
        search_from = max(0, len(buf) - len(end) + 1)
        buf += data
        while True:
            i = buf.find(end, search_from)
            if i >= 0 and i + len(end) <= longest:
                frames.append(bytes(buf[: i + len(end)]))
                del buf[: i + len(end)]
                self._frame_started()
            elif len(buf) >= longest:  # no end by then: those bytes are garbage
                self._skip(buf[:longest])
                del buf[:longest]
            else:
                return frames
            search_from = 0

    def _quiet(self, data: bytes, i: int) -> int:
        if self._trailer_left is not None:
            return 0
        buf = self._buf
        limit = min(len(data) - i, self.max_frame - len(buf))  # then too long: byte by byte
        if limit <= 0:
            return 0
        patterns = (self.end, self.start) if self.start and self.restart_on_start else (self.end,)
        keep = max(map(len, patterns)) - 1  # an end or start may begin in the buffer
        tail = bytes(buf[-keep:]) if keep else b""
        window = tail + bytes(data[i : i + limit])
        quiet = limit
        for pattern in patterns:
            found = window.find(pattern, max(0, len(tail) - len(pattern) + 1))
            if found >= 0:  # the byte that completes it goes byte by byte
                quiet = min(quiet, found + len(pattern) - 1 - len(tail))
        return quiet

    def _in_frame_byte(self) -> bytes | None:
        if self._trailer_left is not None:
            self._trailer_left -= 1
            return self._complete() if self._trailer_left == 0 else None
        if len(self._buf) >= len(self.start) + len(self.end) and self._buf.endswith(self.end):
            if self.trailer:
                self._trailer_left = self.trailer
                return None
            return self._complete()
        if (
            self.start
            and self.restart_on_start
            and len(self._buf) > len(self.start)
            and self._buf.endswith(self.start)
        ):
            self._skip(self._buf[: -len(self.start)])
            del self._buf[: -len(self.start)]
            self._frame_started()
            return None
        if len(self._buf) > self.max_frame:
            self._skip(self._buf)
            self.reset()
        return None


class FixedLengthFramer(_Framer):
    """Frames of exactly ``length`` bytes, optionally beginning with ``start``."""

    def __init__(self, length: int, start: bytes = b""):
        if length < max(1, len(start)):
            raise ValueError(f"length {length} must be >= 1 and hold the start bytes")
        super().__init__(start)
        self.length = length

    def _quiet(self, data: bytes, i: int) -> int:
        return max(0, min(len(data) - i, self.length - len(self._buf) - 1))

    def _in_frame_byte(self) -> bytes | None:
        return self._complete() if len(self._buf) == self.length else None
