"""What the OPC UA simulators share: a loopback asyncua server that starts fast."""

from __future__ import annotations

from asyncua import Server, ua

from plc_configs.opcua_space import fast_standard_space


async def new_server(url: str, title: str, namespace: str, fast_init: bool) -> tuple[Server, int]:
    """An initialised (not yet started) server at ``url`` without security or clock, and
    the index of ``namespace`` on it."""
    server = Server()
    if fast_init:
        fast_standard_space(server.iserver)
    server.disable_clock(True)  # its 1 s loop would make stop() wait up to 1 s
    await server.init()
    server.set_endpoint(url)
    server.set_server_name(title)
    server.set_security_policy([ua.SecurityPolicyType.NoSecurity])
    return server, await server.register_namespace(namespace)
