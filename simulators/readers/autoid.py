"""An optical reader served over OPC UA AutoID (OPC 30010), hand-modelled subset.

The OPC 30010 nodeset is not available offline; this server models what the driver
uses (see :mod:`drivers.barcode.autoid` for the model, :mod:`plc_configs.readers` for
the namespace and status codes)::

    Objects/n:<browse_name>          Object (``Reader1``), ``ns=n;s=Reader1``
    Objects/n:<browse_name>/n:Scan   Method (Duration Double) -> (Results String[], Status Int32)

Scan reads the parcel in the field: SUCCESS with ``]C0|<barcode>`` (twice for a duplicate
read), NO_IDENTIFIER with no results, MULTIPLE_IDENTIFIERS with both labels; a late answer
makes Scan answer after ``late_answer_ms``; a garbled read returns a result string without
the ``|`` separator. :attr:`fault` (10 READ_ERROR, 11 DECODING_ERROR) forces a status.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from asyncua import Server, ua

from plc_configs.readers import AUTOID_NS, AUTOID_RESULT_SEPARATOR, AutoIdStatus
from simulators.opcua_server import new_server
from simulators.parcels import ParcelSpec
from simulators.readers.base import AIM_CODE128, garbled_text, outcome_of

log = logging.getLogger(__name__)


def _argument(name: str, vtype: ua.VariantType, rank: int = -1) -> ua.Argument:
    arg = ua.Argument()
    arg.Name = name
    arg.DataType = ua.NodeId(vtype.value)
    arg.ValueRank = rank
    arg.ArrayDimensions = [0] if rank == 1 else []
    arg.Description = ua.LocalizedText(name)
    return arg


def scan_outputs(parcel: ParcelSpec | None) -> tuple[list[str], int]:
    """(Results, Status) of one Scan for the parcel in the field."""
    outcome = outcome_of(parcel, aim="")
    if outcome.garbled:
        return [garbled_text(parcel)], AutoIdStatus.SUCCESS
    if not outcome.symbols:
        return [], AutoIdStatus.NO_IDENTIFIER
    results = [AIM_CODE128 + AUTOID_RESULT_SEPARATOR + s for s in outcome.symbols]
    if outcome.multiple:
        return results, AutoIdStatus.MULTIPLE_IDENTIFIERS
    return results, AutoIdStatus.SUCCESS


class AutoIdReaderSimulator:
    """One simulated OPC 30010 reader on an asyncua server (loopback, ``port=0`` allowed)."""

    def __init__(
        self,
        name: str,
        lookup: Callable[[], ParcelSpec | None],
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        path: str = "/lanesort/reader",
        browse_name: str = "Reader1",
        late_answer_ms: float = 300.0,
        fast_init: bool = True,
    ):
        self.name = name
        self.lookup = lookup
        self.host = host
        self.port = port
        self.path = path if path.startswith("/") or not path else "/" + path
        self.browse_name = browse_name
        self.late_answer_ms = late_answer_ms
        self.fast_init = fast_init
        self.fault: int | None = None
        self.triggers = 0
        self.invalid_commands = 0
        self.ns = 0
        self._server: Server | None = None

    @property
    def url(self) -> str:
        """The endpoint URL (the real port once started)."""
        return f"opc.tcp://{self.host}:{self.port}{self.path}"

    async def start(self) -> None:
        """Build the address space and listen."""
        if self._server is not None:
            return
        server, self.ns = await new_server(
            self.url, f"LaneSort simulated reader {self.name}", AUTOID_NS, self.fast_init
        )
        reader = await server.nodes.objects.add_object(
            ua.NodeId(self.browse_name, self.ns), ua.QualifiedName(self.browse_name, self.ns)
        )
        await reader.add_method(
            ua.NodeId(f"{self.browse_name}.Scan", self.ns),
            ua.QualifiedName("Scan", self.ns),
            self._scan,
            [_argument("Duration", ua.VariantType.Double)],
            [
                _argument("Results", ua.VariantType.String, 1),
                _argument("Status", ua.VariantType.Int32),
            ],
        )
        await server.start()
        self._server = server
        if server.bserver is not None:
            self.port = server.bserver.port
        log.info("%s: OPC UA AutoID reader on %s", self.name, self.url)

    async def stop(self) -> None:
        """Shut the server down; safe twice."""
        server, self._server = self._server, None
        if server is not None:
            await server.stop()

    async def _scan(self, parent: ua.NodeId, *args: ua.Variant) -> list[ua.Variant]:
        self.triggers += 1
        parcel = self.lookup()
        if self.fault is not None:
            results, status = [], self.fault
        else:
            results, status = scan_outputs(parcel)
            if parcel is not None and outcome_of(parcel).late:
                await asyncio.sleep(self.late_answer_ms / 1000)
        return [
            ua.Variant(results, ua.VariantType.String, is_array=True),
            ua.Variant(int(status), ua.VariantType.Int32),
        ]
