"""A Mosquitto broker of our own on loopback, for the demo, the tests and the benchmarks.

:class:`MosquittoBroker` writes a config into a temporary directory (``listener PORT
127.0.0.1``, ``persistence false``, a log file next to it and either ``allow_anonymous
true`` or a password file hashed by ``mosquitto_passwd``), starts ``mosquitto -c`` on it
and waits until the port accepts a TCP connection. With a ``listener`` line Mosquitto 2
refuses anonymous clients unless ``allow_anonymous true`` is set.

The broker never outlives its parent: the child asks the kernel for SIGTERM when the
parent dies, even by SIGKILL (Linux ``PR_SET_PDEATHSIG``, set between fork and exec).
The death signal follows the *thread* that started the broker, so start it from a thread
that lives as long as the process (the main thread, or the event loop's thread).
``start`` blocks (a Mosquitto starts in a few milliseconds; at most ``start_timeout_s``).

``acl`` writes an ``acl_file``: for each user (None: anonymous clients) the topics it may
``read``, ``write`` or ``readwrite`` (``%c``/``%u`` patterns are not used). With an ACL
every other publish and subscription is refused; Mosquitto drops a refused publish
silently under MQTT 3.1.1 (the client still gets its PUBACK), so the receivers never see it.

``tls`` (a :class:`BrokerTls`) makes the listener speak TLS only (``certfile``/``keyfile``,
with ``cafile`` and ``require_certificate`` for client certificates); :attr:`url` is then
``mqtts://HOST:PORT``. Mosquitto reads the files on every start (restart picks up new ones).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from drivers.child_server import ChildServer
from drivers.errors import DriverError

ACL_ACCESS = ("read", "write", "readwrite", "deny")
"""What an ACL rule may grant (``deny`` refuses a topic an earlier rule allowed)."""

NOT_INSTALLED = "Mosquitto is not installed: run ./scripts/setup.sh (Debian package mosquitto)"


@dataclass(frozen=True)
class BrokerTls:
    """A TLS listener: the server's certificate chain and key (PEM); ``cafile`` (PEM) to
    verify client certificates, which ``require_certificate`` makes compulsory."""

    certfile: Path | str
    keyfile: Path | str
    cafile: Path | str | None = None
    require_certificate: bool = False

    def __post_init__(self) -> None:
        if self.require_certificate and self.cafile is None:
            raise ValueError("require_certificate: set cafile (the CA client certificates need)")
        for name in ("certfile", "keyfile", "cafile"):
            value = getattr(self, name)
            if value is not None and any(c in str(value) for c in "\n\r"):
                raise ValueError(f"{name}: bad path {value!r}")

    def config_lines(self) -> list[str]:
        """The mosquitto.conf lines that follow the ``listener`` line."""
        lines = [f"certfile {self.certfile}", f"keyfile {self.keyfile}"]
        if self.cafile is not None:
            lines.append(f"cafile {self.cafile}")
        lines.append(f"require_certificate {'true' if self.require_certificate else 'false'}")
        return lines


class BrokerError(DriverError):
    """The broker did not start (missing, bad config, port taken); the message has its log."""


def find_executable(name: str, fallback: str) -> str | None:
    """``name`` on the PATH, else ``fallback`` (Debian puts mosquitto in /usr/sbin)."""
    found = shutil.which(name)
    if found:
        return found
    return fallback if os.access(fallback, os.X_OK) else None


class MosquittoBroker(ChildServer):
    """One Mosquitto process on ``127.0.0.1:port`` with a generated config.

    ``users`` (name → password) make a password file; ``allow_anonymous`` lets clients
    without a user name in too. With neither, every client is refused. ``tls`` makes the
    listener TLS only (``mqtts://``).
    """

    def __init__(
        self,
        port: int,
        *,
        allow_anonymous: bool = False,
        users: Mapping[str, str] | None = None,
        acl: Mapping[str | None, Sequence[tuple[str, str]]] | None = None,
        host: str = "127.0.0.1",
        tls: BrokerTls | None = None,
        start_timeout_s: float = 5.0,
        name: str = "mqtt-broker",
    ):
        self.host = host
        self.port = port
        self.allow_anonymous = allow_anonymous
        self.users = dict(users or {})
        self.acl = {user: list(rules) for user, rules in (acl or {}).items()}
        for user, rules in self.acl.items():
            for access, topic in rules:
                if access not in ACL_ACCESS:
                    raise ValueError(
                        f"acl of {user or 'anonymous'}: access {access!r} is not one "
                        f"of {', '.join(ACL_ACCESS)}"
                    )
                if not topic or any(c in topic for c in "\n\r"):
                    raise ValueError(f"acl of {user or 'anonymous'}: bad topic {topic!r}")
        self.tls = tls
        self.start_timeout_s = start_timeout_s
        super().__init__()
        self.name = name
        self._log_start = 0

    @property
    def url(self) -> str:
        """``mqtt://HOST:PORT``, or ``mqtts://HOST:PORT`` with a TLS listener."""
        return f"{'mqtts' if self.tls else 'mqtt'}://{self.host}:{self.port}"

    @property
    def log_path(self) -> Path | None:
        """The broker's log file (None before the first start)."""
        return self._dir / "mosquitto.log" if self._dir else None

    def _write_config(self, directory: Path) -> Path:
        lines = [
            "# generated by LaneSort (drivers.mqtt.broker): a loopback broker for a demo or tests",
            f"listener {self.port} {self.host}",
            *(self.tls.config_lines() if self.tls else []),
            "persistence false",
            f"log_dest file {directory / 'mosquitto.log'}",
            "log_type error",
            "log_type warning",
            "log_type notice",
            "log_type information",
            "connection_messages true",
            f"allow_anonymous {'true' if self.allow_anonymous else 'false'}",
        ]
        if os.geteuid() == 0:  # else Mosquitto drops to user mosquitto and cannot read our dir
            lines.append("user root")
        if self.users:
            lines.append(f"password_file {self._password_file(directory)}")
        if self.acl:
            lines.append(f"acl_file {self._acl_file(directory)}")
        path = directory / "mosquitto.conf"
        path.write_text("\n".join(lines) + "\n")
        return path

    def _password_file(self, directory: Path) -> Path:
        """A password file hashed in place with ``mosquitto_passwd -U`` (the passwords never
        appear on a command line, as they would with ``-b``)."""
        tool = find_executable("mosquitto_passwd", "/usr/bin/mosquitto_passwd")
        if tool is None:
            raise BrokerError(self.name, self.url, NOT_INSTALLED + " (no mosquitto_passwd)")
        path = directory / "passwords"
        for user in self.users:
            if ":" in user:
                raise ValueError(f"user name {user!r}: a ':' cannot be in a Mosquitto user name")
        path.write_text("".join(f"{u}:{p}\n" for u, p in self.users.items()))
        path.chmod(0o600)
        done = subprocess.run([tool, "-U", str(path)], capture_output=True, check=False)
        if done.returncode != 0:
            raise BrokerError(
                self.name, self.url, f"mosquitto_passwd -U failed: {done.stderr.decode().strip()}"
            )
        return path

    def _acl_file(self, directory: Path) -> Path:
        """The ACL file: anonymous clients' rules first (before any ``user`` line), then
        each user's."""
        out = ["# generated by LaneSort (drivers.mqtt.broker)"]
        for access, topic in self.acl.get(None, []):
            out.append(f"topic {access} {topic}")
        for user, rules in self.acl.items():
            if user is None:
                continue
            out.append(f"user {user}")
            out += [f"topic {access} {topic}" for access, topic in rules]
        path = directory / "acl"
        path.write_text("\n".join(out) + "\n")
        path.chmod(0o600)
        return path

    def start(self) -> None:
        """Start the broker and wait until its port accepts; :class:`BrokerError` with the
        log's tail if it exits or does not listen in ``start_timeout_s``."""
        if self.running:
            return
        exe = find_executable("mosquitto", "/usr/sbin/mosquitto")
        if exe is None:
            raise BrokerError(self.name, self.url, NOT_INSTALLED)
        if self._dir is None:
            self._dir = Path(tempfile.mkdtemp(prefix="lanesort-mosquitto-"))
        config = self._write_config(self._dir)
        log_path = self._dir / "mosquitto.log"
        self._log_start = log_path.stat().st_size if log_path.exists() else 0
        with (self._dir / "stderr.log").open("ab") as stderr:
            self._proc = subprocess.Popen(
                [exe, "-c", str(config)],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=stderr,
                preexec_fn=self._child_setup,
                close_fds=True,
            )
        deadline = time.monotonic() + self.start_timeout_s
        while True:
            if self._proc.poll() is not None:
                code = self._proc.returncode
                raise BrokerError(self.name, self.url, f"mosquitto exited ({code}):\n{self.tail()}")
            if self._says_running() and self._accepts():
                return
            if time.monotonic() > deadline:
                self.kill()
                raise BrokerError(
                    self.name,
                    self.url,
                    f"mosquitto did not listen within {self.start_timeout_s} s:\n{self.tail()}",
                )
            time.sleep(0.01)

    def _says_running(self) -> bool:
        """The log's "mosquitto version … running", written once every listener is open (a
        port that accepts might be someone else's)."""
        log_path = self.log_path
        if log_path is None or not log_path.exists():
            return False
        text = log_path.read_bytes()[self._log_start :]
        return any(line.endswith(b" running") for line in text.splitlines())

    def _accepts(self) -> bool:
        with contextlib.suppress(OSError), socket.create_connection((self.host, self.port), 0.2):
            return True
        return False

    def tail(self, lines: int = 12) -> str:
        """The last lines of the broker's log and stderr (for an error message)."""
        if self._dir is None:
            return ""
        text = []
        for name in ("mosquitto.log", "stderr.log"):
            path = self._dir / name
            if path.exists():
                text += path.read_text(errors="replace").strip().splitlines()[-lines:]
        return "\n".join(f"  {line}" for line in text)
