"""PostgresServer: a cluster of our own, password logins over TCP, restart and crash recovery."""

from __future__ import annotations

import psycopg
import pytest

from drivers.postgres.server import PostgresServer
from tests.conftest import free_port


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
