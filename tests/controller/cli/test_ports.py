"""Free loopback ports for demos, tests and benchmarks."""

from __future__ import annotations

import re
import socket

from controller.cli.ports import free_port, on_free_ports


def test_free_ports_are_never_handed_out_twice_in_a_row() -> None:
    """The kernel picks a port at random for a bind to port 0: 300 binds in a row repeated
    one in 19 of 20 tries here. Two servers of one config on one port do not start."""
    ports = [free_port() for _ in range(300)]
    assert len(set(ports)) == 300
    with socket.socket() as s:
        s.bind(("127.0.0.1", ports[-1]))  # and nothing listens there


def test_a_config_on_free_ports_gives_each_address_its_own_port() -> None:
    text = "\n".join(f"d{k}: tcp://127.0.0.1:{15000 + k}" for k in range(40))
    text += "\nagain: tcp://127.0.0.1:15000\nopcua_server:\n  port: 4841\n"
    moved = on_free_ports(text)
    ports = [int(p) for p in re.findall(r"127\.0\.0\.1:(\d+)", moved)]
    assert ports[40] == ports[0]  # one address, one port
    opcua = int(re.search(r"port: (\d+)", moved).group(1))
    assert len({*ports[:40], opcua}) == 41 and 15000 not in ports
