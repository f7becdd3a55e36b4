"""What the OPC UA drivers share: opening a session with clear errors, closing it quietly."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable

from asyncua import Client
from asyncua.ua.uaerrors import UaError

from drivers.errors import ConnectionLost, DeviceTimeout, DriverError, ProtocolError

log = logging.getLogger(__name__)


async def close_client(client: Client, timeout_s: float, name: str, address: str) -> None:
    """Close the session (within ``timeout_s``) and the socket; errors are only logged."""
    try:
        async with asyncio.timeout(timeout_s):
            await client.disconnect()
    except (OSError, TimeoutError, UaError) as err:
        log.debug("%s (%s): disconnect: %r", name, address, err)
    finally:
        client.disconnect_socket()


async def open_client(url: str, timeout_s: float, name: str) -> Client:
    """A connected session to ``url`` (a minute's session timeout, so a dead controller's
    session frees the device soon); ConnectionLost naming the URL when it cannot."""
    client = Client(url, timeout=timeout_s, watchdog_intervall=1.0)
    client.session_timeout = 60_000
    try:
        async with asyncio.timeout(timeout_s):
            await client.connect()
    except (OSError, TimeoutError, UaError) as err:
        client.disconnect_socket()
        raise ConnectionLost(name, url, f"cannot connect to {url}: {err!r}") from err
    return client


def browse_error(err: BaseException, name: str, url: str, what: str) -> BaseException:
    """The driver error for a failure while browsing ``what`` (the error itself if typed)."""
    if isinstance(err, DriverError):
        return err
    if isinstance(err, TimeoutError):
        return DeviceTimeout(name, url, f"browsing {what} timed out")
    if isinstance(err, OSError):
        return ConnectionLost(name, url, f"link lost while browsing {what}: {err!r}")
    if isinstance(err, UaError):
        return ProtocolError(name, url, f"browsing {what} failed: {err!r}")
    return err


async def browse(
    discovery: Awaitable[None], timeout_s: float, name: str, url: str, what: str
) -> None:
    """Run ``discovery`` within ``timeout_s``, its failures mapped by :func:`browse_error`."""
    try:
        async with asyncio.timeout(timeout_s):
            await discovery
    except (DriverError, TimeoutError, OSError, UaError) as err:
        raise browse_error(err, name, url, what) from err


class OpcuaDevice:
    """An OPC UA device driver's session life cycle: connect, browse its model, close.

    Subclasses implement :meth:`_discover` (find their nodes in the server's address
    space) and, if they cache what they found, :meth:`_forget`.
    """

    model = "the device model"
    """What :meth:`_discover` looks for, in error messages."""

    def __init__(
        self, name: str, url: str, node: str | None, timeout_s: float, connect_timeout_s: float
    ):
        if not url.startswith("opc.tcp://"):
            raise ValueError(f"{name}: expected opc.tcp://HOST:PORT[/path], got {url!r}")
        self.name = name
        self.address = url
        self.node = node
        self.timeout_s = timeout_s
        self.connect_timeout_s = connect_timeout_s
        self.ns = 0
        self._client: Client | None = None

    @property
    def connected(self) -> bool:
        """True after :meth:`connect` until :meth:`close`."""
        return self._client is not None

    async def connect(self) -> None:
        """Open a session and find the device's nodes; nothing stays open on failure."""
        await self.close()
        client = await open_client(self.address, self.connect_timeout_s, self.name)
        self._client = client
        try:
            await browse(
                self._discover(client),
                self.connect_timeout_s,
                self.name,
                self.address,
                self.model,
            )
        except BaseException:
            await self.close()
            raise

    async def close(self) -> None:
        """Close the session and the socket; safe to call twice."""
        client, self._client = self._client, None
        self._forget()
        if client is None:
            return
        await close_client(client, self.connect_timeout_s, self.name, self.address)

    async def _discover(self, client: Client) -> None:
        raise NotImplementedError

    def _forget(self) -> None:
        """Drop what :meth:`_discover` found (nothing by default)."""
