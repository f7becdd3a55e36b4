"""Wire facts of the barcode reader presets, shared by the drivers and the simulators.

Every preset frames one message per line or telegram; a *symbol* is written
``[<aim>]<data>``: an optional AIM symbology identifier (``]`` + code letter + modifier,
``]C0`` Code 128, ``]C1`` GS1-128, ``]d2`` GS1 DataMatrix…) followed by the decoded data
(printable ASCII, plus GS = ASCII 29 for FNC1 in GS1 data). One example per preset::

    cognex     DMCC, response mode silent (COM.DMCC-RESPONSE 0, the factory default):
               host  ||>TRIGGER ON\\r\\n
               dev   ]C0LS0000012345@812:377#B\\r\\n   NOREAD\\r\\n   (no header, no status)
               host  ||>TRIGGER OFF\\r\\n (only when the read timed out; no answer)
    cognex     DMCC, response mode extended (COM.DMCC-RESPONSE 1):
               host  ||:7>TRIGGER ON\\r\\n
               dev   ||:7[0]]C0LS0000012345@812:377#B\\r\\n   (position/grade optional)
               dev   ||:7[0]NOREAD\\r\\n          ||:7[104]\\r\\n  (status -> DeviceFault)
    cognex     push: the reader connects to us and sends the payload alone, no header:
               dev   ]C0LS0000012345\\r\\n         NOREAD\\r\\n
    sick       host  \\x02sMN mTCgateon\\x03  then  \\x02sMN mTCgateoff\\x03
               dev   \\x02sAN mTCgateon 1\\x03  \\x02sAN mTCgateoff 1\\x03  (acks, skipped)
               dev   \\x02<status>;<count>;<symbol>;<symbol>…\\x03
                     e.g. <STX>0;1;]C0LS0000012345<ETX>    <STX>2;0<ETX> (no read)
                     a refused command: \\x02sFA <hex code>\\x03
    keyence    host  LON\\r                dev  OK,LON\\r  then  ]C0LS0000012345\\r
               dev   ERROR\\r (no read)     ER,LON,<code>\\r (refused -> DeviceFault)
               host  LOFF\\r (only when the read timed out)   dev  OK,LOFF\\r
    datalogic  host  \\x02T\\r\\n (configurable)
               dev   \\x02]C0LS0000012345\\r\\n   \\x02???????\\r\\n (global no read)
               dev   \\x02]C0LS1,]C0LS2\\r\\n or the configured multiple-read string alone

Cognex symbol suffix: ``@<x>:<y>`` (centre, pixels; a colon, since a comma separates
symbols) and/or ``#<grade>`` (``A`` to ``F``) may follow the data, in that order, at
the very end of the symbol; data that itself ends in such a suffix cannot be told
apart, so enable position/grade output only for labels that cannot (GS1, carrier ids).

SICK status: 0 good, 1 bad check digit, 2 no read (count 0, no symbols), 3 system error,
5 multiple-read count not met. ``count`` must equal the number of symbols.

Datalogic: a symbol slot equal to the global no-read string or made of ``?`` only is a
per-code no-read and is left out. With a ``multiple_read`` string configured, a frame
that is exactly that string, or whose first field is it (followed by the codes), is a
multiple read: the result carries every code sent and ``multiple=True``.

Cognex response modes (DataMan ``SET COM.DMCC-RESPONSE``): a DataMan leaves the factory
*silent* (0): no response header at all, a command with a command id gets none either,
invalid commands get no feedback, and ``TRIGGER ON`` is answered with the formatted read
string (or the no-read string) alone. *Extended* (1): every command gets
``||<checksum>:<command-id>[<status>]<payload>``; status 0 ok, 1 reader-initiated read
string, 100 to 105 errors. A device's ``response`` key says which one the reader is set to.

Readers without command ids (cognex silent, sick, keyence, datalogic) answer triggers in
order, one result per trigger; the driver binds results in that order (see the driver).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

STX = "\x02"
ETX = "\x03"
CR = "\r"
LF = "\n"
GS = "\x1d"


@dataclass(frozen=True)
class ReaderPreset:
    """Defaults of one preset: no-read string, separator between symbols."""

    no_read: str
    separator: str
    multiple_read: str | None = None


PRESETS: dict[str, ReaderPreset] = {
    "cognex": ReaderPreset(no_read="NOREAD", separator=","),
    "sick": ReaderPreset(no_read="NoRead", separator=";"),
    "keyence": ReaderPreset(no_read="ERROR", separator=","),
    "datalogic": ReaderPreset(no_read="???????", separator=","),
}
"""Per preset; a device's ``no_read``/``separator``/``multiple_read`` left None takes these."""


def well_formed_text(text: str) -> bool:
    """True when ``text`` has only printable ASCII (and GS, the FNC1 of GS1 data)."""
    return all(" " <= c <= "~" or c == GS for c in text)


def format_symbol(
    data: str, aim: str = "", position: tuple[int, int] | None = None, grade: str | None = None
) -> str:
    """``[<aim>]<data>[@x:y][#grade]`` (position/grade: Cognex only)."""
    out = aim + data
    if position is not None:
        out += f"@{position[0]}:{position[1]}"
    if grade is not None:
        out += f"#{grade}"
    return out


# -- Cognex DataMan (DMCC) ------------------------------------------------------------

COGNEX_RESPONSE_MODES = ("silent", "extended")
"""``COM.DMCC-RESPONSE`` 0 and 1; silent is the factory default."""
COGNEX_TRIGGER = "||:{id}>TRIGGER ON\r\n"
"""Extended mode: the command id comes back in the reply's header."""
COGNEX_SILENT_TRIGGER = "||>TRIGGER ON\r\n"
"""Silent mode: no header comes back, so no id is sent."""
COGNEX_TRIGGER_OFF = "||>TRIGGER OFF\r\n"
"""Silent mode, after a read timed out: end the read (a manual or continuous trigger
would otherwise keep reading into the next parcel); the reader answers nothing to it."""
COGNEX_REPLY = "||:{id}[{status}]{payload}\r\n"
COGNEX_REPLY_PATTERN = r"^\|\|\d*:(\d{1,5})\[(\d{1,3})\](.*)$"
COGNEX_COMMAND_PATTERN = r"^\|\|[^:>]*:(\d{1,10})>(.*)$"
COGNEX_ANY_COMMAND_PATTERN = r"^\|\|[^:>]*(?::(\d{1,10}))?>(.*)$"
"""A DMCC command with or without a command id (``||>``, ``||1>``, ``||0:123>``)."""
COGNEX_HEADER = "||"
"""How every DMCC command and every extended-mode response starts."""
COGNEX_SUFFIX_PATTERN = r"^(.*?)(?:@(-?\d{1,6}):(-?\d{1,6}))?(?:#([A-F]))?$"


class CognexStatus(IntEnum):
    """DMCC reply status codes."""

    OK = 0
    ERROR = 100
    INVALID_COMMAND = 101
    BAD_PARAMETER = 102
    BAD_CHECKSUM = 103
    REFUSED = 104
    UNAVAILABLE = 105


COGNEX_STATUS_TEXT = {
    100: "general error",
    101: "invalid command",
    102: "invalid parameter",
    103: "bad checksum",
    104: "refused in this state (busy)",
    105: "reader unavailable",
}

# -- SICK CLV / Lector --------------------------------------------------------------

SICK_GATE_ON = "sMN mTCgateon"
SICK_GATE_OFF = "sMN mTCgateoff"
SICK_ACK = "sAN {command} {ok}"
"""Ack of a method call: ``sAN mTCgateon 1`` (1 done, 0 refused)."""
SICK_ERROR_PREFIX = "sFA "


class SickStatus(IntEnum):
    """Read status field of the result telegram."""

    GOOD = 0
    BAD_CHECK_DIGIT = 1
    NO_READ = 2
    SYSTEM_ERROR = 3
    MULTIPLE_READ_COUNT_NOT_MET = 5


SICK_STATUS_TEXT = {
    1: "bad check digit",
    2: "no read",
    3: "system error",
    5: "multiple-read count not met",
}


def sick_frame(body: str) -> bytes:
    """``STX body ETX`` in bytes."""
    return (STX + body + ETX).encode("latin-1")


def sick_result(status: int, symbols: list[str], separator: str = ";") -> str:
    """The result telegram body: ``<status>;<count>[;<symbol>…]``."""
    return separator.join([str(status), str(len(symbols)), *symbols])


# -- Keyence SR ---------------------------------------------------------------------

KEYENCE_TRIGGER = "LON"
KEYENCE_STOP = "LOFF"
KEYENCE_OK = "OK,{command}"
KEYENCE_ERROR = "ER,{command},{code}"

# -- Datalogic DS8110 ---------------------------------------------------------------

DATALOGIC_TRIGGER = "\x02T\r\n"
"""Default host trigger string (the reader's serial start string is configurable)."""


def datalogic_frame(payload: str) -> bytes:
    """``STX payload CR LF`` in bytes."""
    return (STX + payload + CR + LF).encode("latin-1")


# -- OPC UA AutoID (OPC 30010, hand-modelled subset) --------------------------------

AUTOID_NS = "http://opcfoundation.org/UA/AutoID/"
AUTOID_RESULT_SEPARATOR = "|"
"""A Scan result string is ``<aim>|<data>`` (``|data`` without a symbology)."""


class AutoIdStatus(IntEnum):
    """AutoIdOperationStatusEnumeration values the reader returns from Scan."""

    SUCCESS = 0
    NO_IDENTIFIER = 8
    MULTIPLE_IDENTIFIERS = 9
    READ_ERROR = 10
    DECODING_ERROR = 11
