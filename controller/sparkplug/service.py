"""The line's Sparkplug B edge node: reads the line, publishes changes, takes writes.

:class:`SparkplugService` defines every metric from the line's first snapshot, then reads
a snapshot every ``publish_interval_s`` and hands the values to the
:class:`~drivers.sparkplug.EdgeNode`, which publishes only what changed. Writes:

- NCMD ``Line Control/Start`` / ``Line Control/Stop`` = true → the PackML command
  (:meth:`~controller.line.actions.LineActions.command`);
- DCMD ``chute-N`` ``Enabled`` = true/false → :meth:`set_chute_enabled`.

A field device (the PLC, a reader, a scale, a dimensioner) whose link is down is dead to
the host: its last values (``Connected`` false, ``Last Error``), then its DDEATH; its DBIRTH
when the link is back (tck-id-operational-behavior-device-ddeath).

A write is carried out only while the configured ``command_host`` is the online primary
host (the broker's ACL is what lets only that host's user publish commands). Every write
is audited under ``Actor(host, "scada", "sparkplug")``; a refused one is logged, counted
(:attr:`SparkplugService.refused`) and audited as refused.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING

from controller.auth.audit import Actor
from controller.errors import CommandRefused
from controller.line.views import ThroughputMeter, terminal_count
from controller.sparkplug.metrics import (
    CHUTE_METRICS,
    ENABLED,
    FIELD_METRICS,
    LINE,
    LINE_METRICS,
    NODE_METRICS,
    START,
    STOP,
    chute_of,
    chute_values,
    field_online,
    field_values,
    line_values,
)
from drivers.sparkplug import EdgeNode
from drivers.sparkplug.codec import Value
from plc_configs.contract import PackMLCommand

if TYPE_CHECKING:
    from controller.line.controller import LineController
    from controller.line.snapshot import LineSnapshot
    from plc_configs.sparkplug import SparkplugSection

log = logging.getLogger(__name__)

BDSEQ_FILE = "sparkplug-bdseq"
"""In the line's data folder: the bdSeq the next CONNECT uses (kept across restarts)."""
ROLE = "scada"
VIA = "sparkplug"


def read_bdseq(path: Path) -> int:
    """The kept bdSeq (0 when none, or unreadable: a fresh start)."""
    try:
        return int(path.read_text().strip()) % 256
    except (OSError, ValueError):
        return 0


def write_bdseq(path: Path, bdseq: int) -> None:
    """Keep ``bdseq`` (replaced whole: a crash leaves the old value or the new one)."""
    tmp = path.with_suffix(".tmp")
    try:
        tmp.write_text(f"{bdseq}\n")
        os.replace(tmp, path)
    except OSError as err:
        log.warning("sparkplug: cannot keep bdSeq in %s: %s", path, err)


class SparkplugService:
    """The line as Sparkplug edge node ``section.edge_node_id`` (default: the line's name)."""

    def __init__(self, line: LineController, section: SparkplugSection):
        self.line = line
        self.section = section
        self.edge_node_id = section.edge_node_id or line.config.line.name
        self._bdseq_path = line.data_dir / BDSEQ_FILE
        self.node = EdgeNode(
            section.mqtt,
            section.group_id,
            self.edge_node_id,
            primary_host=section.primary_host,
            client_id=section.mqtt.client_id or f"lanesort-spb-{self.edge_node_id}",
            on_command=self._command,
            first_bdseq=read_bdseq(self._bdseq_path),
            on_bdseq=self._keep_bdseq,
        )
        self._chutes = sorted(line.config.topology.chute_ids)
        self._meter = ThroughputMeter(section.publish_interval_s)
        self.accepted = 0
        self.refused = 0
        self._define(line.snapshot())

    def _keep_bdseq(self, bdseq: int) -> None:
        """Keep the next CONNECT's bdSeq for the next start (written in a thread)."""
        with contextlib.suppress(RuntimeError):  # no running loop: nothing to keep it on
            asyncio.get_running_loop().run_in_executor(None, write_bdseq, self._bdseq_path, bdseq)

    def _define(self, snap: LineSnapshot) -> None:
        for name, datatype in NODE_METRICS.items():
            self.node.define(None, name, datatype, False)
        for device, values in self._values(snap).items():
            kinds = LINE_METRICS if device == LINE else CHUTE_METRICS
            if chute_of(device) is None and device != LINE:
                kinds = FIELD_METRICS
            for name, value in values.items():
                self.node.define(device, name, kinds[name], value)
        self._set_online(snap)

    def _set_online(self, snap: LineSnapshot) -> None:
        """A field device whose link is down is dead to the host (its DDEATH)."""
        for device, up in field_online(snap).items():
            self.node.set_online(device, up)

    def _values(self, snap: LineSnapshot) -> dict[str, dict[str, Value]]:
        throughput = self._meter.add(time.monotonic(), terminal_count(snap))
        disabled = self.line.plc.disabled_by_host
        return {
            LINE: line_values(snap, throughput),
            **chute_values(snap, self._chutes, disabled),
            **field_values(snap),
        }

    async def run(self) -> None:
        """Run the edge node and read the line until cancelled (then NDEATH, DISCONNECT).

        The node is closed before its tasks are cancelled: cancelling its link first would
        disconnect (the broker then drops the will) before the NDEATH could go out."""
        node = asyncio.create_task(self.node.run(), name="sparkplug-node")
        poll = asyncio.create_task(self._poll(), name="sparkplug-poll")
        try:
            done, _ = await asyncio.wait({node, poll}, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                task.result()  # an error of either ends the service with it
        finally:
            poll.cancel()
            with contextlib.suppress(Exception):
                async with asyncio.timeout(3):
                    await self.node.close()
            node.cancel()
            await asyncio.gather(node, poll, return_exceptions=True)

    async def _poll(self) -> None:
        while True:
            await asyncio.sleep(self.section.publish_interval_s)
            snap = self.line.snapshot()
            for device, values in self._values(snap).items():
                for name, value in values.items():
                    self.node.set(device, name, value)
            self._set_online(snap)

    # --- writes ------------------------------------------------------------------------

    def _refusal(self) -> str | None:
        host = self.section.command_host
        if host is None:
            return "this line takes no Sparkplug writes (sparkplug.command_host is not set)"
        if not self.node.host_online:
            return f"the command host {host} is not the online primary host"
        return None

    async def _command(self, device: str | None, name: str, value: Value) -> None:
        actor = Actor(self.section.command_host or "unknown host", ROLE, VIA)
        target = f"{device or self.edge_node_id}/{name}"
        why = self._refusal()
        if why is None:
            try:
                if self._carry_out(device, name, value, actor):
                    self.accepted += 1
                return
            except CommandRefused as err:  # the line audited it
                self.refused += 1
                log.warning("sparkplug: %s = %r refused: %s", target, value, err)
                return
        self.refused += 1
        log.warning("sparkplug: %s = %r refused: %s", target, value, why)
        self.line.audit.record(actor, "sparkplug.write", target, why, ok=False)

    def _carry_out(self, device: str | None, name: str, value: Value, actor: Actor) -> bool:
        """Do the write; False when it asks nothing (a command metric set to false).
        CommandRefused for a metric that cannot be written or a value it cannot take."""
        if device is None and name in (START, STOP):
            if value is not True:
                return False
            self.line.command(PackMLCommand.START if name == START else PackMLCommand.STOP, actor)
            return True
        chute = chute_of(device)
        if chute is not None and name == ENABLED and isinstance(value, bool):
            self.line.set_chute_enabled(chute, value, actor)
            return True
        why = f"{device or self.edge_node_id}/{name} cannot be written"
        self.line.audit.record(actor, "sparkplug.write", f"{device}/{name}", why, ok=False)
        raise CommandRefused(why)
