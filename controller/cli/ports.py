"""Free loopback ports, and a line config's text moved onto them or given one more ``line:``
key (demos, tests, benchmarks)."""

from __future__ import annotations

import re
import socket
from collections import deque

_RECENT: deque[int] = deque(maxlen=1024)
"""The ports this process was given last: the kernel picks a port for a bind to port 0
at random, so two calls in a row can return the same one (in 19 of 20 runs of 300 calls
here), and a config with one port for two servers does not start."""


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port on ``host`` that nothing listens on right now, and none of the last
    1,024 this process was given."""
    while True:
        with socket.socket() as s:
            s.bind((host, 0))
            port = s.getsockname()[1]
        if port not in _RECENT:
            _RECENT.append(port)
            return port


def on_free_ports(config_text: str) -> str:
    """A line config's text with every ``127.0.0.1:PORT`` on a free port (the same port
    for each mention of one) and the OPC UA server's ``port: 4841`` too."""
    ports: dict[str, int] = {}
    text = re.sub(
        r"127\.0\.0\.1:(\d+)",
        lambda m: f"127.0.0.1:{ports.setdefault(m.group(1), free_port())}",
        config_text,
    )
    return text.replace("port: 4841", f"port: {free_port()}")


def with_line_key(config_text: str, key: str, value: object) -> str:
    """A line config's text with ``key: value`` first in its ``line:`` section (unchanged
    when no line reads exactly ``line:``)."""
    return config_text.replace("\nline:\n", f"\nline:\n  {key}: {value}\n", 1)
