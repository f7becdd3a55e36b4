"""An AS/RS speaking Gebhardt-like ``/Seq:…/End/`` telegrams (:mod:`plc_configs.gebhardt`).

Every telegram is acked by its receiver with the same Seq (body ``>``); a sender with
no ack after ``reply_timeout`` sends the same telegram again (same Seq, same bytes), up
to ``max_retries``, then DeviceTimeout. Each side counts its own Seq (001–999).

* Store: ``Function:Store/Tord/HU/Src[/Dest]`` → ack = taken; later the crane's
  ``Event:Arrival`` with that ``Tord`` and ``Loc`` = the slot → ``stored``.
* Retrieve: ``Function:Retrieve/Tord/HU/Dest`` → ack; ``Event:Arrival`` at the
  out-port → ``retrieved``.
* ``Event:Refused`` or ``Event:TordDelete`` (``Code``/``Text``) → ``refused``;
  ``Event:Fault/State:On`` → ``fault`` (ending the order it names, if any),
  ``State:Off`` → ``cleared``; ``PosPass``/``ZoneEntry`` → ``moved``.

Every event is acked, a repeated one (same Seq, sender and body) acked again and
reported once.
"""

from __future__ import annotations

import logging
from datetime import datetime

from drivers.asrs.base import AsrsEvent
from drivers.asrs.engine import Order, TelegramStorage
from plc_configs import gebhardt as gb

log = logging.getLogger(__name__)


class GebhardtStorage(TelegramStorage):
    """An AS/RS over Gebhardt-like telegrams; implements ``StorageSystem``."""

    def __init__(
        self,
        name: str,
        url: str,
        *,
        our_id: str = "WCS",
        device_id: str = "CRA-01",
        in_location: str = "IP-01",
        out_location: str = "OP-01",
        reply_timeout_s: float = 2.0,
        max_retries: int = 3,
    ):
        super().__init__(
            name,
            url,
            gb.GebhardtSplitter(),
            in_location=in_location,
            out_location=out_location,
            reply_timeout_s=reply_timeout_s,
            max_retries=max_retries,
        )
        self.our_id, self.device_id = our_id, device_id
        self._seq = 0

    def _now(self) -> str:
        return gb.stamp(datetime.now())

    async def store(
        self,
        hu: str,
        *,
        source: str | None = None,
        dest: str | None = None,
        order_id: str | None = None,
        dims_mm: tuple[int, int, int] | None = None,
        weight_g: int | None = None,
    ) -> str:
        """Order ``hu`` stored from ``source`` (default the in-port); the order id once
        acked. ``dims_mm`` (length, width, height) and ``weight_g`` are sent when known."""
        extra: dict[str, str | int | None] = {"Wgt": weight_g, "WgtUnit": "g" if weight_g else None}
        if dims_mm:
            extra = {"Len": dims_mm[0], "Wid": dims_mm[1], "Hgt": dims_mm[2], **extra}
        order, _ = self.new_order(order_id, "store", hu, source or self.in_location, dest)
        return await self._send_order(order, "Store", Src=order.source, Dest=dest, **extra)

    async def retrieve(
        self, hu: str, *, dest: str | None = None, order_id: str | None = None
    ) -> str:
        """Order ``hu`` brought to ``dest`` (default the out-port); the order id."""
        order, _ = self.new_order(order_id, "retrieve", hu, None, dest or self.out_location)
        return await self._send_order(order, "Retrieve", Dest=order.dest)

    async def _send_order(self, order: Order, function: str, **fields: str | int | None) -> str:
        if order.taken:
            return order.order_id
        if not order.frame:
            self._seq = gb.next_seq(self._seq)
            telegram = gb.message(
                self._seq,
                self.our_id,
                self.device_id,
                self._now(),
                Function=function,
                Tord=order.order_id,
                HU=order.hu,
                **fields,
            )
            try:
                order.frame = gb.encode(telegram)
            except gb.GebhardtError as err:
                del self.orders[order.order_id]
                raise ValueError(
                    f"{self.name}: cannot send {function} {order.hu!r}: {err}"
                ) from err
            order.reply_key = ("ack", self._seq)
        await self.send(order.frame, order.reply_key, f"ack to the {function} of {order.hu}")
        order.taken = True
        return order.order_id

    async def handle(self, frame: bytes) -> None:
        """Act on one telegram from the crane."""
        t = gb.decode(frame)
        if t.ack:
            if not self.answer(("ack", t.seq), t):
                log.info("%s: ack seq %03d answers nothing waiting", self.name, t.seq)
            return
        ack = gb.encode(t.ack_for(self._now()))
        repeated, _ = self.seen((t.seq, t.sender, t.body))
        await self.link.write(ack)
        if repeated:
            return
        self.remember((t.seq, t.sender, t.body), None)
        self._report(t)

    def _report(self, t: gb.GebhardtTelegram) -> None:
        event, hu = t.event, t.get("HU")
        order = self.orders.get(t.get("Tord") or "")
        loc = t.get("Loc") or t.get("Zone")
        code = t.get("Code")
        text = t.get("Text") or (gb.ERROR_TEXTS.get(code or "") if code else None)
        kind: str
        if event == "Arrival" and order is not None and order.kind == "store":
            kind = "stored"
        elif event == "Arrival" and order is not None and loc == order.dest:
            kind = "retrieved"
        elif event in ("Arrival", "PosPass", "ZoneEntry"):
            kind = "moved"
        elif event in ("Refused", "TordDelete"):
            kind = "refused"
            text = text or "transport order deleted by the crane"
        elif event == "Fault":
            kind = "cleared" if t.get("State") == "Off" else "fault"
        else:
            log.warning("%s: ignored telegram %r", self.name, t.body)
            return
        self.emit(
            AsrsEvent(
                kind,  # type: ignore[arg-type]
                hu=hu or (order.hu if order else None),
                location=loc,
                order_id=order.order_id if order else None,
                error_code=code if kind in ("refused", "fault") else None,
                error_text=text if kind in ("refused", "fault") else None,
                raw=f"{event} seq {t.seq:03d}",
            )
        )
