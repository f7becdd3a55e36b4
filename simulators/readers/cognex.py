"""A Cognex DataMan reader over TCP (DMCC, line framed, CR LF); wire format in
:mod:`plc_configs.readers`.

Host -> reader: ``||:<id>>TRIGGER ON`` (``id`` decimal, 1..65535; an optional checksum
field before the colon is accepted and not checked). Any other line with a parsable id
gets ``||:<id>[101]`` (invalid command); a line without one is ignored.

Reader -> host, one line per trigger: ``||:<id>[0]<payload>``; the payload is the read
symbols (AIM id + data, ``]C0LS0000012345``) joined by the device's separator, or the
device's no-read string. With :attr:`ReaderSimulator.fault` set, every trigger is
answered ``||:<id>[<fault>]`` instead. The parcel read is the one whose front passed
the scan eye most recently, if its rear is still in the scan field (the ``lookup``
callable answers that); its pre-drawn outcome then applies (no read, multi label,
duplicate read, late answer, garbled line).
"""

from __future__ import annotations

import asyncio
import logging
import re
from dataclasses import dataclass

from plc_configs.readers import COGNEX_COMMAND_PATTERN, PRESETS
from plc_configs.schema import BarcodeReaderDevice
from simulators.parcels import ParcelSpec
from simulators.readers.base import AIM_CODE128, TcpReaderServer, garbled_text, outcome_of

log = logging.getLogger(__name__)

__all__ = ["AIM_CODE128", "ReaderSimulator", "Reply", "parse_command", "trigger_reply"]

_COMMAND = re.compile(COGNEX_COMMAND_PATTERN)


@dataclass(frozen=True)
class Reply:
    """A line to send (without CR LF) and how long to wait before sending it."""

    line: str
    delay_s: float = 0.0


def parse_command(line: str) -> tuple[int, str] | None:
    """(id, command) of a DMCC command line, or None when no id can be parsed."""
    match = _COMMAND.match(line.strip())
    if match is None:
        return None
    return int(match.group(1)), match.group(2).strip()


def trigger_reply(
    command_id: int, parcel: ParcelSpec | None, device: BarcodeReaderDevice, late_answer_ms: float
) -> Reply:
    """The reader's answer to one trigger, given the parcel in the field (or none)."""
    head = f"||:{command_id}[0]"
    outcome = outcome_of(parcel)
    if outcome.garbled:
        return Reply(f"#~{command_id}" + garbled_text(parcel)[2:])
    if not outcome.symbols:
        return Reply(head + (device.no_read or PRESETS["cognex"].no_read))
    payload = (device.separator or PRESETS["cognex"].separator).join(outcome.symbols)
    return Reply(head + payload, late_answer_ms / 1000 if outcome.late else 0.0)


class ReaderSimulator(TcpReaderServer):
    """One simulated DMCC reader listening on TCP."""

    preset = "cognex"
    in_order = False

    def handle_frame(self, frame: bytes, writer: asyncio.StreamWriter) -> None:
        """Answer ``||:<id>>TRIGGER ON``; other commands with an id get status 101."""
        line = frame.decode("ascii", "replace")
        parsed = parse_command(line)
        if parsed is None:
            log.debug("reader %s: ignored line %r", self.name, line)
            return
        command_id, command = parsed
        if command.upper() != "TRIGGER ON" or not 1 <= command_id <= 0xFFFF:
            self.invalid_commands += 1
            self.send(writer, f"||:{command_id}[101]\r\n".encode())
            return
        self.triggers += 1
        if self.fault is not None:
            self.send(writer, f"||:{command_id}[{self.fault}]\r\n".encode())
            return
        reply = trigger_reply(command_id, self.lookup(), self.device, self.late_answer_ms)
        self.send(writer, reply.line.encode("latin-1", "replace") + b"\r\n", reply.delay_s)
