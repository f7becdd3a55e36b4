"""Sparkplug topics (``spBv1.0/{group}/{type}/{edge_node}[/{device}]``) and the host's
STATE message (``spBv1.0/STATE/{host_id}``, JSON ``{"online": bool, "timestamp": ms}``).

Group, edge node and device ids are UTF-8 without ``+``, ``/`` and ``#``
(tck-id-topic-structure-namespace-valid-group-id, -valid-edge-node-id, -valid-device-id);
the device id is on D* topics only (…-device-id-associated-message-types,
…-device-id-non-associated-message-types).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import StrEnum

NAMESPACE = "spBv1.0"
"""The Sparkplug B namespace element (tck-id-topic-structure-namespace-a)."""


class MessageType(StrEnum):
    """The message_type element of a Sparkplug topic."""

    NBIRTH = "NBIRTH"
    NDEATH = "NDEATH"
    NDATA = "NDATA"
    NCMD = "NCMD"
    DBIRTH = "DBIRTH"
    DDEATH = "DDEATH"
    DDATA = "DDATA"
    DCMD = "DCMD"

    @property
    def for_device(self) -> bool:
        """True for the D* types (their topic ends in a device id)."""
        return self.value.startswith("D")


def check_id(kind: str, value: str) -> str:
    """``value`` if it can be a Sparkplug id (non-empty, no ``+ / #``), else ValueError."""
    if not value or any(c in value for c in "+/#"):
        raise ValueError(f"{kind} {value!r}: a Sparkplug id is non-empty without '+', '/' or '#'")
    return value


@dataclass(frozen=True, slots=True)
class Topic:
    """A parsed edge node or device topic."""

    group: str
    type: MessageType
    edge_node: str
    device: str | None = None

    def __post_init__(self) -> None:
        check_id("group id", self.group)
        check_id("edge node id", self.edge_node)
        if self.type.for_device != (self.device is not None):
            raise ValueError(f"{self.type}: a device id is on D* topics, and only there")
        if self.device is not None:
            check_id("device id", self.device)

    def __str__(self) -> str:
        tail = f"/{self.device}" if self.device is not None else ""
        return f"{NAMESPACE}/{self.group}/{self.type}/{self.edge_node}{tail}"

    @classmethod
    def parse(cls, topic: str) -> Topic:
        """The parts of ``topic``; ValueError naming what is wrong (STATE topics too:
        they are :func:`parse_state_topic`'s)."""
        parts = topic.split("/")
        if len(parts) not in (4, 5) or parts[0] != NAMESPACE:
            raise ValueError(f"{topic!r}: expected {NAMESPACE}/group/TYPE/edge_node[/device]")
        try:
            kind = MessageType(parts[2])
        except ValueError:
            raise ValueError(f"{topic!r}: {parts[2]!r} is not a Sparkplug message type") from None
        return cls(parts[1], kind, parts[3], parts[4] if len(parts) == 5 else None)


def state_topic(host_id: str) -> str:
    """The STATE topic of host application ``host_id``."""
    return f"{NAMESPACE}/STATE/{check_id('host id', host_id)}"


def parse_state_topic(topic: str) -> str | None:
    """The host id of a STATE topic, None for any other topic."""
    parts = topic.split("/")
    if len(parts) == 3 and parts[0] == NAMESPACE and parts[1] == "STATE" and parts[2]:
        return parts[2]
    return None


@dataclass(frozen=True, slots=True)
class HostState:
    """A host application's STATE: online or not, as of ``timestamp`` (ms, UTC)."""

    online: bool
    timestamp: int

    def to_json(self) -> bytes:
        """The UTF-8 JSON payload."""
        return json.dumps({"online": self.online, "timestamp": self.timestamp}).encode()

    @classmethod
    def from_json(cls, payload: bytes) -> HostState:
        """Parse a STATE payload; ValueError when it is not ``{"online": bool,
        "timestamp": number}``."""
        try:
            data = json.loads(payload.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as err:
            raise ValueError(f"STATE payload is not UTF-8 JSON: {err}") from err
        if not isinstance(data, dict):
            raise ValueError("STATE payload: expected a JSON object")
        online, timestamp = data.get("online"), data.get("timestamp")
        if not isinstance(online, bool):
            raise ValueError(f"STATE payload: 'online' must be true or false, got {online!r}")
        if isinstance(timestamp, bool) or not isinstance(timestamp, int | float):
            raise ValueError(f"STATE payload: 'timestamp' must be a number, got {timestamp!r}")
        return cls(online, int(timestamp))
