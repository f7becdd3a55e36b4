"""An AS/RS (one crane, one rack) on TCP, speaking OSIP or the Gebhardt-like telegrams.

The host connects (one duplex link). Orders follow the contract documented in
:mod:`plc_configs.osip`/:mod:`drivers.asrs.osip` (host ``REQ_`` → ``RES_`` SEQ + 1 →
``UPD_`` when done) and :mod:`plc_configs.gebhardt` (``Function:Store``/``Retrieve``
→ ack → ``Event:Arrival``; ``Event:Refused``; ``Event:Fault``). Accepted orders are
executed one after the other by the crane, ``store_s``/``retrieve_s`` each.

A repeated host telegram (same sequence and content, on any connection) is answered
again from the cache and executed once (:attr:`AsrsSimulator.duplicates` counts them).
Faults: :meth:`crane_fault` (for a duration: reported, orders refused meanwhile),
:meth:`inject` once (``occupied``, ``unknown_hu``, ``drop_reply``: the next reply/ack
is not sent; ``lose_ack``: the host's next ack is ignored, so the event is sent again;
``duplicate_event``: the next event is sent twice), seeded rates (``fault_rates``),
and :meth:`drop_connections`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping
from datetime import datetime

from plc_configs import gebhardt as gb
from plc_configs import osip
from plc_configs.devices import ASRS_DEFAULTS
from simulators.asrs.model import Plan, Rack

log = logging.getLogger(__name__)

OSIP_CODES = {
    "crane_fault": osip.ERR_CRANE_FAULT,
    "occupied": osip.ERR_LOCATION_OCCUPIED,
    "unknown_hu": osip.ERR_UNKNOWN_HU,
    "no_free_location": osip.ERR_NO_FREE_LOCATION,
    "already_stored": osip.ERR_ALREADY_STORED,
}
GB_CODES = {
    "crane_fault": gb.CODE_CRANE_FAULT,
    "occupied": gb.CODE_LOCATION_OCCUPIED,
    "unknown_hu": gb.CODE_UNKNOWN_HU,
    "no_free_location": gb.CODE_NO_FREE_LOCATION,
    "already_stored": gb.CODE_ALREADY_STORED,
}
ONCE = frozenset({"occupied", "unknown_hu", "drop_reply", "lose_ack", "duplicate_event"})


def _slot_name(protocol: str):
    if protocol == "osip":
        return lambda i: f"RACK/0001/{i:04d}/0000/0000"
    return lambda i: f"R01-{i:03d}"


class AsrsSimulator:
    """An AS/RS on ``tcp://host:port`` (port 0: a free one) for ``protocol``."""

    def __init__(
        self,
        protocol: str = "osip",
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        capacity: int = 20,
        store_s: float = 0.02,
        retrieve_s: float = 0.02,
        seed: int = 0,
        fault_rates: Mapping[str, float] | None = None,
        telegram_length: int = osip.DEFAULT_LENGTH,
        ack_timeout_s: float = 0.2,
        max_retries: int = 3,
    ):
        if protocol not in ASRS_DEFAULTS:
            raise ValueError(f"protocol must be one of {sorted(ASRS_DEFAULTS)}")
        d = ASRS_DEFAULTS[protocol]
        self.protocol, self.host, self._port = protocol, host, port
        self.device_id, self.host_id = d["device_id"], d["our_id"]
        self.in_location, self.out_location = d["in_location"], d["out_location"]
        self.rack = Rack(capacity, _slot_name(protocol), seed=seed, rates=fault_rates)
        self.store_s, self.retrieve_s = store_s, retrieve_s
        self.length = telegram_length
        self.ack_timeout_s, self.max_retries = ack_timeout_s, max_retries
        self.executed: list[tuple[str, str]] = []
        self.duplicates = 0
        self.retransmits = 0
        self.connections = 0
        self._seq = 0
        self._cache: dict[object, bytes | None] = {}
        self._acks: dict[int, asyncio.Future[None]] = {}
        self._pending_dest: dict[str, str] = {}
        self._moves: asyncio.Queue[tuple[str, str, str, str | None]] = asyncio.Queue()
        self._server: asyncio.Server | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    # --- lifecycle ------------------------------------------------------------------

    @property
    def port(self) -> int:
        """The TCP port listened on."""
        return self._port

    @property
    def url(self) -> str:
        """Where the driver connects."""
        return f"tcp://{self.host}:{self._port}"

    async def start(self) -> None:
        """Listen, and start the crane."""
        self._server = await asyncio.start_server(self._serve, self.host, self._port)
        self._port = self._server.sockets[0].getsockname()[1]
        self._spawn(self._crane(), "asrs-sim-crane")
        log.info("AS/RS simulator (%s) on %s", self.protocol, self.url)

    async def stop(self) -> None:
        """Stop listening, drop connections, stop the crane."""
        server, self._server = self._server, None
        if server is not None:
            server.close()
        await self.drop_connections()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if server is not None:
            await server.wait_closed()

    async def drop_connections(self) -> None:
        """Fault: close every host connection (the listener stays)."""
        for writer in list(self._writers):
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()
        await asyncio.sleep(0)

    def _spawn(self, coro, name: str) -> None:
        task = asyncio.create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # --- faults and state -----------------------------------------------------------

    def inject(self, fault: str) -> None:
        """Make ``fault`` happen once (see the module docstring)."""
        if fault not in ONCE:
            raise ValueError(f"unknown fault {fault!r}; known: {sorted(ONCE)}")
        self.rack.injected.add(fault)

    def crane_fault(self, duration_s: float) -> None:
        """The crane faults now for ``duration_s``: reported, then cleared."""
        self.rack.fault_until = self.rack.clock() + duration_s
        self._spawn(self._fault_cycle(duration_s), "asrs-sim-fault")

    async def _fault_cycle(self, duration_s: float) -> None:
        await self._report_fault(True)
        await asyncio.sleep(duration_s)
        await self._report_fault(False)

    def snapshot(self) -> dict[str, str]:
        """Occupied slots: slot → HU."""
        return self.rack.snapshot()

    @property
    def occupancy(self) -> tuple[int, int]:
        """(occupied, capacity)."""
        return len(self.rack.snapshot()), len(self.rack.slots)

    # --- the link -------------------------------------------------------------------

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self._writers.add(writer)
        self._writer = writer
        splitter = (
            osip.OsipSplitter(self.length) if self.protocol == "osip" else gb.GebhardtSplitter()
        )
        try:
            while data := await reader.read(4096):
                for frame in splitter.feed(data):
                    try:
                        if self.protocol == "osip":
                            self._on_osip(frame)
                        else:
                            self._on_gebhardt(frame)
                    except ValueError as err:
                        log.warning("AS/RS simulator: bad telegram %r: %s", frame[:60], err)
        except OSError:
            pass
        finally:
            self._writers.discard(writer)
            if self._writer is writer:
                self._writer = None
            writer.close()

    def _write(self, data: bytes) -> None:
        if self._writer is None or self._writer.is_closing():
            log.warning("AS/RS simulator: no host connected, %r lost", data[:40])
            return
        self._writer.write(data)

    def _reply(self, key: object, reply: bytes) -> None:
        """Send ``reply`` to a new host telegram (unless a drop is due) and cache it."""
        self._cache[key] = reply
        if self.rack.roll("drop_reply"):
            log.info("AS/RS simulator: dropped the reply to %r", key)
            return
        self._write(reply)

    def _repeat(self, key: object) -> bool:
        if key not in self._cache:
            return False
        self.duplicates += 1
        reply = self._cache[key]
        if reply is not None:
            self._write(reply)
        return True

    def _next_seq(self) -> int:
        if self.protocol == "osip":
            self._seq = (self._seq + 1) % osip.SEQ_MOD
        else:
            self._seq = gb.next_seq(self._seq)
        return self._seq

    def _now(self) -> str:
        return osip.stamp(datetime.now())

    # --- OSIP -----------------------------------------------------------------------

    def _osip(self, kind: str, seq: int, **fields: str | None) -> bytes:
        t = osip.OsipTelegram(kind, self.device_id, self.host_id, seq, self._now(), **fields)
        return osip.encode(t, self.length)

    def _on_osip(self, frame: bytes) -> None:
        try:
            t = osip.decode(frame, self.length)
        except osip.OsipUnknownType:
            self._write(self._osip("ERR_", self._next_seq(), error=osip.ERR_UNKNOWN_TYPE))
            return
        if t.type == "SYNQ":
            self._write(self._osip("SYNC", t.seq))
            return
        if t.type != "REQ_" or t.barcode is None:
            return  # RES_/SYNC/UPD_ … from the host need nothing from us
        key = (t.sender, t.seq, t.barcode, t.actual, t.target)
        if self._repeat(key):
            return
        if t.actual is not None:
            plan = self.rack.plan_store(t.barcode, t.target)
            kind, actual, target = "store", t.actual, plan.slot or t.target
        else:
            plan = self.rack.plan_retrieve(t.barcode)
            kind, actual, target = "retrieve", plan.slot, t.target or self.out_location
        error = osip.NO_ERROR if plan.reason is None else OSIP_CODES[plan.reason]
        reply = self._osip(
            "RES_",
            (t.seq + 1) % osip.SEQ_MOD,
            barcode=t.barcode,
            actual=actual,
            target=target,
            error=error,
        )
        self._reply(key, reply)
        self._accept(kind, t.barcode, plan, target, None)

    # --- Gebhardt -------------------------------------------------------------------

    def _on_gebhardt(self, frame: bytes) -> None:
        t = gb.decode(frame)
        if t.ack:
            future = self._acks.get(t.seq)
            if self.rack.roll("lose_ack"):
                log.info("AS/RS simulator: ignored the host's ack %03d", t.seq)
            elif future is not None and not future.done():
                future.set_result(None)
            return
        key = (t.sender, t.seq, t.body)
        if self._repeat(key):
            return
        self._reply(key, gb.encode(t.ack_for(self._now())))
        hu, tord = t.get("HU"), t.get("Tord")
        if hu is None or t.function not in gb.FUNCTIONS:
            log.warning("AS/RS simulator: ignored %r", t.body)
            return
        if t.function == "Store":
            plan = self.rack.plan_store(hu, t.get("Dest"))
            self._accept("store", hu, plan, plan.slot, tord)
        else:
            plan = self.rack.plan_retrieve(hu)
            self._accept("retrieve", hu, plan, t.get("Dest") or self.out_location, tord)

    async def _send_event(self, **fields: str | None) -> None:
        """Send a crane event and wait for its ack, sending it again when none comes."""
        seq = self._next_seq()
        frame = gb.encode(gb.message(seq, self.device_id, self.host_id, self._now(), **fields))
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._acks[seq] = future
        try:
            for attempt in range(self.max_retries + 1):
                if attempt:
                    self.retransmits += 1
                self._write(frame)
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self.ack_timeout_s):
                        await asyncio.shield(future)
                        return
            log.warning("AS/RS simulator: no ack to event %03d", seq)
        finally:
            self._acks.pop(seq, None)

    # --- the crane ------------------------------------------------------------------

    def _accept(self, kind: str, hu: str, plan: Plan, dest: str | None, tord: str | None) -> None:
        if plan.reason is None:
            assert plan.slot is not None and dest is not None
            self._moves.put_nowait((kind, hu, dest if kind == "store" else plan.slot, tord))
            if kind == "retrieve":
                self._pending_dest[hu] = dest
        elif self.protocol == "gebhardt":
            code = GB_CODES[plan.reason]
            self._spawn(
                self._send_event(
                    Event="Refused", Tord=tord, HU=hu, Code=code, Text=gb.ERROR_TEXTS[code]
                ),
                "asrs-sim-event",
            )

    async def _crane(self) -> None:
        while True:
            kind, hu, slot, tord = await self._moves.get()
            await asyncio.sleep(self.store_s if kind == "store" else self.retrieve_s)
            if kind == "store":
                self.rack.put(slot, hu)
                where = slot
            else:
                self.rack.take(slot)
                where = self._pending_dest.pop(hu, self.out_location)
            self.executed.append((kind, hu))
            await self._report_arrival(hu, where, tord)

    async def _report_arrival(self, hu: str, where: str, tord: str | None) -> None:
        if self.protocol == "osip":
            frame = self._osip("UPD_", self._next_seq(), barcode=hu, actual=where)
            self._write(frame)
            if self.rack.roll("duplicate_event"):
                self._write(frame)
            return
        again = self.rack.roll("duplicate_event")
        await self._send_event(Event="Arrival", Tord=tord, HU=hu, Loc=where)
        if again:
            self._seq -= 1  # the same telegram, same Seq
            await self._send_event(Event="Arrival", Tord=tord, HU=hu, Loc=where)

    async def _report_fault(self, on: bool) -> None:
        if self.protocol == "osip":
            error = osip.ERR_CRANE_FAULT if on else osip.NO_ERROR
            self._write(self._osip("SYSU", self._next_seq(), group="CRANE01", error=error))
            return
        code = gb.CODE_CRANE_FAULT
        await self._send_event(
            Event="Fault", Code=code, Text=gb.ERROR_TEXTS[code], State="On" if on else "Off"
        )
