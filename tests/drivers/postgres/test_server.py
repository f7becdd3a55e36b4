"""PostgresServer: a cluster of our own, password logins over TCP, restart and crash recovery."""

from __future__ import annotations

import subprocess
import sys

import psycopg
import pytest

from drivers.postgres.server import PostgresServer
from tests.conftest import free_port
from tests.system import netns


def test_password_login_and_a_fresh_database_per_test(postgres_database: str) -> None:
    with psycopg.connect(postgres_database) as conn:
        conn.execute("CREATE TABLE t(x int)")
        conn.execute("INSERT INTO t VALUES (1), (2)")
        assert conn.execute("SELECT sum(x) FROM t").fetchone() == (3,)


def test_a_wrong_password_is_refused(postgres_server: PostgresServer) -> None:
    wrong = postgres_server.conninfo().replace(postgres_server.password, "not-it")
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(wrong, connect_timeout=5)


def test_committed_rows_survive_a_kill_and_restart() -> None:
    with PostgresServer(free_port(), password="pw-crash") as server:
        with psycopg.connect(server.conninfo(), autocommit=True) as conn:
            conn.execute("CREATE TABLE t(x int)")
            conn.execute("INSERT INTO t VALUES (42)")
        server.kill()
        assert not server.running
        with pytest.raises(psycopg.OperationalError):
            psycopg.connect(server.conninfo(), connect_timeout=2)
        server.start()
        with psycopg.connect(server.conninfo()) as conn:
            assert conn.execute("SELECT x FROM t").fetchall() == [(42,)]
        server.restart()
        with psycopg.connect(server.conninfo()) as conn:
            assert conn.execute("SELECT count(*) FROM t").fetchone() == (1,)


def test_a_server_on_a_site_address_takes_password_logins_from_its_subnet() -> None:
    """A line in its own network namespace logs in over the site's bridge (initdb alone
    lets TCP logins in from loopback only); a wrong password is still refused."""
    reason = netns.available()
    assert reason is None, reason
    login = (
        "import sys, psycopg\n"
        "try:\n"
        "    with psycopg.connect(sys.argv[1], password=sys.argv[2], connect_timeout=5) as c:\n"
        "        print(c.execute('SELECT inet_client_addr()').fetchone()[0])\n"
        "except psycopg.OperationalError as err:\n"
        "    print(err)\n"
    )
    with (
        netns.SiteNetwork() as net,
        PostgresServer(free_port(), password="pw-site", host=netns.SITE_ADDRESS) as server,
    ):
        line = net.add_line()

        def attempt(password: str) -> str:
            argv = line.argv([sys.executable, "-c", login, server.url, password])
            return subprocess.run(argv, capture_output=True, text=True, check=True).stdout

        assert attempt("pw-site").strip() == line.address
        assert "password authentication failed" in attempt("not-it")
