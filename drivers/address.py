"""Device addresses are URLs: ``modbus-tcp://HOST:PORT``, ``tcp://HOST:PORT``."""

from __future__ import annotations

from urllib.parse import urlsplit


def host_port(name: str, url: str, scheme: str) -> tuple[str, int]:
    """(host, port) of ``url``; ``ValueError`` naming the device if it is not ``scheme://H:P``."""
    parts = urlsplit(url)
    if parts.scheme != scheme or not parts.hostname or parts.port is None:
        raise ValueError(f"{name}: expected {scheme}://HOST:PORT, got {url!r}")
    return parts.hostname, parts.port
