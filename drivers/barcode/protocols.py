"""Parsers of the TCP reader presets: one frame in, one :class:`Message` (or None) out.

The wire formats are documented once in :mod:`plc_configs.readers`. A parser never
raises: a frame that does not follow the preset is ``None`` (the driver skips and counts
it); a well-framed reply the driver cannot accept carries ``error``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

from drivers.barcode.base import BarcodeRead
from drivers.errors import DeviceFault, DriverError, ProtocolError
from plc_configs.readers import (
    COGNEX_HEADER,
    COGNEX_REPLY_PATTERN,
    COGNEX_RESPONSE_MODES,
    COGNEX_SILENT_TRIGGER,
    COGNEX_STATUS_TEXT,
    COGNEX_SUFFIX_PATTERN,
    COGNEX_TRIGGER,
    COGNEX_TRIGGER_OFF,
    CR,
    DATALOGIC_TRIGGER,
    ETX,
    KEYENCE_STOP,
    KEYENCE_TRIGGER,
    LF,
    PRESETS,
    SICK_ERROR_PREFIX,
    SICK_GATE_OFF,
    SICK_GATE_ON,
    SICK_STATUS_TEXT,
    STX,
    SickStatus,
    sick_frame,
    well_formed_text,
)

_REPLY = re.compile(COGNEX_REPLY_PATTERN, re.DOTALL)
_SUFFIX = re.compile(COGNEX_SUFFIX_PATTERN, re.DOTALL)
_AIM = re.compile(r"^\][A-Za-z][0-9A-Za-z]")


class Kind(Enum):
    """What a reader message is."""

    ACK = "ack"
    RESULT = "result"
    FAULT = "fault"


@dataclass(frozen=True, slots=True)
class Message:
    """One parsed frame. ``error`` (class, text) makes the trigger it answers raise."""

    kind: Kind
    raw: str
    cmd_id: int | None = None
    command: str = ""
    symbols: tuple[BarcodeRead, ...] = ()
    multiple: bool = False
    error: tuple[type[DriverError], str] | None = None


def parse_symbol(part: str, suffix: bool = False) -> BarcodeRead:
    """``[<aim>]<data>`` (with ``@x:y``/``#grade`` when ``suffix``) as a BarcodeRead."""
    aim = ""
    if _AIM.match(part):
        aim, part = part[:3], part[3:]
    position: tuple[int, int] | None = None
    grade: str | None = None
    if suffix:
        match = _SUFFIX.match(part)
        if match is not None:
            part, x, y, grade = match.group(1), match.group(2), match.group(3), match.group(4)
            position = (int(x), int(y)) if x is not None else None
    return BarcodeRead(data=part, symbology=aim, position=position, grade=grade)


def parse_symbols(
    payload: str, no_read: str, separator: str, suffix: bool = False
) -> tuple[BarcodeRead, ...]:
    """Split a payload into symbols; the no-read string or an empty payload gives none."""
    if payload == no_read or payload == "":
        return ()
    return tuple(parse_symbol(part, suffix) for part in payload.split(separator))


def _result(raw: str, symbols: tuple[BarcodeRead, ...], **kw: object) -> Message:
    if any(not s.data for s in symbols):
        return Message(
            Kind.RESULT, raw, error=(ProtocolError, f"empty symbol in reply {raw!r}"), **kw
        )  # type: ignore[arg-type]
    return Message(Kind.RESULT, raw, symbols=symbols, **kw)  # type: ignore[arg-type]


class ReaderProtocol:
    """A preset: how to trigger, how frames end, how to parse them."""

    preset = ""
    terminator = b"\n"
    has_ids = False
    acks: tuple[str, ...] = ()
    """Commands the reader acknowledges, in order, before a trigger's result may come."""

    def __init__(
        self,
        no_read: str | None = None,
        separator: str | None = None,
        multiple_read: str | None = None,
    ):
        defaults = PRESETS[self.preset]
        self.no_read = no_read or defaults.no_read
        self.separator = separator or defaults.separator
        self.multiple_read = multiple_read or defaults.multiple_read

    def trigger_frames(self, cmd_id: int) -> list[bytes]:
        """What to send for one trigger (several frames: sent in order)."""
        raise NotImplementedError

    def stop_frame(self) -> bytes | None:
        """What to send when a trigger timed out (None: nothing)."""
        return None

    def parse(self, frame: bytes) -> Message | None:
        """One frame (terminator included) as a message; None when malformed."""
        raise NotImplementedError

    def hint(self, frame: str) -> str:
        """Why a frame :meth:`parse` refused may have come (a misconfiguration), or ``""``."""
        return ""


class CognexProtocol(ReaderProtocol):
    """DataMan DMCC, response mode extended: command ids bind replies to triggers."""

    preset = "cognex"
    response = "extended"
    has_ids = True

    def trigger_frames(self, cmd_id: int) -> list[bytes]:
        """``||:<id>>TRIGGER ON``."""
        return [COGNEX_TRIGGER.format(id=cmd_id).encode("ascii")]

    def hint(self, frame: str) -> str:
        """A well-formed line without a DMCC header: the reader is at its factory default."""
        line = frame.rstrip("\r\n")
        if line and not line.startswith(COGNEX_HEADER) and well_formed_text(line):
            return (
                "no DMCC response header: the reader looks set to COM.DMCC-RESPONSE 0 "
                "(silent, its factory default); configure response: silent"
            )
        return ""

    def parse(self, frame: bytes) -> Message | None:
        """``||:<id>[<status>]<payload>``."""
        line = frame.decode("latin-1").rstrip("\r\n")
        match = _REPLY.match(line)
        if match is None or not well_formed_text(match.group(3)):
            return None
        cmd_id, status = int(match.group(1)), int(match.group(2))
        if status != 0:
            text = f"trigger {cmd_id} answered status {status} "
            text += f"({COGNEX_STATUS_TEXT.get(status, 'unknown')})"
            return Message(Kind.FAULT, line, cmd_id=cmd_id, error=(DeviceFault, text))
        symbols = parse_symbols(match.group(3), self.no_read, self.separator, suffix=True)
        return _result(line, symbols, cmd_id=cmd_id)


class CognexSilentProtocol(CognexProtocol):
    """DataMan DMCC, response mode silent (the factory default): the read string alone.

    No header, no command id, no status: replies are bound in order, one trigger at a
    time (see :mod:`drivers.barcode.tcp_reader`); a refused or invalid command gets no
    answer at all, so a device error shows as a timeout.
    """

    response = "silent"
    has_ids = False

    def trigger_frames(self, cmd_id: int) -> list[bytes]:
        """``||>TRIGGER ON`` (an id would not come back)."""
        return [COGNEX_SILENT_TRIGGER.encode("ascii")]

    def stop_frame(self) -> bytes | None:
        """``||>TRIGGER OFF``: the read timed out, end it before the next parcel."""
        return COGNEX_TRIGGER_OFF.encode("ascii")

    def hint(self, frame: str) -> str:
        """A DMCC header: the reader is set to extended responses."""
        if frame.startswith(COGNEX_HEADER):
            return (
                "a DMCC response header: the reader looks set to COM.DMCC-RESPONSE 1 "
                "(extended); configure response: extended"
            )
        return ""

    def parse(self, frame: bytes) -> Message | None:
        """``<payload>`` (symbols or the no-read string); a line with a header is not one."""
        line = frame.decode("latin-1").rstrip("\r\n")
        if not line or line.startswith(COGNEX_HEADER) or not well_formed_text(line):
            return None
        return _result(line, parse_symbols(line, self.no_read, self.separator, suffix=True))


class CognexPushProtocol(CognexProtocol):
    """DataMan pushing results to our listener: the payload alone, one line per read."""

    has_ids = False

    def hint(self, frame: str) -> str:
        """Nothing to suggest: a pushed line is the payload alone in every response mode."""
        return ""

    def parse(self, frame: bytes) -> Message | None:
        """``<payload>`` (symbols or the no-read string)."""
        line = frame.decode("latin-1").rstrip("\r\n")
        if not line or not well_formed_text(line):
            return None
        return _result(line, parse_symbols(line, self.no_read, self.separator, suffix=True))


class SickProtocol(ReaderProtocol):
    """CLV/Lector: STX…ETX; gate on/off, acks, then the result telegram."""

    preset = "sick"
    terminator = ETX.encode()
    acks = ("mTCgateon", "mTCgateoff")

    def trigger_frames(self, cmd_id: int) -> list[bytes]:
        """Gate on, then gate off."""
        return [sick_frame(SICK_GATE_ON), sick_frame(SICK_GATE_OFF)]

    def parse(self, frame: bytes) -> Message | None:
        """``sAN <cmd> <0|1>``, ``sFA <code>`` or ``<status>;<count>;<symbol>…``."""
        text = frame.decode("latin-1").lstrip("\r\n ")
        if not (text.startswith(STX) and text.endswith(ETX)) or len(text) < 2:
            return None
        body = text[1:-1]
        if not body or not well_formed_text(body):
            return None
        if body.startswith("sAN "):
            parts = body.split(" ")
            if len(parts) != 3 or parts[2] not in ("0", "1"):
                return None
            if parts[2] == "0":
                return Message(
                    Kind.FAULT,
                    body,
                    command=parts[1],
                    error=(DeviceFault, f"{parts[1]} refused: {body!r}"),
                )
            return Message(Kind.ACK, body, command=parts[1])
        if body.startswith(SICK_ERROR_PREFIX):
            return Message(Kind.FAULT, body, error=(DeviceFault, f"command error {body!r}"))
        return self._result(body)

    def _result(self, body: str) -> Message | None:
        fields = body.split(self.separator)
        if len(fields) < 2 or not fields[0].isdigit() or not fields[1].isdigit():
            return None
        status, count, parts = int(fields[0]), int(fields[1]), fields[2:]
        if count != len(parts) or len(fields[0]) > 2 or len(fields[1]) > 3:
            return None
        if status == SickStatus.NO_READ:
            return Message(Kind.RESULT, body) if all(p == self.no_read for p in parts) else None
        if status != SickStatus.GOOD:
            meaning = SICK_STATUS_TEXT.get(status)
            if meaning is None:
                return Message(
                    Kind.RESULT,
                    body,
                    error=(ProtocolError, f"unknown read status {status} in {body!r}"),
                )
            return Message(
                Kind.RESULT,
                body,
                error=(DeviceFault, f"read status {status} ({meaning}): {body!r}"),
            )
        symbols = tuple(parse_symbol(p) for p in parts if p != self.no_read)
        if count == 0:
            return None
        return _result(body, symbols)


class KeyenceProtocol(ReaderProtocol):
    """SR series: CR framing; ``LON`` → ``OK,LON`` then the data line."""

    preset = "keyence"
    terminator = CR.encode()
    acks = ("LON",)

    def trigger_frames(self, cmd_id: int) -> list[bytes]:
        """``LON``."""
        return [(KEYENCE_TRIGGER + CR).encode()]

    def stop_frame(self) -> bytes | None:
        """``LOFF`` (the read timed out: stop the reader before the next parcel)."""
        return (KEYENCE_STOP + CR).encode()

    def parse(self, frame: bytes) -> Message | None:
        """``OK,<cmd>``, ``ER,<cmd>,<code>``, the no-read string or the data."""
        line = frame.decode("latin-1").lstrip(LF).removesuffix(CR)
        if not line or not well_formed_text(line):
            return None
        if line.startswith("OK,"):
            return Message(Kind.ACK, line, command=line[3:])
        if line.startswith("ER,"):
            parts = line.split(",")
            if len(parts) != 3:
                return None
            return Message(
                Kind.FAULT,
                line,
                command=parts[1],
                error=(DeviceFault, f"{parts[1]} refused, error code {parts[2]}"),
            )
        return _result(line, parse_symbols(line, self.no_read, self.separator))


class DatalogicProtocol(ReaderProtocol):
    """DS8110: STX … CR LF; global and per-code no-read strings, multiple-read string."""

    preset = "datalogic"

    def __init__(self, *args: object, trigger: str = DATALOGIC_TRIGGER, **kw: object):
        super().__init__(*args, **kw)  # type: ignore[arg-type]
        self.trigger = trigger

    def trigger_frames(self, cmd_id: int) -> list[bytes]:
        """The configured trigger string."""
        return [self.trigger.encode("latin-1")]

    def parse(self, frame: bytes) -> Message | None:
        """``STX <codes> CR LF``."""
        text = frame.decode("latin-1").lstrip(CR + LF)
        if not (text.startswith(STX) and text.endswith(CR + LF)):
            return None
        payload = text[1:-2]
        if not payload or not well_formed_text(payload):
            return None
        multi = self.multiple_read
        if payload == multi:
            return Message(Kind.RESULT, payload, multiple=True)
        if payload == self.no_read:
            return Message(Kind.RESULT, payload)
        fields = payload.split(self.separator)
        multiple = multi is not None and fields[0] == multi
        if multiple:
            fields = fields[1:]
        kept = [f for f in fields if f != self.no_read and set(f) != {"?"}]
        return _result(payload, tuple(parse_symbol(f) for f in kept), multiple=multiple)


PROTOCOLS: dict[str, type[ReaderProtocol]] = {
    "cognex": CognexProtocol,
    "sick": SickProtocol,
    "keyence": KeyenceProtocol,
    "datalogic": DatalogicProtocol,
}
"""The parser of each preset; ``cognex`` here is the extended response mode."""

COGNEX_PROTOCOLS: dict[str, type[ReaderProtocol]] = {
    "silent": CognexSilentProtocol,
    "extended": CognexProtocol,
}
"""The cognex parser of each DMCC response mode."""


def make_protocol(
    preset: str,
    no_read: str | None = None,
    separator: str | None = None,
    multiple_read: str | None = None,
    response: str = "silent",
) -> ReaderProtocol:
    """The parser of ``preset``; for cognex, of its DMCC ``response`` mode (others ignore it)."""
    if response not in COGNEX_RESPONSE_MODES:
        raise ValueError(f"response: expected one of {', '.join(COGNEX_RESPONSE_MODES)}")
    cls = COGNEX_PROTOCOLS[response] if preset == "cognex" else PROTOCOLS[preset]
    return cls(no_read, separator, multiple_read)
