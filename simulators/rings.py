"""A PLC-written ring of register entries with an overflow FIFO (never drops).

The PLC owns the write index, the host the read index. The ring is full when
``(write + 1) % size == read``; entries that do not fit wait in a FIFO and are
flushed as the host advances its read index.
"""

from __future__ import annotations

from collections import deque

from plc_configs.register_map import RingLayout


class RegisterRing:
    """One ring (scan or confirmation) written into a live register list."""

    def __init__(self, registers: list[int], layout: RingLayout, write_index_address: int):
        self.registers = registers
        self.layout = layout
        self.write_index_address = write_index_address
        self.write_index = 0
        self.read_index = 0
        self.waiting: deque[list[int]] = deque()
        self.written = 0
        """Entries written into the ring so far."""
        self.overflowed = 0
        """Entries that had to wait because the ring was full."""
        registers[write_index_address] = 0

    @property
    def full(self) -> bool:
        """No free slot: the next write would reach the host's read index."""
        return (self.write_index + 1) % self.layout.size == self.read_index

    def push(self, words: list[int]) -> None:
        """Append an entry (padded with zeros to the entry size); keep it if the ring is full."""
        if len(words) > self.layout.entry_words:
            size = self.layout.entry_words
            raise ValueError(f"entry of {len(words)} words; the ring holds {size}")
        entry = list(words) + [0] * (self.layout.entry_words - len(words))
        if self.waiting or self.full:
            self.overflowed += 1
            self.waiting.append(entry)
            return
        self._write(entry)

    def _write(self, entry: list[int]) -> None:
        address = self.layout.entry_address(self.write_index)
        self.registers[address : address + len(entry)] = entry
        self.write_index = (self.write_index + 1) % self.layout.size
        self.registers[self.write_index_address] = self.write_index
        self.written += 1

    def set_read_index(self, index: int) -> bool:
        """The host acknowledged up to ``index``; False (ignored) if out of range."""
        if not 0 <= index < self.layout.size:
            return False
        self.read_index = index
        self.flush()
        return True

    def flush(self) -> None:
        """Move waiting entries into the ring while there is room."""
        while self.waiting and not self.full:
            self._write(self.waiting.popleft())

    @property
    def backlog(self) -> int:
        """Entries waiting outside the ring."""
        return len(self.waiting)
