"""Network namespaces joined by veth links, made and removed by a test (Linux, root).

:class:`SiteNetwork` makes a bridge in the test's own namespace with the site's address
(``10.77.0.1/16``: the broker, PostgreSQL and the site service listen there) and, per
line, a namespace whose veth link ends on that bridge (``10.77.0.<10+i>``). A line
started with :meth:`LineNamespace.argv` lives in its namespace: its simulators on the
namespace's own loopback, the site only over its veth link. :meth:`LineNamespace.cut`
takes the link down (a pulled cable: packets vanish, nothing is reset) and
:meth:`LineNamespace.mend` brings it back. Only these private addresses and loopback
are used; everything is removed on :meth:`SiteNetwork.close`, also after a failure.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass

SITE_ADDRESS = "10.77.0.1"
_PREFIX = 16


def _ip(*args: str) -> None:
    done = subprocess.run(["ip", *args], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)}: {done.stderr.strip()}")


def available() -> str | None:
    """None when namespaces can be made here, else why not."""
    if os.geteuid() != 0:
        return "network namespaces need root"
    probe = f"lsprobe{os.getpid() % 100000}"
    try:
        _ip("netns", "add", probe)
    except (RuntimeError, FileNotFoundError) as err:
        return f"cannot make a network namespace: {err}"
    _ip("netns", "del", probe)
    return None


@dataclass
class LineNamespace:
    """One line's namespace and the root end of its veth link."""

    name: str
    address: str
    root_end: str

    def argv(self, command: Sequence[str]) -> list[str]:
        """``command`` run inside this namespace."""
        return ["ip", "netns", "exec", self.name, *command]

    def cut(self) -> None:
        """Take the line's link to the site down (both ends lose carrier)."""
        _ip("link", "set", self.root_end, "down")

    def mend(self) -> None:
        """Bring the link back up."""
        _ip("link", "set", self.root_end, "up")


class SiteNetwork:
    """The site's bridge and one namespace per line; :meth:`close` removes them all."""

    def __init__(self) -> None:
        tag = os.getpid() % 100000
        self.tag = tag
        self.bridge = f"lsbr{tag}"
        self.lines: list[LineNamespace] = []
        _ip("link", "add", self.bridge, "type", "bridge")
        try:
            _ip("addr", "add", f"{SITE_ADDRESS}/{_PREFIX}", "dev", self.bridge)
            _ip("link", "set", self.bridge, "up")
        except RuntimeError:
            self.close()
            raise

    def add_line(self) -> LineNamespace:
        """A new namespace with loopback up and a veth link to the site's bridge."""
        index = len(self.lines) + 1
        name = f"lsline{self.tag}-{index}"
        root_end, inner = f"lsr{self.tag}x{index}", f"lsn{self.tag}x{index}"
        address = f"10.77.0.{10 + index}"
        _ip("netns", "add", name)
        line = LineNamespace(name, address, root_end)
        self.lines.append(line)
        _ip("link", "add", root_end, "type", "veth", "peer", "name", inner)
        _ip("link", "set", inner, "netns", name)
        _ip("link", "set", root_end, "master", self.bridge)
        _ip("link", "set", root_end, "up")
        _ip("-n", name, "addr", "add", f"{address}/{_PREFIX}", "dev", inner)
        _ip("-n", name, "link", "set", inner, "up")
        _ip("-n", name, "link", "set", "lo", "up")
        return line

    def close(self) -> None:
        """Remove every namespace (their veth ends go with them) and the bridge."""
        for line in self.lines:
            subprocess.run(["ip", "netns", "del", line.name], capture_output=True, check=False)
            subprocess.run(["ip", "link", "del", line.root_end], capture_output=True, check=False)
        self.lines.clear()
        subprocess.run(["ip", "link", "del", self.bridge], capture_output=True, check=False)

    def __enter__(self) -> SiteNetwork:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
