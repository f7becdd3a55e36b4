"""What the OPC UA simulators share: a loopback asyncua server that starts fast."""

from __future__ import annotations

import asyncio

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
    _cancel_safe_subscription_delete(server)
    return server, await server.register_namespace(namespace)


def _cancel_safe_subscription_delete(server: Server) -> None:
    """Let a subscription's deletion finish though its request is cancelled.

    asyncua (2.1) takes the subscriptions out of its table, then stops their loops in
    tasks of their own. When the client's socket closes meanwhile (a client that timed out
    on a stalled PLC, then gave up its DeleteSubscriptions), the request is cancelled
    before those tasks start: the loops run on, in no table, past the server's stop.
    """
    service = server.iserver.subscription_service
    delete = service.delete_subscriptions

    async def delete_subscriptions(ids: list[int]) -> list[ua.StatusCode]:
        return await asyncio.shield(delete(ids))

    service.delete_subscriptions = delete_subscriptions  # type: ignore[method-assign]
