"""Fixed-mount barcode reader over TCP, Cognex DataMan DMCC style (line framed, CR LF).

Trigger: ``||:<id>>TRIGGER ON``. Reply, one line per trigger:
``||:<id>[<status>]<payload>`` where status 0 is success and the payload is the
symbols separated by the configured separator, each optionally prefixed by its
AIM symbology identifier (``]C0…``) and followed by ``@x:y``/``#grade``, or the
configured no-read string (see :mod:`plc_configs.readers`).

This is the ``cognex`` preset of :class:`drivers.barcode.tcp_reader.TcpReader`: each
trigger carries its own command id, so a late reply to an earlier trigger is recognised
and discarded; lines that are not replies are skipped and counted.
"""

from __future__ import annotations

from drivers.barcode.protocols import parse_symbols
from drivers.barcode.tcp_reader import MAX_LINE, TcpReader

__all__ = ["MAX_LINE", "CognexTcpReader", "parse_symbols"]


class CognexTcpReader(TcpReader):
    """A DMCC reader at ``tcp://HOST:PORT``; several triggers may be in flight at once."""

    def __init__(
        self,
        name: str,
        url: str,
        timeout_s: float = 0.08,
        no_read: str = "NOREAD",
        separator: str = ",",
    ):
        super().__init__(name, url, "cognex", timeout_s, no_read, separator)
