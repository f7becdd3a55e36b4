"""VDA 5050 topics: ``{interfaceName}/{majorVersion}/{manufacturer}/{serialNumber}/{topic}``."""

from __future__ import annotations

from dataclasses import dataclass

TOPICS = ("order", "instantActions", "state", "visualization", "connection", "factsheet")


def major(version: str) -> str:
    """The topic's version level for a protocol version: ``2.1.0`` → ``v2``."""
    return "v" + version.split(".", 1)[0]


def topic(interface: str, version: str, manufacturer: str, serial: str, kind: str) -> str:
    """The topic of one vehicle's ``kind`` of message."""
    if kind not in TOPICS:
        raise ValueError(f"unknown VDA 5050 topic {kind!r}")
    return f"{interface}/{major(version)}/{manufacturer}/{serial}/{kind}"


def fleet_filter(interface: str, version: str, kind: str) -> str:
    """The subscription filter for one ``kind`` of message of every vehicle."""
    return f"{interface}/{major(version)}/+/+/{kind}"


@dataclass(frozen=True)
class TopicParts:
    """A topic taken apart."""

    manufacturer: str
    serial: str
    kind: str


def parse_topic(name: str) -> TopicParts:
    """``uagv/v2/Acme/AMR-01/state`` → its manufacturer, serial number and kind."""
    parts = name.split("/")
    if len(parts) != 5 or parts[4] not in TOPICS:
        raise ValueError(f"not a VDA 5050 topic: {name!r}")
    return TopicParts(parts[2], parts[3], parts[4])


class HeaderIds:
    """``headerId`` counters, one per topic, each +1 per message sent on it."""

    def __init__(self) -> None:
        self._next: dict[str, int] = {}

    def next(self, kind: str) -> int:
        """The next header id on ``kind``'s topic (0, 1, 2, …)."""
        value = self._next.get(kind, 0)
        self._next[kind] = value + 1
        return value
