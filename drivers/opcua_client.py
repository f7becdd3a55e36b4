"""What the OPC UA drivers share: closing a session without ever raising."""

from __future__ import annotations

import asyncio
import logging

from asyncua import Client
from asyncua.ua.uaerrors import UaError

log = logging.getLogger(__name__)


async def close_client(client: Client, timeout_s: float, name: str, address: str) -> None:
    """Close the session (within ``timeout_s``) and the socket; errors are only logged."""
    try:
        await asyncio.wait_for(client.disconnect(), timeout_s)
    except (OSError, TimeoutError, UaError) as err:
        log.debug("%s (%s): disconnect: %r", name, address, err)
    finally:
        client.disconnect_socket()
