"""LaneSort's own OPC UA server, for SCADA and MES: a front door, imported by nothing else
in the controller.

Modules: :mod:`~controller.opcua.packml` (PackTags to OPC 30050 state numbers),
:mod:`~controller.opcua.model` (the address space and its updates),
:mod:`~controller.opcua.access` (users, roles, permissions),
:mod:`~controller.opcua.transport` (asyncua's server with the password checked off the loop),
:mod:`~controller.opcua.server` (life cycle, methods, alarm events). The CLI serves it
(:mod:`controller.cli.serve`).

May use: :mod:`controller.line` and the capabilities below it; never the CLI or the API.
"""

from controller.opcua.server import LineOpcuaServer

__all__ = ["LineOpcuaServer"]
