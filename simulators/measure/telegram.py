"""The configurable delimited telegram of dimensioning tunnels (SICK, Datalogic, custom).

Built from the device's :class:`~plc_configs.telegram.TelegramFormat`: ``start``, the
fields joined by ``separator``, ``end``, then the BCC byte
(:func:`plc_configs.telegram.bcc_xor`) when ``bcc`` is ``xor``. Numbers are written
without a point, scaled by the field's implied decimals and zero padded to its width
(321 mm as ``length`` width 5, decimals 1 -> ``03210``); text fields are space padded.

Fields: ``sequence`` (1, 2 … per telegram, wrapping at the width), ``barcode`` (the
parcel's label, or ``no_read`` when nothing is in the field or the parcel is a no-read),
``length``/``width``/``height`` (in ``length_unit``), ``weight`` (in ``weight_unit``; when
the telegram carries a ``weight_unit`` field, in g if the weight field has fewer than 3
implied decimals, else kg, so the value keeps gram resolution),
``length_unit``/``weight_unit``, ``volume`` (L x W x H in the length unit cubed),
``status`` (the first ``legal_status``/``not_legal_status`` when the format has them,
e.g. READY/NOTREADY, else ``0`` ok / ``1`` not legal), ``reason`` (zeros, or empty
without a width; ``NODIM_BOX_STACKED``, or ``1`` padded to a fixed width, when the
dimensions failed), ``alibi`` (``A`` + 6 digits for each legal weight), ``ignore`` (empty).

With a ``trigger`` the device answers each trigger string it receives; without one it
pushes a telegram when a parcel's front passes the scan point (:meth:`on_scanned`).
Faults: error -> no dimensions (zeroed, NODIM reason, not legal); unstable or overload
-> weight not legal (status NOTREADY; zeroed when ``zero_weight_means_not_legal``);
bad_checksum -> a wrong BCC.
"""

from __future__ import annotations

from plc_configs.telegram import TelegramField, TelegramFormat, bcc_xor
from simulators.measure.base import KG_PER_LB, MM_PER_INCH, Lookup, MeasureProtocol, Reply
from simulators.measure.faults import Draw, Fault
from simulators.parcels import ParcelSpec, ReaderOutcome

PER_MM = {"mm": 1.0, "cm": 0.1, "m": 0.001, "in": 1 / MM_PER_INCH}
PER_KG = {"g": 1000.0, "kg": 1.0, "lb": 1 / KG_PER_LB, "oz": 16 / KG_PER_LB}
NODIM_REASON = "NODIM_BOX_STACKED"


def number(value: float, spec: TelegramField) -> str:
    """``value`` scaled by the implied decimals, zero padded to the field's width."""
    text = str(round(value * 10**spec.decimals))
    return text.zfill(spec.width) if spec.width else text


def text(value: str, spec: TelegramField) -> str:
    """A text field: digits zero padded, anything else space padded to the width."""
    if not spec.width:
        return value
    return value.zfill(spec.width) if value.isdigit() else value.ljust(spec.width)


class DelimitedTelegram(MeasureProtocol):
    """A tunnel sending one delimited telegram per parcel."""

    def __init__(self, lookup: Lookup, fmt: TelegramFormat):
        super().__init__(lookup)
        self.fmt = fmt
        self.trigger = fmt.trigger.encode("latin-1") if fmt.trigger else None
        self.sequence = 0
        self.alibi = 0
        self.weight_unit = fmt.weight_unit
        weight = next((f for f in fmt.fields if f.name == "weight"), None)
        if weight is not None and "weight_unit" in fmt.field_names():
            self.weight_unit = "kg" if weight.decimals >= 3 else "g"

    def requests(self, buffer: bytearray) -> list[bytes]:
        """Each trigger string received is one request; anything else is ignored."""
        if self.trigger is None:
            buffer.clear()
            return []
        out = []
        while (at := buffer.find(self.trigger)) >= 0:
            out.append(self.trigger)
            del buffer[: at + len(self.trigger)]
        keep = len(self.trigger) - 1
        del buffer[: max(0, len(buffer) - keep)]
        return out

    def reply(self, request: bytes, draw: Draw) -> Reply | None:
        """The telegram for the parcel in the field now."""
        return Reply(self.telegram(self.lookup(), draw))

    def on_scanned(self, parcel: ParcelSpec, draw: Draw) -> Reply | None:
        """Push the parcel's telegram (only when the format has no trigger)."""
        if self.trigger is not None:
            return None
        return Reply(self.telegram(parcel, draw))

    def _status(self, legal: bool) -> str:
        fmt = self.fmt
        if fmt.legal_status or fmt.not_legal_status:
            if legal:
                return fmt.legal_status[0] if fmt.legal_status else "READY"
            return fmt.not_legal_status[0] if fmt.not_legal_status else "NOTREADY"
        return "0" if legal else "1"

    def telegram(self, parcel: ParcelSpec | None, draw: Draw) -> bytes:
        """The whole frame (start … end, BCC) for ``parcel`` (None: nothing in the field)."""
        fmt = self.fmt
        self.sequence += 1
        no_dims = Fault.ERROR in draw
        legal = not ({Fault.UNSTABLE, Fault.OVERLOAD} & draw.faults) and not no_dims
        dims = (0.0, 0.0, 0.0)
        kg = 0.0
        barcode = fmt.no_read
        if parcel is not None:
            if not no_dims:
                dims = (parcel.length_mm, parcel.width_mm, parcel.height_mm)
            kg = parcel.weight_kg
            if parcel.reader_outcome is not ReaderOutcome.NO_READ:
                barcode = parcel.barcode
        if not legal and fmt.zero_weight_means_not_legal:
            kg = 0.0
        alibi = ""
        if legal and kg > 0:
            self.alibi += 1
            alibi = f"A{self.alibi:06d}"
        per_mm = PER_MM[fmt.length_unit]
        length, width, height = (d * per_mm for d in dims)
        values = []
        for spec in fmt.fields:
            name = spec.name
            if name == "sequence":
                modulo = 10**spec.width if spec.width else 10**9
                values.append(str(self.sequence % modulo).zfill(spec.width or 0))
            elif name in ("length", "width", "height", "volume", "weight"):
                value = {
                    "length": length,
                    "width": width,
                    "height": height,
                    "volume": length * width * height,
                    "weight": kg * PER_KG[self.weight_unit],
                }[name]
                values.append(number(value, spec))
            elif name == "reason":
                if no_dims:
                    bad = NODIM_REASON if not spec.width else "1".zfill(spec.width)
                    values.append(bad)
                else:
                    values.append("0" * (spec.width or 0))
            else:
                values.append(
                    text(
                        {
                            "barcode": barcode,
                            "weight_unit": self.weight_unit,
                            "length_unit": fmt.length_unit,
                            "status": self._status(legal),
                            "alibi": alibi,
                            "ignore": "",
                        }[name],
                        spec,
                    )
                )
        start = fmt.start.encode("latin-1")
        out = start + fmt.separator.join(values).encode("latin-1") + fmt.end.encode("latin-1")
        if fmt.bcc == "xor":
            bcc = bcc_xor(out, start)
            out += bytes((bcc ^ 0x01 if Fault.BAD_CHECKSUM in draw else bcc,))
        return out
