"""A SICK CLV/Lector reader over TCP (STX…ETX); wire format in :mod:`plc_configs.readers`.

``sMN mTCgateon`` opens the reading gate (ack ``sAN mTCgateon 1``); ``sMN mTCgateoff``
closes it (ack ``sAN mTCgateoff 1``) and the reader then sends the result telegram
``<status>;<count>;<symbol>…`` for the parcel in the field. :attr:`fault` set to a read
status (1, 3, 5) makes every result carry it; any other command gets ``sFA 1``.
"""

from __future__ import annotations

import asyncio

from plc_configs.readers import (
    ETX,
    SICK_ACK,
    SICK_GATE_OFF,
    SICK_GATE_ON,
    STX,
    SickStatus,
    sick_frame,
    sick_result,
)
from simulators.readers.base import TcpReaderServer, garbled_text, outcome_of


class SickReaderSimulator(TcpReaderServer):
    """One simulated CLV/Lector reader."""

    preset = "sick"
    terminator = ETX.encode()

    def handle_frame(self, frame: bytes, writer: asyncio.StreamWriter) -> None:
        """Answer the gate commands; the result follows the gate-off ack."""
        text = frame.decode("latin-1")
        start = text.rfind(STX)
        body = text[start + 1 : -1] if start >= 0 else ""
        if body == SICK_GATE_ON:
            self.send(writer, sick_frame(SICK_ACK.format(command="mTCgateon", ok=1)))
            return
        if body != SICK_GATE_OFF:
            self.invalid_commands += 1
            self.send(writer, sick_frame("sFA 1"))
            return
        self.triggers += 1
        self.send(writer, sick_frame(SICK_ACK.format(command="mTCgateoff", ok=1)))
        parcel = self.lookup()
        outcome = outcome_of(parcel)
        if self.fault is not None:
            result = sick_result(self.fault, [], self.separator)
        elif outcome.garbled:
            result = garbled_text(parcel)
        elif not outcome.symbols:
            result = sick_result(SickStatus.NO_READ, [], self.separator)
        else:
            result = sick_result(SickStatus.GOOD, outcome.symbols, self.separator)
        self.send(writer, sick_frame(result), self.delay_of(outcome))
