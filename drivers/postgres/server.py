"""A PostgreSQL server of our own in a temporary directory, for the demo, tests and benchmarks.

:class:`PostgresServer` makes a cluster with ``initdb`` (Debian ``postgresql``; its
binaries live in ``/usr/lib/postgresql/<major>/bin``), then runs ``postgres`` on
``host:port`` (default ``127.0.0.1``) with its Unix socket in the cluster's directory. TCP
clients on loopback or on a subnet of ``host`` (``samenet``) log in with a password
(``scram-sha-256``); the password is given to ``initdb`` in a file that
only the server's user can read, never on a command line. One database (``database``)
belongs to the user.

``postgres`` runs as our child, not daemonised by ``pg_ctl``, so it never outlives us:
the child asks the kernel for SIGTERM when the thread that started it dies (Linux
``PR_SET_PDEATHSIG``). PostgreSQL refuses to run as root: under root the cluster
belongs to the ``postgres`` user (made by the Debian package) and the child switches
to it before it execs.

:meth:`stop` is a fast shutdown (SIGINT: open transactions roll back, the WAL is
flushed); :meth:`kill` is SIGKILL (the next start replays the WAL); :meth:`restart`
keeps the data.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from drivers.child_server import ChildServer
from drivers.errors import DriverError

NOT_INSTALLED = "PostgreSQL is not installed: run ./scripts/setup.sh (Debian package postgresql)"


class PostgresServerError(DriverError):
    """The server did not start (missing, bad cluster, port taken); the message has its log."""


def find_bindir() -> Path | None:
    """The newest ``/usr/lib/postgresql/<major>/bin`` with ``initdb`` and ``postgres`` (or the
    directory of ``initdb`` on the PATH)."""
    found = sorted(
        (Path(p) for p in glob.glob("/usr/lib/postgresql/*/bin")),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
        reverse=True,
    )
    on_path = shutil.which("initdb")
    if on_path:
        found.append(Path(on_path).resolve().parent)
    for bindir in found:
        if (bindir / "initdb").exists() and (bindir / "postgres").exists():
            return bindir
    return None


def _server_user() -> pwd.struct_passwd | None:
    """The account the server runs as: ours, or ``postgres`` when we are root."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam("postgres")
    except KeyError as err:
        raise PostgresServerError(
            "postgres", "", "running as root needs the 'postgres' user: " + NOT_INSTALLED
        ) from err


class PostgresServer(ChildServer):
    """One PostgreSQL cluster in a temporary directory, served on ``host:port``."""

    stop_signal = signal.SIGINT  # PostgreSQL's fast shutdown

    def __init__(
        self,
        port: int,
        password: str,
        *,
        user: str = "lanesort",
        database: str = "lanesort",
        host: str = "127.0.0.1",
        start_timeout_s: float = 30.0,
        name: str = "postgresql",
    ):
        super().__init__()
        self.port = port
        self.password = password
        self.user = user
        self.database = database
        self.host = host
        self.start_timeout_s = start_timeout_s
        self.name = name
        self._account = _server_user()

    @property
    def url(self) -> str:
        """``postgresql://USER@HOST:PORT/DATABASE`` (no password: it comes from the environment)."""
        return f"postgresql://{self.user}@{self.host}:{self.port}/{self.database}"

    def conninfo(self) -> str:
        """A libpq connection string with the password, for tests and the demo's own use."""
        return (
            f"host={self.host} port={self.port} user={self.user} dbname={self.database}"
            f" password={self.password}"
        )

    def _preexec(self) -> None:  # pragma: no cover - runs in the child before exec
        account = self._account
        if account is not None:
            os.setgid(account.pw_gid)
            os.setgroups([])
            os.setuid(account.pw_uid)
        self._child_setup()  # after setuid, which clears the death signal

    def _own(self, path: Path) -> None:
        if self._account is not None:
            os.chown(path, self._account.pw_uid, self._account.pw_gid)

    def _init_cluster(self, bindir: Path) -> None:
        assert self._dir is not None
        self._own(self._dir)
        pwfile = self._dir / "pwfile"
        pwfile.write_text(self.password + "\n")
        pwfile.chmod(0o600)
        self._own(pwfile)
        done = subprocess.run(
            [
                str(bindir / "initdb"),
                "-D",
                str(self._dir / "data"),
                "-U",
                self.user,
                f"--pwfile={pwfile}",
                "--auth-host=scram-sha-256",
                "--auth-local=trust",
                "--encoding=UTF8",
                "--locale=C",
                "--no-instructions",
            ],
            capture_output=True,
            preexec_fn=self._preexec,
            check=False,
        )
        pwfile.unlink()
        if done.returncode != 0:
            output = (done.stdout + done.stderr).decode(errors="replace").strip()
            raise PostgresServerError(self.name, self.url, f"initdb failed:\n{output}")
        # initdb lets TCP logins in from loopback only: a server on another address (a
        # site bridge) also takes password logins from the subnets that address is on.
        with (self._dir / "data" / "pg_hba.conf").open("a") as hba:
            hba.write("host all all samenet scram-sha-256\n")

    def start(self) -> None:
        """Make the cluster (first time), start the server and wait until it accepts logins,
        then create the database; :class:`PostgresServerError` with the log's tail if not."""
        if self.running:
            return
        bindir = find_bindir()
        if bindir is None:
            raise PostgresServerError(self.name, self.url, NOT_INSTALLED)
        first = self._dir is None
        if first:
            self._dir = Path(tempfile.mkdtemp(prefix="lanesort-postgres-"))
            self._init_cluster(bindir)
        assert self._dir is not None
        log_path = self._dir / "server.log"
        log = log_path.open("ab")
        self._own(log_path)
        with log:
            self._proc = subprocess.Popen(
                [
                    str(bindir / "postgres"),
                    "-D",
                    str(self._dir / "data"),
                    "-p",
                    str(self.port),
                    "-k",
                    str(self._dir),
                    "-c",
                    f"listen_addresses={self.host}",
                    "-c",
                    "max_connections=200",
                ],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                preexec_fn=self._preexec,
                close_fds=True,
            )
        self._wait_ready()
        if first:
            self._create_database()

    def _wait_ready(self) -> None:
        assert self._proc is not None and self._dir is not None
        deadline = time.monotonic() + self.start_timeout_s
        while True:
            if self._proc.poll() is not None:
                code = self._proc.returncode
                raise PostgresServerError(
                    self.name, self.url, f"postgres exited ({code}):\n{self.tail()}"
                )
            if self._accepts_login():
                return
            if time.monotonic() > deadline:
                self.kill()
                raise PostgresServerError(
                    self.name,
                    self.url,
                    f"postgres did not accept logins within {self.start_timeout_s} s:\n"
                    f"{self.tail()}",
                )
            time.sleep(0.05)

    def _accepts_login(self) -> bool:
        import psycopg

        with contextlib.suppress(OSError):
            socket.create_connection((self.host, self.port), 0.2).close()
            try:
                with psycopg.connect(
                    host=str(self._dir),
                    port=self.port,
                    user=self.user,
                    dbname="postgres",
                    connect_timeout=2,
                ):
                    return True
            except psycopg.OperationalError:
                return False
        return False

    def _create_database(self) -> None:
        import psycopg

        with psycopg.connect(
            host=str(self._dir), port=self.port, user=self.user, dbname="postgres", autocommit=True
        ) as conn:
            conn.execute(f'CREATE DATABASE "{self.database}" OWNER "{self.user}"')

    def tail(self, lines: int = 30) -> str:
        """The last lines of the server log."""
        if self._dir is None or not (self._dir / "server.log").exists():
            return "(no log)"
        text = (self._dir / "server.log").read_text(errors="replace").splitlines()
        return "\n".join(text[-lines:])

    def stop(self, timeout_s: float = 30.0) -> None:
        """Fast shutdown (SIGINT: open transactions roll back); SIGKILL after ``timeout_s``."""
        super().stop(timeout_s)
