"""A Datalogic DS8110 reader over TCP (STX … CR LF); wire format in :mod:`plc_configs.readers`.

Any frame ending in LF whose text (control characters stripped) is the trigger string's
(default ``STX T CR LF``: ``T``) starts one read; the reader answers
``STX <symbols> CR LF``, the global no-read ``STX ??????? CR LF``, or, for two different
labels when the device has a ``multiple_read`` string, that string alone. Other frames
are ignored (a DS8110 has no error reply) and counted in :attr:`invalid_commands`.
"""

from __future__ import annotations

import asyncio

from plc_configs.readers import DATALOGIC_TRIGGER, datalogic_frame
from plc_configs.schema import BarcodeReaderDevice
from simulators.parcels import ParcelSpec
from simulators.readers.base import TcpReaderServer, garbled_text, outcome_of


def _printable(text: str) -> str:
    return "".join(c for c in text if " " <= c <= "~")


class DatalogicReaderSimulator(TcpReaderServer):
    """One simulated DS8110 reader."""

    preset = "datalogic"

    def __init__(self, name: str, device: BarcodeReaderDevice, *args: object, **kw: object) -> None:
        super().__init__(name, device, *args, **kw)  # type: ignore[arg-type]
        self.trigger = _printable(DATALOGIC_TRIGGER)
        self.multiple_read = device.multiple_read

    def payload(self, parcel: ParcelSpec | None) -> tuple[str, float]:
        """The frame text for ``parcel`` and its delay."""
        outcome = outcome_of(parcel)
        if outcome.garbled:
            return garbled_text(parcel), 0.0
        if not outcome.symbols:
            return self.no_read, 0.0
        if outcome.multiple and self.multiple_read:
            return self.multiple_read, 0.0
        return self.separator.join(outcome.symbols), self.delay_of(outcome)

    def handle_frame(self, frame: bytes, writer: asyncio.StreamWriter) -> None:
        """Answer the trigger string."""
        if _printable(frame.decode("latin-1")) != self.trigger:
            self.invalid_commands += 1
            return
        self.triggers += 1
        text, delay = self.payload(self.lookup())
        self.send(writer, datalogic_frame(text), delay)
