"""The ``lanesort`` command line: a front door, imported by nothing else in the controller.

Owns the command (:mod:`~controller.cli.command`: ``run``, ``demo``, ``probe``, ``token``,
``user``, ``check-config``), serving the API and the OPC UA server inside the
controller's event loop (:mod:`~controller.cli.serve`), the demo with its simulator and
TMS children (:mod:`~controller.cli.demo`, :mod:`~controller.cli.demo_tms`,
:mod:`~controller.cli.child_process`), the operator console on standard input
(:mod:`~controller.cli.console`), the device probe for commissioning
(:mod:`~controller.cli.probe`) and the SIGTERM handling that makes a stop clean
(:mod:`~controller.cli.stop_signal`).

May use: every controller package. ``python -m controller.cli`` runs it without the HMI;
the ``lanesort`` script (``hmi.cli``) adds the HMI.
"""

from controller.cli.command import main

__all__ = ["main"]
