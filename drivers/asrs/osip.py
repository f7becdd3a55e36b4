"""An AS/RS speaking OpenWMS OSIP telegrams (:mod:`plc_configs.osip`) over one TCP link.

OSIP has no ack telegram and no host-initiated order: the PLC asks (``REQ_``) and the
host answers (``RES_``, SEQ + 1); a PLC that gets no answer asks again. **LaneSort's
assumption** for host-initiated store and retrieve orders: the host uses the same
request/response pair in the other direction.

* Store: host ``REQ_`` (barcode = the HU, actual = the in-port, target = a slot or none)
  → PLC ``RES_`` with SEQ + 1 (error ``00000000`` = taken; any other code = refused,
  e.g. ``00000102`` location occupied) → later PLC ``UPD_`` (barcode, actual = the slot)
  = stored.
* Retrieve: host ``REQ_`` with **no actual location** (the PLC knows where the HU is)
  and target = the out-port → ``RES_`` (``00000103`` unknown handling unit) → ``UPD_``
  with actual = the out-port = retrieved.
* No ``RES_`` in ``reply_timeout`` → the same REQ_ (same SEQ, same date) again, up to
  ``max_retries``; the PLC must answer a repeated REQ_ without executing it twice.
* ``UPD_`` with an error code ends the order as a ``fault``; ``SYSU`` reports a system
  fault (error ≠ 0) or its end; ``LOCU`` a location's state; ``ERR_`` a telegram the
  PLC could not take. A repeated UPD_/SYSU/LOCU/ERR_ (same SEQ and content) is
  reported once.
* The PLC's own ``REQ_`` (a unit at a decision point) is answered with a ``RES_``
  (target none, error 0) and reported as ``moved``; a repeat gets the same RES_.
  ``SYNQ`` is answered by ``SYNC`` echoing its SEQ; an unknown type by ``ERR_``
  ``00000010``.

A site whose PLC takes host orders another way (a transport-order telegram, or RES_
only to its own REQ_ at the in-port) needs that mapping here; the interface stays.
"""

from __future__ import annotations

import logging
from datetime import datetime

from drivers.asrs.base import AsrsEvent
from drivers.asrs.engine import Order, TelegramStorage
from drivers.errors import ProtocolError
from plc_configs import osip

log = logging.getLogger(__name__)


class OsipStorage(TelegramStorage):
    """An AS/RS over OSIP; implements :class:`~drivers.asrs.base.StorageSystem`."""

    def __init__(
        self,
        name: str,
        url: str,
        *,
        our_id: str = "MFC__",
        device_id: str = "SPS03",
        in_location: str = "FGIN/IPNT/0001/0000/0000",
        out_location: str = "FGOU/OPNT/0001/0000/0000",
        telegram_length: int = osip.DEFAULT_LENGTH,
        reply_timeout_s: float = 2.0,
        max_retries: int = 3,
    ):
        super().__init__(
            name,
            url,
            osip.OsipSplitter(telegram_length),
            in_location=_location(name, url, in_location) or "",
            out_location=_location(name, url, out_location) or "",
            reply_timeout_s=reply_timeout_s,
            max_retries=max_retries,
        )
        self.our_id, self.device_id = osip.pad_id(our_id), osip.pad_id(device_id)
        self.length = telegram_length
        self._seq = 0

    def _next_seq(self) -> int:
        self._seq = (self._seq + 1) % osip.SEQ_MOD
        return self._seq

    def _telegram(self, kind: str, seq: int, **fields: str | None) -> bytes:
        date = osip.stamp(datetime.now())
        return osip.encode(
            osip.OsipTelegram(kind, self.our_id, self.device_id, seq, date, **fields),
            self.length,
        )

    async def store(
        self,
        hu: str,
        *,
        source: str | None = None,
        dest: str | None = None,
        order_id: str | None = None,
    ) -> str:
        """Order ``hu`` stored (see the module docstring); the order id once taken."""
        return await self._order(order_id, "store", hu, source or self.in_location, dest)

    async def retrieve(
        self, hu: str, *, dest: str | None = None, order_id: str | None = None
    ) -> str:
        """Order ``hu`` retrieved to ``dest`` (default the out-port); the order id."""
        return await self._order(order_id, "retrieve", hu, None, dest or self.out_location)

    async def _order(
        self, order_id: str | None, kind: str, hu: str, source: str | None, dest: str | None
    ) -> str:
        source = _location(self.name, self.address, source)
        dest = _location(self.name, self.address, dest)
        order, new = self.new_order(order_id, kind, hu, source, dest)
        if order.taken:
            return order.order_id
        if new:
            try:
                seq = self._next_seq()
                order.frame = self._telegram("REQ_", seq, barcode=hu, actual=source, target=dest)
            except osip.OsipError as err:
                del self.orders[order.order_id]
                raise ValueError(f"{self.name}: cannot send {kind} {hu!r}: {err}") from err
            order.reply_key = ("RES_", (seq + 1) % osip.SEQ_MOD)
        reply = await self.send(order.frame, order.reply_key, f"RES_ to the {kind} of {hu}")
        assert isinstance(reply, osip.OsipTelegram)
        order.taken = True
        if not reply.ok:
            self.emit(self._event("refused", order, reply, reply.actual))
        return order.order_id

    def _event(
        self, kind: str, order: Order | None, t: osip.OsipTelegram, location: str | None
    ) -> AsrsEvent:
        failed = not t.ok
        return AsrsEvent(
            kind,  # type: ignore[arg-type]
            hu=order.hu if order else t.barcode,
            location=location,
            order_id=order.order_id if order else None,
            error_code=t.error if failed else None,
            error_text=osip.error_text(t.error) if failed else None,
            raw=f"{t.type} seq {t.seq}",
        )

    async def handle(self, frame: bytes) -> None:
        """Act on one telegram from the PLC."""
        try:
            t = osip.decode(frame, self.length)
        except osip.OsipUnknownType as err:
            log.warning("%s: %s; answering ERR_", self.name, err)
            await self.link.write(
                self._telegram("ERR_", self._next_seq(), error=osip.ERR_UNKNOWN_TYPE)
            )
            return
        if t.receiver != self.our_id:
            raise ProtocolError(
                self.name, self.address, f"telegram for {t.receiver!r}, we are {self.our_id!r}"
            )
        if t.type == "RES_":
            if not self.answer(("RES_", t.seq), t):
                log.info(
                    "%s: RES_ seq %d answers nothing waiting (late or repeated)", self.name, t.seq
                )
            return
        if t.type == "SYNQ":
            await self.link.write(self._telegram("SYNC", t.seq))
            return
        key = (t.type, t.seq, t.barcode, t.actual, t.target, t.group, t.location, t.error)
        repeated, reply = self.seen(key)
        if repeated:
            if reply is not None:
                await self.link.write(reply)
            return
        reply = None
        if t.type == "REQ_":
            reply = self._telegram(
                "RES_", (t.seq + 1) % osip.SEQ_MOD, barcode=t.barcode, actual=t.actual
            )
            await self.link.write(reply)
        self.remember(key, reply)
        self._report(t)

    def _report(self, t: osip.OsipTelegram) -> None:
        if t.type in ("UPD_", "REQ_"):
            order = self._open_order(t.barcode)
            if order is None or t.type == "REQ_":
                self.emit(self._event("moved" if t.ok else "fault", None, t, t.actual))
            elif not t.ok:
                self.emit(self._event("fault", order, t, t.actual))
            elif order.kind == "store" and t.actual not in (None, order.source):
                self.emit(self._event("stored", order, t, t.actual))
            elif order.kind == "retrieve" and t.actual == order.dest:
                self.emit(self._event("retrieved", order, t, t.actual))
            else:
                self.emit(self._event("moved", order, t, t.actual))
        elif t.type in ("SYSU", "LOCU", "ERR_"):
            kind = "cleared" if t.ok and t.type != "ERR_" else "fault"
            self.emit(self._event(kind, None, t, t.location or t.group))
        else:
            log.info("%s: ignored %s seq %d from the PLC", self.name, t.type, t.seq)

    def _open_order(self, barcode: str | None) -> Order | None:
        if barcode is None:
            return None
        key = osip.barcode_key(barcode)
        for order in reversed(self.open_orders()):  # the newest, if an HU was ordered twice
            if osip.barcode_key(order.hu) == key:
                return order
        return None


def _location(name: str, url: str, location: str | None) -> str | None:
    try:
        return osip.normalise_location(location)
    except osip.OsipError as err:
        raise ValueError(f"{name} ({url}): {err}") from None
