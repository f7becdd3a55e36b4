"""The JSON body of one upstream event, built from a journal record. Pure: no I/O.

One object per event::

    {"event_id", "type", "time", "line", "parcel_id", "sequence", "tracking_id",
     "barcode", "route", "chute", "reason", "reason_detail",
     "weight": {"kg", "raw", "stable", "legal_for_trade", "device"} | null,
     "dimensions": {"length_mm", "width_mm", "height_mm", "raw", "device"} | null,
     "volumetric_weight_kg"}

Measured values travel as JSON numbers written from the journal's exact decimal
strings (``"2.500"`` is sent as ``2.500``, never through a float), with the
device's raw text beside them; anything unknown is ``null``. ``time`` is ISO 8601
UTC with milliseconds and a ``Z``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from controller.parcels.state import ParcelEvent

_quote = json.encoder.encode_basestring_ascii  # type: ignore[attr-defined]

_TERMINAL_TYPES = {
    "sorted": "parcel.sorted",
    "rejected": "parcel.rejected",
    "lost": "parcel.lost",
}


def event_type(event: ParcelEvent) -> str | None:
    """The upstream event type of a journal record, or None when it is not reported."""
    if event.kind == "measured":
        return "parcel.measured"
    if event.kind == "terminal":
        return _TERMINAL_TYPES.get(event.state.value)
    return None


def iso_utc(wall_time: float) -> str:
    """``wall_time`` (epoch seconds) as ISO 8601 UTC with milliseconds: ``...T12:00:00.123Z``."""
    stamp = datetime.fromtimestamp(wall_time, tz=UTC).isoformat(timespec="milliseconds")
    return stamp.replace("+00:00", "Z")


def build_payload(
    *,
    event_id: str,
    type_: str,
    wall_time: float,
    line: str,
    session: int,
    sequence: int,
    event: ParcelEvent,
    measured: Mapping[str, Any] | None,
    assigned_why: str | None = None,
) -> dict[str, Any]:
    """The payload of ``event`` as a dict whose numbers are :class:`~decimal.Decimal`.

    ``measured`` is the detail of the parcel's latest ``measured`` record (the event's
    own detail for a ``parcel.measured``), ``assigned_why`` the explanation the
    decision gave when it answered the reject chute. Encode it with :func:`encode`.
    """
    detail = event.detail or {}
    m = _mapping(measured)
    return {
        "event_id": event_id,
        "type": type_,
        "time": iso_utc(wall_time),
        "line": line,
        "parcel_id": f"{session}-{event.uid}",
        "sequence": sequence,
        "tracking_id": event.tracking_id,
        "barcode": event.barcode,
        "route": event.route,
        "chute": event.chute,
        "reason": event.reason,
        "reason_detail": _reason_detail(event, detail, m, assigned_why),
        "weight": _weight(m.get("weight")),
        "dimensions": _dimensions(m.get("dimensions")),
        "volumetric_weight_kg": _number(m.get("volumetric_kg")),
    }


def encode(payload: Any) -> str:
    """Compact ASCII JSON of ``payload``; a :class:`~decimal.Decimal` becomes a JSON number
    written exactly as its decimal text, a non-finite one ``null``.

    The text is :func:`json.dumps`' (``allow_nan=False``) but for the decimals; it is built
    in one pass over the value (a ``json.dumps`` per leaf cost the journal writer about
    half its CPU)."""
    parts: list[str] = []
    _encode_into(payload, parts.append)
    return "".join(parts)


def _encode_into(value: Any, out: Callable[[str], None]) -> None:
    kind = type(value)
    if kind is str:
        out(_quote(value))
    elif value is None:
        out("null")
    elif value is True:
        out("true")
    elif value is False:
        out("false")
    elif kind is int or (kind is float and math.isfinite(value)):
        out(repr(value))
    elif isinstance(value, Decimal):
        out(str(value) if value.is_finite() else "null")
    elif isinstance(value, Mapping):
        out("{")
        first = True
        for key, item in value.items():
            if not first:
                out(",")
            first = False
            out(_quote(str(key)))
            out(":")
            _encode_into(item, out)
        out("}")
    elif isinstance(value, list | tuple):
        out("[")
        for i, item in enumerate(value):
            if i:
                out(",")
            _encode_into(item, out)
        out("]")
    else:  # int and str subclasses, non-finite floats (ValueError), what JSON cannot hold
        out(json.dumps(value, allow_nan=False))


def _reason_detail(
    event: ParcelEvent,
    detail: Mapping[str, Any],
    measured: Mapping[str, Any],
    assigned_why: str | None,
) -> str | None:
    if event.kind == "measured":
        errors = [str(measured[k]) for k in ("weight_error", "dimensions_error") if measured.get(k)]
        return "; ".join(errors) or None
    for key in ("why", "anomaly"):
        if detail.get(key):
            return str(detail[key])
    if event.state.value == "rejected":
        plc_result = detail.get("plc_result")
        if plc_result in (None, "REJECT_REQUESTED"):
            return assigned_why or None
        return f"the PLC reported {plc_result}"
    return None


def _weight(value: Any) -> dict[str, Any] | None:
    if not isinstance(value, Mapping):
        return None
    return {
        "kg": _number(value.get("kg")),
        "raw": value.get("raw"),
        "stable": value.get("stable"),
        "legal_for_trade": value.get("legal_for_trade"),
        "device": value.get("device"),
    }


def _dimensions(value: Any) -> dict[str, Any] | None:
    if not isinstance(value, Mapping):
        return None
    return {
        "length_mm": _number(value.get("length_mm")),
        "width_mm": _number(value.get("width_mm")),
        "height_mm": _number(value.get("height_mm")),
        "raw": value.get("raw"),
        "device": value.get("device"),
    }


def _number(text: Any) -> Decimal | None:
    """The exact decimal of a journal string (``"1.250"``), None when absent or not a number."""
    if text is None or isinstance(text, bool):
        return None
    try:
        value = Decimal(str(text))
    except (InvalidOperation, ValueError):
        return None
    return value if value.is_finite() else None


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}
