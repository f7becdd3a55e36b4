"""Broker ACL rules for a Sparkplug group, for :class:`drivers.mqtt.MosquittoBroker`.

Following the specification's security chapter (non-normative): an edge node's user may
publish its own births, data and deaths and read commands and STATE; the host's user may
do everything, so only it can publish NCMD and DCMD. The edge node cannot tell who
published a command: this is what makes "only from the configured host" true.
"""

from __future__ import annotations

from collections.abc import Iterable

from drivers.sparkplug.topics import NAMESPACE, check_id


def sparkplug_acl(
    group: str, host_user: str, node_users: Iterable[tuple[str, str]]
) -> dict[str | None, list[tuple[str, str]]]:
    """user → [(access, topic)]: ``host_user`` reads and writes the whole namespace; each
    ``(user, edge_node_id)`` publishes only its own node's and devices' N*/D* messages and
    reads its commands and every STATE. Anonymous clients get nothing."""
    check_id("group id", group)
    acl: dict[str | None, list[tuple[str, str]]] = {host_user: [("readwrite", f"{NAMESPACE}/#")]}
    for user, node in node_users:
        check_id("edge node id", node)
        base = f"{NAMESPACE}/{group}"
        rules = [("write", f"{base}/{kind}/{node}") for kind in ("NBIRTH", "NDATA", "NDEATH")]
        rules += [("write", f"{base}/{kind}/{node}/+") for kind in ("DBIRTH", "DDATA", "DDEATH")]
        rules += [
            ("read", f"{base}/NCMD/{node}"),
            ("read", f"{base}/DCMD/{node}/+"),
            ("read", f"{NAMESPACE}/STATE/+"),
        ]
        acl.setdefault(user, []).extend(rules)
    return acl
