"""The buffer under a telegram splitter: bytes held for a partial telegram, garbage counted."""

from __future__ import annotations


class StreamBuffer:
    """Bytes received and not yet cut into telegrams; skipped bytes are counted.

    A splitter (the framer protocol of :mod:`drivers.transport.link`) subclasses it and
    implements ``feed``; ``reset`` and ``pending`` are the protocol's other two methods.
    """

    def __init__(self, max_length: int):
        self.max_length = max_length
        self.garbage_bytes = 0
        self._buf = bytearray()

    def reset(self) -> None:
        """Drop a partial telegram (the garbage count is kept)."""
        self._buf.clear()

    def pending(self) -> bytes:
        """The partial telegram received so far."""
        return bytes(self._buf)

    def _skip(self, n: int) -> None:
        """Drop ``n`` bytes from the front as garbage."""
        self.garbage_bytes += n
        del self._buf[:n]
