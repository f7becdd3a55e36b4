"""Field meaning of a delimited telegram: the texts of one frame, by name, to ``Dimensions``.

* ``sequence``: digits → int (empty → None).
* ``barcode``: stripped; the format's ``no_read`` or empty → None.
* ``length``/``width``/``height``/``weight``: numbers (see :func:`units.parse_number`)
  in ``length_unit``/``weight_unit`` (the fields, else the format's defaults); an empty
  weight is None.
* ``status``: in ``not_legal_status``, or not in a non-empty ``legal_status`` → not legal
  for trade, flag ``status:<value>``.
* ``reason``: non-empty and not all zeros (``NODIM_BOX_STACKED``) → no dimension.
* L, W and H all zero with ``zero_means_no_dimension`` → reason ``zero_dimensions``.
* zero weight with ``zero_weight_means_not_legal`` → weight None, not legal, flag
  ``weight:zeroed``.
* ``alibi``: non-empty → flag ``alibi:<id>`` (the legal-for-trade memory id).
* ``volume`` and ``ignore``: not interpreted.

A measurement without dimensions is never legal for trade.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal

from drivers.dimensioner.base import Dimensions
from drivers.dimensioner.units import KG_PER, MM_PER, BadNumber, parse_number, to_kg, to_mm
from drivers.errors import ProtocolError
from plc_configs.telegram import TelegramField, TelegramFormat

Bad = Callable[[str], ProtocolError]
"""Makes the ProtocolError for one frame from a reason."""

_LENGTHS = ("length", "width", "height")


def interpret_fields(
    named: Mapping[str, tuple[TelegramField, str]], fmt: TelegramFormat, raw: str, bad: Bad
) -> Dimensions:
    """``Dimensions`` from the field texts of one frame, by field name."""

    def text(name: str) -> str | None:
        return named[name][1].strip(" ") if name in named else None

    def number(name: str) -> Decimal:
        field, value = named[name]
        try:
            return parse_number(value, field.decimals)
        except BadNumber:
            raise bad(f"field {name}: garbled number {value!r}") from None

    flags: list[str] = []
    legal = True
    status = text("status")
    if status is not None and (
        status in fmt.not_legal_status or (fmt.legal_status and status not in fmt.legal_status)
    ):
        legal = False
        flags.append(f"status:{status}")
    if text("alibi"):
        flags.append(f"alibi:{text('alibi')}")
    length_unit = _unit(text("length_unit"), fmt.length_unit, MM_PER, "length_unit", bad)
    weight_unit = _unit(text("weight_unit"), fmt.weight_unit, KG_PER, "weight_unit", bad)

    weight = to_kg(number("weight"), weight_unit) if text("weight") else None
    if weight is not None and weight == 0 and fmt.zero_weight_means_not_legal:
        weight, legal = None, False
        flags.append("weight:zeroed")

    reason = text("reason") or None
    if reason is not None and not reason.strip("0"):
        reason = None
    lengths: list[Decimal | None] = [None, None, None]
    if reason is None:
        lengths = [to_mm(number(name), length_unit) for name in _LENGTHS]
        if fmt.zero_means_no_dimension and all(v == 0 for v in lengths):
            reason, lengths = "zero_dimensions", [None, None, None]
    return Dimensions(
        lengths[0],
        lengths[1],
        lengths[2],
        legal_for_trade=legal and reason is None,
        raw=raw,
        weight_kg=weight,
        no_dimension_reason=reason,
        sequence=_sequence(text("sequence"), bad),
        barcode=_barcode(text("barcode"), fmt.no_read),
        flags=tuple(flags),
    )


def _unit(
    value: str | None, default: str, known: Mapping[str, Decimal], name: str, bad: Bad
) -> str:
    if not value:
        return default
    if value.lower() not in known:
        raise bad(f"field {name}: unknown unit {value!r}")
    return value.lower()


def _sequence(value: str | None, bad: Bad) -> int | None:
    if not value:
        return None
    if not (value.isascii() and value.isdigit()) or len(value) > 18:
        raise bad(f"field sequence: garbled number {value!r}")
    return int(value)


def _barcode(value: str | None, no_read: str) -> str | None:
    if value is None or value == "" or value == no_read.strip(" "):
        return None
    return value
