"""LaneSort's own OPC UA server, for SCADA and MES (see :mod:`controller.opcua.server`).

Modules: :mod:`~controller.opcua.packml` (PackTags to OPC 30050 state numbers),
:mod:`~controller.opcua.model` (the address space and its updates),
:mod:`~controller.opcua.access` (users, roles, permissions),
:mod:`~controller.opcua.transport` (asyncua's server with the password checked off the loop),
:mod:`~controller.opcua.server` (life cycle, methods, alarm events).
"""
