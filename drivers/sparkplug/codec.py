"""Sparkplug B payloads to and from our values: :class:`Metric` and :class:`Payload`.

The datatypes LaneSort publishes (Int32, Int64, UInt32, UInt64, Float, Double, Boolean,
String, DateTime) map to the protobuf value fields as the specification's "Datatype
Details" say: signed integers go two's complement into the unsigned ``int_value``
(32 bit) or ``long_value`` (64 bit), DateTime is ``long_value`` in ms since the epoch.
A metric without a value is ``is_null`` with no value field
(tck-id-operational-behavior-data-publish-nbirth-values).

A data or command message may carry only an alias and a value (no datatype): decoding
it takes the datatypes its birth gave (``types``: alias → DataType) to read the value.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from enum import IntEnum

from google.protobuf.message import DecodeError

from drivers.sparkplug import sparkplug_b_pb2 as pb

Value = int | float | bool | str | None
"""A metric's value (None: null)."""


class DataType(IntEnum):
    """The specification's basic datatypes (the ``DataType`` enum of the .proto)."""

    INT8 = 1
    INT16 = 2
    INT32 = 3
    INT64 = 4
    UINT8 = 5
    UINT16 = 6
    UINT32 = 7
    UINT64 = 8
    FLOAT = 9
    DOUBLE = 10
    BOOLEAN = 11
    STRING = 12
    DATETIME = 13
    TEXT = 14


_BITS = {
    DataType.INT8: 8,
    DataType.INT16: 16,
    DataType.INT32: 32,
    DataType.INT64: 64,
    DataType.UINT8: 8,
    DataType.UINT16: 16,
    DataType.UINT32: 32,
    DataType.UINT64: 64,
    DataType.DATETIME: 64,
}
_SIGNED = {DataType.INT8, DataType.INT16, DataType.INT32, DataType.INT64}
_LONG = {DataType.INT64, DataType.UINT64, DataType.DATETIME}


class PayloadError(ValueError):
    """A payload that cannot be encoded or decoded (the message says which metric and why)."""


@dataclass(frozen=True, slots=True)
class Metric:
    """One metric of a payload: births carry name, alias and datatype; data only alias."""

    name: str | None
    value: Value
    datatype: DataType | None = None
    alias: int | None = None
    timestamp: int | None = None
    """ms since the epoch (UTC) the value was taken."""

    @property
    def label(self) -> str:
        """The name, else ``alias N`` (for messages)."""
        return self.name if self.name is not None else f"alias {self.alias}"


@dataclass(frozen=True, slots=True)
class Payload:
    """A decoded Sparkplug B payload."""

    metrics: tuple[Metric, ...] = ()
    timestamp: int | None = None
    """ms since the epoch (UTC) the message was sent."""
    seq: int | None = None


def _check_int(metric: Metric, datatype: DataType, value: Value) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise PayloadError(f"metric {metric.label}: {datatype.name} needs an int, got {value!r}")
    bits = _BITS[datatype]
    low, high = (
        (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if datatype in _SIGNED else (0, 2**bits - 1)
    )
    if not low <= value <= high:
        raise PayloadError(f"metric {metric.label}: {value} is out of {datatype.name}'s range")
    return value


def _put_value(out: pb.Payload.Metric, metric: Metric, datatype: DataType) -> None:
    value = metric.value
    if value is None:
        out.is_null = True
        return
    if datatype in _BITS:
        number = _check_int(metric, datatype, value)
        if datatype in _LONG:
            out.long_value = number & 0xFFFF_FFFF_FFFF_FFFF
        else:
            out.int_value = number & 0xFFFF_FFFF
    elif datatype in (DataType.FLOAT, DataType.DOUBLE):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise PayloadError(f"metric {metric.label}: {datatype.name} needs a number")
        if datatype is DataType.FLOAT:
            out.float_value = float(value)
        else:
            out.double_value = float(value)
    elif datatype is DataType.BOOLEAN:
        if not isinstance(value, bool):
            raise PayloadError(f"metric {metric.label}: Boolean needs a bool, got {value!r}")
        out.boolean_value = value
    elif datatype in (DataType.STRING, DataType.TEXT):
        if not isinstance(value, str):
            raise PayloadError(f"metric {metric.label}: {datatype.name} needs a str")
        out.string_value = value
    else:  # pragma: no cover - every DataType member is handled above
        raise PayloadError(f"metric {metric.label}: datatype {datatype} is not supported")


def encode(payload: Payload, types: Mapping[int, DataType] | None = None) -> bytes:
    """The protobuf bytes of ``payload``. A metric without a datatype (a data message's)
    takes its alias's from ``types``; PayloadError for a value its datatype cannot hold."""
    out = pb.Payload()
    if payload.timestamp is not None:
        out.timestamp = payload.timestamp
    if payload.seq is not None:
        out.seq = payload.seq
    for metric in payload.metrics:
        m = out.metrics.add()
        if metric.name is not None:
            m.name = metric.name
        if metric.alias is not None:
            m.alias = metric.alias
        if metric.timestamp is not None:
            m.timestamp = metric.timestamp
        datatype = metric.datatype
        if datatype is not None:
            m.datatype = int(datatype)
        elif metric.alias is not None and types is not None:
            datatype = types.get(metric.alias)
        if datatype is None:
            raise PayloadError(f"metric {metric.label}: no datatype to encode its value with")
        _put_value(m, metric, datatype)
    return out.SerializeToString()


def _signed(raw: int, bits: int) -> int:
    raw &= (1 << bits) - 1
    return raw - (1 << bits) if raw >> (bits - 1) else raw


def _get_value(m: pb.Payload.Metric, datatype: DataType | None, label: str) -> Value:
    field = m.WhichOneof("value")
    if m.is_null or field is None:
        return None
    raw = getattr(m, field)
    if field in ("int_value", "long_value"):
        if datatype in _SIGNED:
            return _signed(raw, _BITS[datatype])
        return int(raw)
    if field in ("float_value", "double_value"):
        return float(raw)
    if field in ("boolean_value", "string_value"):
        return raw
    raise PayloadError(f"metric {label}: value field {field} is not supported")


def decode(data: bytes, types: Mapping[int, DataType] | None = None) -> Payload:
    """The payload in ``data``; a metric without a datatype is read with its alias's from
    ``types``. PayloadError for bytes that are not a Sparkplug B payload."""
    message = pb.Payload()
    try:
        message.ParseFromString(data)
    except DecodeError as err:
        raise PayloadError(f"not a Sparkplug B payload: {err}") from err
    metrics = []
    for m in message.metrics:
        name = m.name if m.HasField("name") else None
        alias = m.alias if m.HasField("alias") else None
        label = name if name is not None else f"alias {alias}"
        datatype: DataType | None = None
        if m.HasField("datatype"):
            try:
                datatype = DataType(m.datatype)
            except ValueError as err:
                raise PayloadError(
                    f"metric {label}: datatype {m.datatype} is not supported"
                ) from err
        typed = datatype or (types.get(alias) if types and alias is not None else None)
        metrics.append(
            Metric(
                name,
                _get_value(m, typed, label),
                datatype,
                alias,
                m.timestamp if m.HasField("timestamp") else None,
            )
        )
    return Payload(
        tuple(metrics),
        message.timestamp if message.HasField("timestamp") else None,
        message.seq if message.HasField("seq") else None,
    )


def same_value(a: Value, b: Value) -> bool:
    """True when ``a`` and ``b`` are the same metric value (NaN equals NaN; 1 != True)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return a == b
