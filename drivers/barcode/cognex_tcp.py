"""Fixed-mount barcode reader over TCP, Cognex DataMan DMCC (line framed, CR LF).

The DataMan's response mode (``SET COM.DMCC-RESPONSE``) decides the wire format, and
the device's ``response`` key must say which one the reader is set to:

* **silent** (0, the factory default): trigger ``||>TRIGGER ON``; the reader answers
  with the formatted read string alone, no header (even a command id would not come
  back): the symbols separated by the configured separator, each optionally prefixed
  by its AIM symbology identifier (``]C0…``) and followed by ``@x:y``/``#grade``, or the
  configured no-read string. With no id to match, one trigger is in flight at a time
  (a second one waits, within its own timeout); a trigger that timed out gets
  ``||>TRIGGER OFF`` and its late reply is owed: it is discarded when it comes, and the
  next trigger is sent only once it came (or after ``late_window_s``), so it is never
  bound to the next parcel. A silent reader reports no error: a refused trigger is a
  timeout.
* **extended** (1): trigger ``||:<id>>TRIGGER ON``, reply ``||:<id>[<status>]<payload>``
  where status 0 is success (any other raises ``DeviceFault``). Each trigger carries its
  own command id, so several may be in flight and a late reply to an earlier trigger is
  recognised and discarded.

This is the ``cognex`` preset of :class:`drivers.barcode.tcp_reader.TcpReader` (formats
in :mod:`plc_configs.readers`); lines that are not replies are skipped and counted, with
a hint when they look like the other response mode.
"""

from __future__ import annotations

from drivers.barcode.protocols import parse_symbols
from drivers.barcode.tcp_reader import MAX_LINE, TcpReader

__all__ = ["MAX_LINE", "CognexTcpReader", "parse_symbols"]


class CognexTcpReader(TcpReader):
    """A DMCC reader at ``tcp://HOST:PORT`` in ``response`` mode ``silent`` or ``extended``."""

    def __init__(
        self,
        name: str,
        url: str,
        timeout_s: float = 0.08,
        no_read: str = "NOREAD",
        separator: str = ",",
        response: str = "silent",
        late_window_s: float | None = None,
    ):
        super().__init__(
            name,
            url,
            "cognex",
            timeout_s,
            no_read,
            separator,
            response=response,
            late_window_s=late_window_s,
        )
