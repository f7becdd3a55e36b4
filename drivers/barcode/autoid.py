"""A barcode reader speaking OPC UA AutoID (OPC 30010) over ``opc.tcp``, via asyncua.

The OPC 30010 nodeset is not available offline, so this driver uses a hand-modelled
subset in the AutoID namespace ``http://opcfoundation.org/UA/AutoID/`` (``n`` = its
index on the server, looked up at connect)::

    Objects/n:<reader>            the OpticalReaderDeviceType-like object
    Objects/n:<reader>/n:Scan     Method
        in   Duration  Double     how long the reader may try, in ms (the ScanSettings
                                  structure of the standard, reduced to its duration)
        out  Results   String[]   one per identifier: ``<aim>|<data>`` (``|<data>``
                                  when the reader gives no symbology); the standard's
                                  OpticalScanResult structure reduced to its code
        out  Status    Int32      SUCCESS 0, NO_IDENTIFIER 8, MULTIPLE_IDENTIFIERS 9,
                                  READ_ERROR 10, DECODING_ERROR 11

``trigger()`` calls Scan with ``Duration`` = half the timeout: 8 is an explicit no-read,
9 returns every identifier with ``multiple=True`` (the controller rejects different
labels), 10/11 (and any other status) raise ``DeviceFault``. The reader object is
``node`` (a node id such as ``ns=2;s=Reader1``, or a browse path ``Objects/2:Reader1`` /
``Reader1``), else the first object under Objects in the AutoID namespace with a Scan.
"""

from __future__ import annotations

import asyncio
import logging
import re
from typing import Any

from asyncua import Client, ua
from asyncua.ua.uaerrors import UaError, UaStatusCodeError

from drivers.barcode.base import BarcodeRead, ReadResult
from drivers.errors import ConnectionLost, DeviceFault, DeviceTimeout, ProtocolError
from drivers.opcua_client import OpcuaDevice
from plc_configs.readers import AUTOID_NS, AUTOID_RESULT_SEPARATOR, AutoIdStatus, well_formed_text

log = logging.getLogger(__name__)

_NODE_ID = re.compile(r"^(ns=\d+;|nsu=[^;]+;)?[isgb]=")
_AIM = re.compile(r"^(\][A-Za-z][0-9A-Za-z])?$")
_FAULTS = {10: "READ_ERROR", 11: "DECODING_ERROR"}


class AutoIdReader(OpcuaDevice):
    """An OPC 30010 optical reader at ``opc.tcp://HOST:PORT[/path]``."""

    model = "the reader model"

    def __init__(
        self,
        name: str,
        url: str,
        node: str | None = None,
        timeout_s: float = 0.3,
        *,
        connect_timeout_s: float = 3.0,
    ):
        super().__init__(name, url, node, timeout_s, connect_timeout_s)
        self.reader_node: ua.NodeId | None = None
        self.scan_node: ua.NodeId | None = None
        self.garbled_lines = 0
        self.last_garbled = ""

    async def _discover(self, client: Client) -> None:
        try:
            self.ns = await client.get_namespace_index(AUTOID_NS)
        except ValueError as err:
            raise ProtocolError(self.name, self.address, f"no namespace {AUTOID_NS}") from err
        objects = client.nodes.objects
        if self.node is not None and _NODE_ID.match(self.node):
            reader = client.get_node(self.node)
        elif self.node is not None:
            path = [p for p in self.node.strip("/").split("/") if p and p != "Objects"]
            names = [p if ":" in p else f"{self.ns}:{p}" for p in path]
            try:
                reader = await objects.get_child(names)
            except UaError as err:
                raise ProtocolError(self.name, self.address, f"no object {self.node!r}") from err
        else:
            reader = None
            for child in await objects.get_children():
                name = await child.read_browse_name()
                if name.NamespaceIndex == self.ns:
                    reader = child
                    break
            if reader is None:
                raise ProtocolError(self.name, self.address, f"no {AUTOID_NS} object")
        try:
            scan = await reader.get_child(f"{self.ns}:Scan")
        except UaError as err:
            raise ProtocolError(
                self.name, self.address, f"{reader.nodeid.to_string()} has no Scan method"
            ) from err
        self.reader_node, self.scan_node = reader.nodeid, scan.nodeid

    async def trigger(self) -> ReadResult:
        """Call Scan and map its status (see the module docstring)."""
        client = self._client
        if client is None or self.reader_node is None or self.scan_node is None:
            raise ConnectionLost(self.name, self.address, "not connected")
        duration = ua.Variant(self.timeout_s * 500.0, ua.VariantType.Double)
        try:
            async with asyncio.timeout(self.timeout_s):
                out = await client.get_node(self.reader_node).call_method(self.scan_node, duration)
        except TimeoutError as err:
            raise DeviceTimeout(
                self.name, self.address, f"no Scan answer in {self.timeout_s * 1000:.0f} ms"
            ) from err
        except UaStatusCodeError as err:
            raise DeviceFault(self.name, self.address, f"Scan refused: {err}") from err
        except (OSError, ConnectionError, UaError) as err:
            await self.close()
            raise ConnectionLost(self.name, self.address, f"Scan: link lost: {err!r}") from err
        return self.to_result(out)

    def to_result(self, out: Any) -> ReadResult:
        """The ReadResult of Scan's outputs ``[Results, Status]``."""
        if not isinstance(out, list) or len(out) != 2:
            raise ProtocolError(self.name, self.address, f"Scan returned {out!r}")
        results, status = out
        raw = f"Status={status} Results={results!r}"
        if not isinstance(status, int) or not isinstance(results, list | type(None)):
            raise ProtocolError(self.name, self.address, f"Scan returned {raw}")
        symbols = tuple(self._symbol(r, raw) for r in results or [])
        if status == AutoIdStatus.NO_IDENTIFIER:
            return ReadResult((), raw)
        if status == AutoIdStatus.MULTIPLE_IDENTIFIERS:
            return ReadResult(symbols, raw, multiple=True)
        if status != AutoIdStatus.SUCCESS:
            meaning = _FAULTS.get(status, "unknown status")
            raise DeviceFault(self.name, self.address, f"Scan status {status} ({meaning})")
        if not symbols:
            raise ProtocolError(self.name, self.address, f"SUCCESS without results: {raw}")
        return ReadResult(symbols, raw)

    def _symbol(self, text: Any, raw: str) -> BarcodeRead:
        if isinstance(text, str):
            aim, sep, data = text.partition(AUTOID_RESULT_SEPARATOR)
            if sep and data and _AIM.match(aim) and well_formed_text(data):
                return BarcodeRead(data=data, symbology=aim)
        self.garbled_lines += 1
        self.last_garbled = repr(text)[:80]
        raise ProtocolError(self.name, self.address, f"bad Scan result {text!r} in {raw}")
