"""A Cognex DataMan reader over TCP (DMCC, line framed, CR LF) in either response mode;
wire format in :mod:`plc_configs.readers`.

Host -> reader: ``||>TRIGGER ON`` or ``||:<id>>TRIGGER ON`` (``id`` decimal, 1..65535; an
optional checksum field before the colon is accepted and not checked) and
``||>TRIGGER OFF``. The response mode is the device config's ``response`` (``SET
COM.DMCC-RESPONSE`` on a real reader), silent by default like a DataMan from the factory:

* **silent** (0): ``TRIGGER ON``, with or without an id, is answered with the read
  string alone: the read symbols (AIM id + data, ``]C0LS0000012345``) joined by the
  device's separator, or the device's no-read string; no header, no status. Nothing
  else is ever answered: other commands are ignored (counted in ``invalid_commands``),
  ``TRIGGER OFF`` is taken without a word (it does not cut a read short here: a late
  read string still comes late), a trigger while a read is still running (its late read
  string not sent yet) is refused without a word (``refused_triggers``), and with
  :attr:`ReaderSimulator.fault` set every trigger is refused without a word.
* **extended** (1): one line per trigger, ``||:<id>[0]<payload>``; ``TRIGGER OFF`` gets
  ``||:<id>[0]``; any other command gets ``||:<id>[101]`` (invalid command). A command
  without an id gets a header without one, ``||[0]<payload>`` (as in the DMCC
  reference's examples); a line that is no DMCC command is ignored. Several triggers
  may be in flight (a late one does not hold back the next). With
  :attr:`ReaderSimulator.fault` set, every trigger is answered ``||:<id>[<fault>]``
  instead.

The parcel read is the one whose front passed the scan eye most recently, if its rear
is still in the scan field (the ``lookup`` callable answers that); its pre-drawn outcome
then applies (no read, multi label, duplicate read, late answer — the read string comes
``late_answer_ms`` late, after its trigger gave up —, garbled line).
"""

from __future__ import annotations

import asyncio
import logging
import re
from dataclasses import dataclass

from plc_configs.readers import COGNEX_ANY_COMMAND_PATTERN, COGNEX_COMMAND_PATTERN, PRESETS
from plc_configs.schema import BarcodeReaderDevice
from simulators.parcels import ParcelSpec
from simulators.readers.base import AIM_CODE128, TcpReaderServer, garbled_text, outcome_of

log = logging.getLogger(__name__)

__all__ = [
    "AIM_CODE128",
    "ReaderSimulator",
    "Reply",
    "header",
    "parse_any_command",
    "parse_command",
    "read_string",
    "trigger_reply",
]

_COMMAND = re.compile(COGNEX_COMMAND_PATTERN)
_ANY_COMMAND = re.compile(COGNEX_ANY_COMMAND_PATTERN)


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


def parse_any_command(line: str) -> tuple[int | None, str] | None:
    """(id or None, command) of a DMCC command line with or without an id; None when the
    line is not a DMCC command (no ``||…>`` header)."""
    match = _ANY_COMMAND.match(line.strip())
    if match is None:
        return None
    command_id = int(match.group(1)) if match.group(1) is not None else None
    return command_id, match.group(2).strip()


def read_string(
    parcel: ParcelSpec | None, device: BarcodeReaderDevice, late_answer_ms: float
) -> Reply:
    """The formatted read string for the parcel in the field (or none), no header."""
    outcome = outcome_of(parcel)
    if outcome.garbled:
        return Reply(garbled_text(parcel))
    if not outcome.symbols:
        return Reply(device.no_read or PRESETS["cognex"].no_read)
    payload = (device.separator or PRESETS["cognex"].separator).join(outcome.symbols)
    return Reply(payload, late_answer_ms / 1000 if outcome.late else 0.0)


def header(command_id: int | None, status: int) -> str:
    """An extended-mode response header: ``||:<id>[<status>]``, ``||[<status>]`` without id."""
    return f"||:{command_id}[{status}]" if command_id is not None else f"||[{status}]"


def trigger_reply(
    command_id: int | None,
    parcel: ParcelSpec | None,
    device: BarcodeReaderDevice,
    late_answer_ms: float,
) -> Reply:
    """The extended-mode answer to one trigger, given the parcel in the field (or none)."""
    outcome = outcome_of(parcel)
    if outcome.garbled:
        return Reply(f"#~{command_id or ''}" + garbled_text(parcel)[2:])
    reply = read_string(parcel, device, late_answer_ms)
    return Reply(header(command_id, 0) + reply.line, reply.delay_s)


class ReaderSimulator(TcpReaderServer):
    """One simulated DMCC reader listening on TCP, in the device's response mode."""

    preset = "cognex"
    refused_triggers = 0
    """Silent: triggers refused without a word (a read still running, or :attr:`fault`)."""
    trigger_offs = 0
    """``TRIGGER OFF`` commands received."""

    @property
    def response(self) -> str:
        """The DMCC response mode: the device config's ``response``."""
        return self.device.response

    @property
    def in_order(self) -> bool:  # type: ignore[override]
        """Silent: read strings leave in trigger order (nothing else tells them apart);
        extended: by command id, a late one does not hold back the next."""
        return self.response == "silent"

    def handle_frame(self, frame: bytes, writer: asyncio.StreamWriter) -> None:
        """Answer one DMCC command line in the configured response mode."""
        line = frame.decode("ascii", "replace")
        if self.response == "silent":
            self._silent(line, writer)
        else:
            self._extended(line, writer)

    def _reading(self, writer: asyncio.StreamWriter) -> bool:
        """A read string for this connection is still to be sent (a late answer)."""
        last = self._last.get(writer)
        return last is not None and not last.done()

    def _silent(self, line: str, writer: asyncio.StreamWriter) -> None:
        parsed = parse_any_command(line)
        command = parsed[1].upper() if parsed is not None else ""
        if command == "TRIGGER OFF":
            self.trigger_offs += 1
            return
        if command != "TRIGGER ON":
            self.invalid_commands += 1
            log.debug("reader %s: ignored line %r (silent)", self.name, line)
            return
        self.triggers += 1
        if self.fault is not None or self._reading(writer):
            self.refused_triggers += 1
            return
        reply = read_string(self.lookup(), self.device, self.late_answer_ms)
        self._line(writer, reply.line, reply.delay_s)

    def _extended(self, line: str, writer: asyncio.StreamWriter) -> None:
        parsed = parse_any_command(line)
        if parsed is None:
            log.debug("reader %s: ignored line %r", self.name, line)
            return
        command_id, command = parsed
        if command_id is not None and not 1 <= command_id <= 0xFFFF:
            self.invalid_commands += 1
            self._line(writer, header(command_id, 101))
            return
        if command.upper() == "TRIGGER OFF":
            self.trigger_offs += 1
            self._line(writer, header(command_id, 0))
            return
        if command.upper() != "TRIGGER ON":
            self.invalid_commands += 1
            self._line(writer, header(command_id, 101))
            return
        self.triggers += 1
        if self.fault is not None:
            self._line(writer, header(command_id, self.fault))
            return
        reply = trigger_reply(command_id, self.lookup(), self.device, self.late_answer_ms)
        self._line(writer, reply.line, reply.delay_s)

    def _line(self, writer: asyncio.StreamWriter, line: str, delay_s: float = 0.0) -> None:
        self.send(writer, line.encode("latin-1", "replace") + b"\r\n", delay_s)
