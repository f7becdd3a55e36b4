"""The Sparkplug B codec: our values round-trip through the protobuf; the committed
generated module is what protoc makes of the .proto; topics parse and STATE reads."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from drivers.sparkplug import sparkplug_b_pb2 as pb
from drivers.sparkplug.book import MetricBook
from drivers.sparkplug.codec import DataType, Metric, Payload, PayloadError, decode, encode
from drivers.sparkplug.generate import PROTO, generate
from drivers.sparkplug.topics import HostState, MessageType, Topic, parse_state_topic, state_topic

CASES = [
    (DataType.INT32, -2_147_483_648, "int_value", 0x8000_0000),
    (DataType.INT32, -1, "int_value", 0xFFFF_FFFF),
    (DataType.INT64, -5, "long_value", 2**64 - 5),
    (DataType.UINT32, 4_294_967_295, "int_value", 4_294_967_295),
    (DataType.UINT64, 2**64 - 1, "long_value", 2**64 - 1),
    (DataType.FLOAT, 1.5, "float_value", 1.5),
    (DataType.DOUBLE, 1234.5678, "double_value", 1234.5678),
    (DataType.BOOLEAN, True, "boolean_value", True),
    (DataType.STRING, "Exécute ✓", "string_value", "Exécute ✓"),
    (DataType.DATETIME, 1_700_000_000_123, "long_value", 1_700_000_000_123),
]


@pytest.mark.parametrize(("datatype", "value", "field", "raw"), CASES)
def test_values_round_trip_in_the_specified_field(datatype, value, field, raw):
    metric = Metric("m", value, datatype, alias=7, timestamp=1_700_000_000_000)
    data = encode(Payload((metric,), 1_700_000_000_001, 42))
    message = pb.Payload.FromString(data)
    assert message.metrics[0].WhichOneof("value") == field
    assert getattr(message.metrics[0], field) == raw
    assert message.metrics[0].datatype == int(datatype)
    assert decode(data) == Payload((metric,), 1_700_000_000_001, 42)


def test_null_is_is_null_without_a_value_and_data_metrics_use_their_births_types():
    data = encode(Payload((Metric("p99", None, DataType.DOUBLE, alias=3),), 1, 0))
    message = pb.Payload.FromString(data)
    assert message.metrics[0].is_null and message.metrics[0].WhichOneof("value") is None
    assert decode(data).metrics[0].value is None
    # a data message: alias only, no datatype on the wire, read with the birth's
    data = encode(Payload((Metric(None, -3, alias=9),), 2, 1), {9: DataType.INT32})
    message = pb.Payload.FromString(data)
    assert not message.metrics[0].HasField("datatype")
    assert not message.metrics[0].HasField("name")
    assert decode(data, {9: DataType.INT32}).metrics[0].value == -3
    assert decode(data).metrics[0].value == 2**32 - 3  # without the type: unsigned


@pytest.mark.parametrize(
    ("datatype", "value", "message"),
    [
        (DataType.INT32, 2**31, "out of INT32's range"),
        (DataType.UINT64, -1, "out of UINT64's range"),
        (DataType.INT64, True, "INT64 needs an int"),
        (DataType.BOOLEAN, 1, "Boolean needs a bool"),
        (DataType.STRING, 5, "STRING needs a str"),
    ],
)
def test_a_value_its_datatype_cannot_hold_is_refused_naming_the_metric(datatype, value, message):
    with pytest.raises(PayloadError, match=f"metric Line/Count: .*{message}"):
        encode(Payload((Metric("Line/Count", value, datatype),)))


def test_garbage_is_not_a_payload():
    with pytest.raises(PayloadError, match="not a Sparkplug B payload"):
        decode(b"\xff\xff\xff")
    nan = decode(encode(Payload((Metric("x", math.nan, DataType.DOUBLE),)))).metrics[0].value
    assert math.isnan(nan)


def test_our_datatypes_are_the_protos():
    for member in DataType:
        assert (
            pb.DataType.Value(
                member.name.title().replace("Uint", "UInt").replace("Datetime", "DateTime")
            )
            == member
        )
    assert pb.Payload.Metric.DESCRIPTOR.fields_by_name["bytes_value"].number == 16
    assert pb.Payload.DESCRIPTOR.fields_by_name["body"].number == 5


def test_the_committed_module_is_what_protoc_makes_of_the_proto(tmp_path: Path):
    fresh = generate(tmp_path).read_text().splitlines()
    committed = (PROTO.parent / "sparkplug_b_pb2.py").read_text().splitlines()
    version = "# Protobuf Python Version:"
    assert [ln for ln in fresh if not ln.startswith(version)] == [
        ln for ln in committed if not ln.startswith(version)
    ]


def test_topics_parse_and_print():
    node = Topic.parse("spBv1.0/hub/NDATA/line-1")
    assert node == Topic("hub", MessageType.NDATA, "line-1")
    device = Topic("hub", MessageType.DCMD, "line-1", "chute-3")
    assert str(device) == "spBv1.0/hub/DCMD/line-1/chute-3"
    assert Topic.parse(str(device)) == device
    for bad, why in [
        ("spBv1.0/hub/NDATA/line-1/dev", "a device id is on D\\* topics"),
        ("spBv1.0/hub/DDATA/line-1", "a device id is on D\\* topics"),
        ("spBv1.0/hub/NOPE/line-1", "not a Sparkplug message type"),
        ("spAv1.0/hub/NDATA/line-1", "expected spBv1.0/group"),
        ("spBv1.0/h+b/NDATA/line-1", "group id 'h\\+b'"),
    ]:
        with pytest.raises(ValueError, match=why):
            Topic.parse(bad)
    assert state_topic("scada") == "spBv1.0/STATE/scada"
    assert parse_state_topic("spBv1.0/STATE/scada") == "scada"
    assert parse_state_topic("spBv1.0/hub/NDATA/x") is None


def test_state_payloads():
    state = HostState(True, 1_700_000_000_000)
    assert HostState.from_json(state.to_json()) == state
    assert HostState.from_json(b'{"online": false, "timestamp": 5}') == HostState(False, 5)
    for bad in (b"ONLINE", b'{"online": "yes", "timestamp": 1}', b'{"online": true}'):
        with pytest.raises(ValueError, match="STATE payload"):
            HostState.from_json(bad)


def test_the_book_hands_out_births_and_only_changes_by_alias():
    book = MetricBook()
    book.define(None, "bdSeq", DataType.INT64, 0, 1)
    book.define(None, "Node Control/Rebirth", DataType.BOOLEAN, False, 1, alias=False)
    book.define("line", "State", DataType.STRING, "IDLE", 1)
    book.define("chute-1", "Enabled", DataType.BOOLEAN, True, 1)
    aliases = [m.alias for d in (None, "line", "chute-1") for m in book.birth(d)]
    assert aliases == [1, None, 2, 3]
    assert not book.set("line", "State", "IDLE", 2)  # unchanged: nothing to report
    assert book.set("line", "State", "EXECUTE", 3)
    assert book.pending() == ["line"]
    assert book.take_changes("line") == [Metric(None, "EXECUTE", None, 2, 3)]
    assert book.pending() == []
    assert book.resolve("chute-1", Metric(None, False, alias=3)) == ("Enabled", DataType.BOOLEAN)
    assert book.resolve("line", Metric(None, False, alias=3)) is None  # another device's alias
    with pytest.raises(ValueError, match="already defined"):
        book.define("line", "State", DataType.STRING, "", 1)
