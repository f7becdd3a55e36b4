"""The line as a Sparkplug B 3.0 edge node (a front door beside the API and OPC UA).

Owns :class:`~controller.sparkplug.service.SparkplugService` (reads the line's snapshots,
publishes changes through :class:`drivers.sparkplug.EdgeNode`, maps NCMD/DCMD writes to
supervisor commands, audited) and :mod:`~controller.sparkplug.metrics` (the devices and
metrics, pure). May use ``controller.line`` and below, ``drivers.sparkplug``; used by
the CLI (``controller.cli.serve`` runs it when the line config has ``sparkplug:``).
"""

from controller.sparkplug.service import SparkplugService

__all__ = ["SparkplugService"]
