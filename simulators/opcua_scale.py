"""A weigh scale served over OPC UA, modelled on OPC 40200 (OPC UA for Weighing).

The companion nodeset XML of OPC 40200 is not available offline, so this module models
the subset the driver needs by hand, in the Scales namespace
``http://opcfoundation.org/UA/Scales/V2/`` (``n`` below is its index on the server, 2 on
a fresh asyncua server). Browse paths from the Objects folder::

    Objects/n:<name>                           Object (the scale, e.g. ``Scale1``)
    Objects/n:<name>/n:CurrentWeight           Double, the displayed weight (Net)
    Objects/n:<name>/n:CurrentWeight/n:Gross   Double, in ``Unit``
    Objects/n:<name>/n:CurrentWeight/n:Net     Double, in ``Unit``
    Objects/n:<name>/n:CurrentWeight/n:Tare    Double, in ``Unit``
    Objects/n:<name>/n:CurrentWeight/n:Unit    String ``kg`` | ``g`` | ``lb``
    Objects/n:<name>/n:CurrentWeight/n:PrintableValue   String property (``12.345 kg``)
    Objects/n:<name>/n:CurrentWeight/n:WeightStable     Boolean property
    Objects/n:<name>/n:CurrentWeight/n:Overload         Boolean property
    Objects/n:<name>/n:CurrentWeight/n:Underload        Boolean property
    Objects/n:<name>/n:CurrentWeight/n:CenterOfZero     Boolean property
    Objects/n:<name>/n:CurrentWeight/n:LegalForTrade    Boolean property
    Objects/n:<name>/n:SetZero, n:SetTare, n:ClearTare  Methods, no arguments

The real ``CurrentWeight`` is a ``WeightItemType`` structure; here it is a plain Double
with its fields as child nodes. Node ids are strings: ``ns=n;s=<name>``,
``ns=n;s=<name>.CurrentWeight.Gross`` … The methods answer with the call's status code,
as OPC UA methods do: ``Good``, or ``BadInvalidState`` (weight in motion, or zeroing
with a tare set), ``BadOutOfRange`` (zero outside ±4 % of capacity, tare of an empty or
negative load).

Weights are quantised to the scale division in the device unit (``Decimal``), so the
doubles and ``PrintableValue`` agree exactly. The variables are refreshed every
``period_s`` by a background task and on demand by :meth:`OpcUaScaleSimulator.update`;
all of one refresh is written without yielding to the event loop, so a client's single
Read sees one consistent snapshot.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from asyncua import Server, ua

from simulators.opcua_server import new_server

log = logging.getLogger(__name__)

SCALES_NS = "http://opcfoundation.org/UA/Scales/V2/"
KG_PER_UNIT = {"kg": Decimal(1), "g": Decimal("0.001"), "lb": Decimal("0.45359237")}
ZERO_RANGE = Decimal("0.04")
"""Share of capacity that SetZero may take away (OIML R76: 4 %)."""


_DOUBLES = ("Gross", "Net", "Tare")
_FLAGS = ("WeightStable", "Overload", "Underload", "CenterOfZero", "LegalForTrade")


@dataclass(frozen=True)
class ScaleReading:
    """One snapshot of what the scale displays, in the device unit."""

    gross: Decimal
    net: Decimal
    tare: Decimal
    unit: str
    stable: bool
    overload: bool
    underload: bool
    center_of_zero: bool
    legal_for_trade: bool

    @property
    def printable(self) -> str:
        """The display text: ``12.345 kg``, or ``OL`` / ``UL`` out of range."""
        if self.overload:
            return "OL"
        if self.underload:
            return "UL"
        return f"{self.net} {self.unit}"


class OpcUaScaleSimulator:
    """One simulated OPC 40200 scale on an asyncua server (loopback by default).

    ``lookup`` returns the kg on the platter now (``None``: empty). ``port=0`` lets the
    OS choose; :attr:`port` and :attr:`url` give the real endpoint after :meth:`start`.
    Fault hooks are plain attributes: :attr:`unstable` (WeightStable false, the weight
    wobbles by a few divisions), :attr:`overload`, :attr:`underload`, :attr:`not_legal`
    (LegalForTrade false), :attr:`method_delay_s` (methods answer late); :attr:`drift_kg`
    adds a zero drift that SetZero removes. ``fast_init`` copies asyncua's standard address
    space from the first server built in this process instead of rebuilding it (~2 s).
    """

    def __init__(
        self,
        name: str,
        lookup: Callable[[], float | None],
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        path: str = "/lanesort/scale",
        browse_name: str = "Scale1",
        unit: str = "kg",
        division: Decimal | str = "0.001",
        capacity_kg: float = 60.0,
        period_s: float = 0.02,
        seed: int | None = None,
        fast_init: bool = True,
    ):
        if unit not in KG_PER_UNIT:
            raise ValueError(f"{name}: unit must be one of {sorted(KG_PER_UNIT)}, got {unit!r}")
        self.name = name
        self.lookup = lookup
        self.host = host
        self.port = port
        self.path = path if path.startswith("/") or not path else "/" + path
        self.browse_name = browse_name
        self.unit = unit
        self.division = Decimal(division)
        self.capacity_kg = Decimal(str(capacity_kg))
        self.period_s = period_s
        self.fast_init = fast_init
        self.unstable = False
        self.overload = False
        self.underload = False
        self.not_legal = False
        self.drift_kg = 0.0
        self.method_delay_s = 0.0
        self.ns = 0
        self.zero_offset = Decimal(0)
        self.tare = Decimal(0)
        self.method_calls: list[tuple[str, str]] = []
        """(method, status name) of every SetZero/SetTare/ClearTare call, in order."""
        self._rng = random.Random(seed)
        self._server: Server | None = None
        self._task: asyncio.Task[None] | None = None
        self._nodes: dict[str, ua.NodeId] = {}
        self._wobble_sign = 1
        self.reading: ScaleReading | None = None

    @property
    def url(self) -> str:
        """The endpoint URL clients connect to (the real port once started)."""
        return f"opc.tcp://{self.host}:{self.port}{self.path}"

    @property
    def running(self) -> bool:
        """True between :meth:`start` and :meth:`stop`."""
        return self._server is not None

    # -- lifecycle ------------------------------------------------------------------

    async def start(self) -> None:
        """Build the address space, listen, and start the refresh task."""
        if self._server is not None:
            return
        server, self.ns = await new_server(
            self.url, f"LaneSort simulated scale {self.name}", SCALES_NS, self.fast_init
        )
        await self._build(server)
        await server.start()
        self._server = server
        if server.bserver is not None:
            self.port = server.bserver.port
        await self.update()
        self._task = asyncio.create_task(self._refresh(), name=f"{self.name}-opcua-refresh")
        log.info("%s: OPC UA scale on %s", self.name, self.url)

    async def stop(self) -> None:
        """Stop refreshing and shut the server down (closes client links); safe twice."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        server, self._server = self._server, None
        if server is not None:
            await server.stop()

    async def __aenter__(self) -> OpcUaScaleSimulator:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # -- address space --------------------------------------------------------------

    def _id(self, *parts: str) -> ua.NodeId:
        return ua.NodeId(".".join((self.browse_name, *parts)), self.ns)

    def _qn(self, name: str) -> ua.QualifiedName:
        return ua.QualifiedName(name, self.ns)

    async def _build(self, server: Server) -> None:
        scale = await server.nodes.objects.add_object(self._id(), self._qn(self.browse_name))
        current = await scale.add_variable(
            self._id("CurrentWeight"), self._qn("CurrentWeight"), 0.0, ua.VariantType.Double
        )
        self._nodes["CurrentWeight"] = current.nodeid
        for field in _DOUBLES:
            node = await current.add_variable(
                self._id("CurrentWeight", field), self._qn(field), 0.0, ua.VariantType.Double
            )
            self._nodes[field] = node.nodeid
        node = await current.add_variable(
            self._id("CurrentWeight", "Unit"), self._qn("Unit"), self.unit, ua.VariantType.String
        )
        self._nodes["Unit"] = node.nodeid
        node = await current.add_property(
            self._id("CurrentWeight", "PrintableValue"),
            self._qn("PrintableValue"),
            "",
            ua.VariantType.String,
        )
        self._nodes["PrintableValue"] = node.nodeid
        for flag in _FLAGS:
            node = await current.add_property(
                self._id("CurrentWeight", flag), self._qn(flag), False, ua.VariantType.Boolean
            )
            self._nodes[flag] = node.nodeid
        for method, func in (
            ("SetZero", self._set_zero),
            ("SetTare", self._set_tare),
            ("ClearTare", self._clear_tare),
        ):
            await scale.add_method(self._id(method), self._qn(method), func, [], [])

    # -- the weighing ---------------------------------------------------------------

    def _raw_kg(self) -> Decimal:
        load = self.lookup()
        kg = Decimal(repr(float(load))) if load is not None else Decimal(0)
        return kg + Decimal(repr(float(self.drift_kg)))

    def _to_unit(self, kg: Decimal) -> Decimal:
        value = kg / KG_PER_UNIT[self.unit]
        return value.quantize(self.division, rounding=ROUND_HALF_EVEN)

    def compute(self) -> ScaleReading:
        """What the scale displays now (advances the wobble when unstable)."""
        gross = self._to_unit(self._raw_kg() - self.zero_offset)
        if self.unstable:
            self._wobble_sign = -self._wobble_sign
            gross += self.division * self._rng.randint(1, 5) * self._wobble_sign
        capacity = self._to_unit(self.capacity_kg)
        overload = self.overload or gross > capacity + 9 * self.division
        underload = self.underload or gross < -20 * self.division
        net = gross - self.tare
        return ScaleReading(
            gross=gross,
            net=net,
            tare=self.tare,
            unit=self.unit,
            stable=not self.unstable,
            overload=overload,
            underload=underload,
            center_of_zero=abs(gross) <= self.division / 4,
            legal_for_trade=not self.not_legal,
        )

    async def update(self) -> ScaleReading:
        """Recompute and publish the variables now; returns what was published."""
        reading = self.compute()
        self.reading = reading
        server = self._server
        if server is None:
            return reading
        values: dict[str, tuple[Any, ua.VariantType]] = {
            "CurrentWeight": (float(reading.net), ua.VariantType.Double),
            "Gross": (float(reading.gross), ua.VariantType.Double),
            "Net": (float(reading.net), ua.VariantType.Double),
            "Tare": (float(reading.tare), ua.VariantType.Double),
            "Unit": (reading.unit, ua.VariantType.String),
            "PrintableValue": (reading.printable, ua.VariantType.String),
            "WeightStable": (reading.stable, ua.VariantType.Boolean),
            "Overload": (reading.overload, ua.VariantType.Boolean),
            "Underload": (reading.underload, ua.VariantType.Boolean),
            "CenterOfZero": (reading.center_of_zero, ua.VariantType.Boolean),
            "LegalForTrade": (reading.legal_for_trade, ua.VariantType.Boolean),
        }
        # write_attribute_value does not suspend (no awaits inside without subscriptions),
        # so a client Read never sees half of one refresh and half of the next.
        for key, (value, vtype) in values.items():
            await server.write_attribute_value(
                self._nodes[key], ua.DataValue(ua.Variant(value, vtype))
            )
        return reading

    async def _refresh(self) -> None:
        while True:
            await asyncio.sleep(self.period_s)
            try:
                await self.update()
            except Exception:  # keep serving: a bad lookup must not kill the device
                log.exception("%s: refresh failed", self.name)

    # -- methods (asyncua calls them with the parent node id) -----------------------

    async def _delay(self) -> None:
        if self.method_delay_s > 0:
            await asyncio.sleep(self.method_delay_s)

    def _answer(self, method: str, code: int) -> ua.StatusCode:
        status = ua.StatusCode(code)
        self.method_calls.append((method, status.name))
        return status

    async def _set_zero(self, parent: ua.NodeId) -> ua.StatusCode:
        await self._delay()
        if self.unstable:
            return self._answer("SetZero", ua.StatusCodes.BadInvalidState)
        if self.tare != 0:
            return self._answer("SetZero", ua.StatusCodes.BadInvalidState)
        raw = self._raw_kg()
        if abs(raw) > self.capacity_kg * ZERO_RANGE:
            return self._answer("SetZero", ua.StatusCodes.BadOutOfRange)
        self.zero_offset = raw
        await self.update()
        return self._answer("SetZero", ua.StatusCodes.Good)

    async def _set_tare(self, parent: ua.NodeId) -> ua.StatusCode:
        await self._delay()
        if self.unstable:
            return self._answer("SetTare", ua.StatusCodes.BadInvalidState)
        reading = self.compute()
        if reading.overload or reading.underload or reading.gross <= 0:
            return self._answer("SetTare", ua.StatusCodes.BadOutOfRange)
        self.tare = reading.gross
        await self.update()
        return self._answer("SetTare", ua.StatusCodes.Good)

    async def _clear_tare(self, parent: ua.NodeId) -> ua.StatusCode:
        await self._delay()
        self.tare = Decimal(0)
        await self.update()
        return self._answer("ClearTare", ua.StatusCodes.Good)
