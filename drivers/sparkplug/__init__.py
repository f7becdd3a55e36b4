"""Sparkplug B 3.0 over MQTT: our own payload codec and an edge node session.

``sparkplug_b.proto`` is written from the specification (chapter 6) and compiled into
``sparkplug_b_pb2.py`` by :mod:`drivers.sparkplug.generate` (grpcio-tools' protoc);
:mod:`~drivers.sparkplug.codec` turns payloads into our values and back,
:mod:`~drivers.sparkplug.topics` names topics and reads a host's STATE,
:mod:`~drivers.sparkplug.book` keeps the metrics, their aliases and what changed, and
:mod:`~drivers.sparkplug.edge_node` runs the session (bdSeq, seq, births, data by
exception, rebirth, the primary host) over :class:`drivers.mqtt.MqttLink`.
Knows nothing of parcels or lines.
"""

from drivers.sparkplug.codec import DataType, Metric, Payload, PayloadError, decode, encode
from drivers.sparkplug.edge_node import BDSEQ, REBIRTH, EdgeNode
from drivers.sparkplug.topics import NAMESPACE, HostState, MessageType, Topic, state_topic

__all__ = [
    "BDSEQ",
    "NAMESPACE",
    "REBIRTH",
    "DataType",
    "EdgeNode",
    "HostState",
    "MessageType",
    "Metric",
    "Payload",
    "PayloadError",
    "Topic",
    "decode",
    "encode",
    "state_topic",
]
