"""Sparkplug B rules checked on a captured stream of many edge nodes over a long run.

:func:`violations` replays what a primary host received, per edge node, across every
reconnect, and lists each broken rule with its specification id:

- ``tck-id-topics-nbirth-seq-num``: an NBIRTH has seq 0;
- ``tck-id-topics-nbirth-bdseq-included``: an NBIRTH has a ``bdSeq`` metric;
- ``tck-id-payloads-sequence-num-incrementing``: within a session every NDATA, DBIRTH and
  DDATA has the previous message's seq + 1 (255 → 0);
- ``tck-id-payloads-dbirth-order`` / ``tck-id-topics-ndata-*``: no DBIRTH, NDATA, DDATA or
  DDEATH of a node before its NBIRTH or after its NDEATH;
- ``tck-id-payloads-ddata-order``: no DDATA of a device without its DBIRTH in the session
  (none yet, or after its DDEATH);
- ``tck-id-payloads-ndeath-seq``: an NDEATH has no seq;
- ``tck-id-topics-nbirth-mqtt`` / ``tck-id-payloads-ndeath-will-message-qos``: births and
  data at QoS 0, NDEATH at QoS 1, none retained.

An NDEATH whose bdSeq is not the current NBIRTH's is stale (a will the broker published
late): a host ignores it (``tck-id-operational-behavior-edge-node-termination-host-action-
ndeath-node-offline`` checks the bdSeq), so it is counted, not a violation; one that
matches ends the session.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from drivers.sparkplug import BDSEQ
from tests.drivers.sparkplug.host import Seen


@dataclass
class NodeHistory:
    """What one edge node did, as the host saw it."""

    births: int = 0
    deaths: int = 0
    stale_deaths: int = 0
    data: int = 0
    online: bool = False
    bdseq: int | None = None
    seq: int | None = None
    devices: set[str] = field(default_factory=set)
    """The devices born in the current session (DBIRTH, and no DDEATH since)."""


@dataclass
class StreamReport:
    """Every node's history and the rules broken."""

    nodes: dict[str, NodeHistory] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


def _bdseq(seen: Seen) -> int | None:
    for metric in seen.decoded().metrics:
        if metric.name == BDSEQ:
            return int(metric.value)  # type: ignore[arg-type]
    return None


def violations(seen: list[Seen]) -> StreamReport:
    """Check ``seen`` (in arrival order) and return each node's history and the problems."""
    report = StreamReport()
    for index, message in enumerate(seen):
        topic = message.sparkplug
        if topic is None:
            continue
        node = report.nodes.setdefault(topic.edge_node, NodeHistory())
        where = f"#{index} {message.topic}"
        payload = message.decoded()
        kind = topic.type
        if message.retain:
            report.problems.append(f"{where}: retained (tck-id-topics-nbirth-mqtt)")
        if kind == "NDEATH":
            if message.qos != 1:
                report.problems.append(
                    f"{where}: QoS {message.qos} (tck-id-payloads-ndeath-will-message-qos)"
                )
            if payload.seq is not None:
                report.problems.append(f"{where}: has a seq (tck-id-payloads-ndeath-seq)")
            if node.online and _bdseq(message) == node.bdseq:
                node.online, node.deaths = False, node.deaths + 1
            else:
                node.stale_deaths += 1
            continue
        if kind in ("NCMD", "DCMD"):
            continue
        if message.qos != 0:
            report.problems.append(f"{where}: QoS {message.qos} (tck-id-topics-nbirth-mqtt)")
        if kind == "NBIRTH":
            bdseq = _bdseq(message)
            if bdseq is None:
                report.problems.append(f"{where}: no bdSeq (tck-id-topics-nbirth-bdseq-included)")
            if payload.seq != 0:
                report.problems.append(f"{where}: seq {payload.seq} (tck-id-topics-nbirth-seq-num)")
            node.online, node.bdseq, node.seq = True, bdseq, payload.seq
            node.births += 1
            node.devices.clear()
            continue
        if not node.online:
            report.problems.append(
                f"{where}: {kind} outside a session (tck-id-payloads-dbirth-order)"
            )
            continue
        expected = ((node.seq or 0) + 1) % 256
        if payload.seq != expected:
            report.problems.append(
                f"{where}: seq {payload.seq}, expected {expected} "
                "(tck-id-payloads-sequence-num-incrementing)"
            )
        node.seq = payload.seq
        device = topic.device or ""
        if kind == "DBIRTH":
            node.devices.add(device)
        elif kind == "DDEATH":
            node.devices.discard(device)
        elif kind == "DDATA" and device not in node.devices:
            report.problems.append(
                f"{where}: DDATA of {device} without its DBIRTH (tck-id-payloads-ddata-order)"
            )
        node.data += kind in ("NDATA", "DDATA")
    return report
