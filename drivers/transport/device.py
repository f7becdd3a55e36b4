"""A device behind one byte link: the part every serial/TCP driver shares."""

from __future__ import annotations

from drivers.transport.link import ByteLink, Framer, open_link


class LinkDevice:
    """Name, address and one :class:`ByteLink`; connect, close, link state, garbage count."""

    def __init__(self, name: str, url: str, framer: Framer, timeout_s: float):
        self.name = name
        self.timeout_s = timeout_s
        self.link: ByteLink = open_link(name, url, framer)
        self.address = self.link.address

    @property
    def connected(self) -> bool:
        """True while the link is open."""
        return self.link.connected

    @property
    def garbage_bytes(self) -> int:
        """Bytes skipped between frames since connecting (noise, wrong framing or baud rate)."""
        return self.link.framer.garbage_bytes

    async def connect(self) -> None:
        """Open the link (ConnectionLost if it cannot)."""
        await self.link.open()

    async def close(self) -> None:
        """Close the link; safe to call twice."""
        await self.link.close()
