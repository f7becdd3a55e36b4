"""A Keyence SR reader over TCP (CR framing); wire format in :mod:`plc_configs.readers`.

``LON`` → ``OK,LON`` then the data line (symbols joined by the separator) or the
no-read string (``ERROR``); the reader stops by itself after answering. ``LOFF`` →
``OK,LOFF``. :attr:`fault` set to an error code makes ``LON`` answer ``ER,LON,<code>``;
any other command gets ``ER,<command>,00``.
"""

from __future__ import annotations

import asyncio

from plc_configs.readers import CR, KEYENCE_ERROR, KEYENCE_OK, KEYENCE_STOP, KEYENCE_TRIGGER
from simulators.readers.base import TcpReaderServer, garbled_text, outcome_of


class KeyenceReaderSimulator(TcpReaderServer):
    """One simulated SR reader."""

    preset = "keyence"
    terminator = CR.encode()

    def _line(self, writer: asyncio.StreamWriter, line: str, delay_s: float = 0.0) -> None:
        self.send(writer, (line + CR).encode("latin-1"), delay_s)

    def handle_frame(self, frame: bytes, writer: asyncio.StreamWriter) -> None:
        """Answer ``LON`` / ``LOFF``."""
        command = frame.decode("latin-1").strip()
        if command == KEYENCE_STOP:
            self._line(writer, KEYENCE_OK.format(command=command))
            return
        if command != KEYENCE_TRIGGER:
            self.invalid_commands += 1
            self._line(writer, KEYENCE_ERROR.format(command=command[:8], code="00"))
            return
        self.triggers += 1
        if self.fault is not None:
            self._line(writer, KEYENCE_ERROR.format(command=command, code=f"{self.fault:02d}"))
            return
        self._line(writer, KEYENCE_OK.format(command=command))
        parcel = self.lookup()
        outcome = outcome_of(parcel)
        if outcome.garbled:
            data = garbled_text(parcel)
        elif not outcome.symbols:
            data = self.no_read
        else:
            data = self.separator.join(outcome.symbols)
        self._line(writer, data, self.delay_of(outcome))
