"""Byte transports shared by serial and TCP drivers: framers and framed links."""

from drivers.transport.framing import DelimitedFramer, FixedLengthFramer
from drivers.transport.link import ByteLink, open_link

__all__ = ["ByteLink", "DelimitedFramer", "FixedLengthFramer", "open_link"]
