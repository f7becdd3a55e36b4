"""Shared fixtures: every async test fails if it leaves asyncio tasks running; the
garbage collector only ever walks what the running test made."""

from __future__ import annotations

import asyncio
import gc
import secrets
from collections.abc import Iterator

import pytest

from controller.cli.ports import free_port, on_free_ports
from drivers.mqtt.broker import MosquittoBroker
from drivers.postgres.server import PostgresServer
from tests.watched_process import Processes

__all__ = ["free_port", "on_free_ports"]  # tests import them from here


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None):
    """After each test: collect what it left, then freeze the survivors (``gc.freeze``).

    One pytest process holds every module, fixture and cache of 1,500 tests. A full
    collection walks all of it: in a run of the suite 150 collections paused the process
    for more than 20 ms, the longest 1.6 s, and a test that runs the controller and the
    simulated line on its loop saw them as an event loop stalled for a second (an answer
    too late, a read not bound). The controller does the same at start
    (``controller.cli.command._run_loop``): what exists before the line runs is out of the
    collector's reach, so a collection during a test walks only that test's objects.
    """
    result = yield
    gc.collect()
    gc.freeze()
    return result


@pytest.fixture(autouse=True)
async def _no_leaked_tasks():
    """Fail any test that leaves asyncio tasks behind (cancelling them so others run clean)."""
    yield
    current = asyncio.current_task()
    await asyncio.sleep(0)  # let tasks that were just cancelled finish
    leaked = [t for t in asyncio.all_tasks() if t is not current and not t.done()]
    if leaked:
        for task in leaked:
            task.cancel()
        await asyncio.gather(*leaked, return_exceptions=True)
        names = ", ".join(sorted(t.get_name() + ":" + repr(t.get_coro()) for t in leaked))
        pytest.fail(f"test leaked {len(leaked)} asyncio task(s): {names}")


@pytest.fixture
def processes() -> Iterator[Processes]:
    """Processes a test starts (:mod:`tests.watched_process`), killed at its end if running."""
    started = Processes()
    try:
        yield started
    finally:
        started.close()


@pytest.fixture(scope="session")
def mqtt_broker() -> Iterator[MosquittoBroker]:
    """One Mosquitto for the whole session (anonymous clients allowed), on a free port.

    Shared: each test uses its own topic prefix and client ids, and never restarts or
    kills it (use ``private_mqtt_broker`` for that)."""
    with MosquittoBroker(free_port(), allow_anonymous=True) as broker:
        yield broker


@pytest.fixture
def private_mqtt_broker() -> Iterator[MosquittoBroker]:
    """A Mosquitto of this test's own (anonymous allowed), which it may restart or kill."""
    with MosquittoBroker(free_port(), allow_anonymous=True) as broker:
        yield broker


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One PostgreSQL cluster for the whole session (made by initdb in a temporary directory).

    Shared: each test makes its own database with ``postgres_database`` and never stops or
    kills this server (start a ``PostgresServer`` of its own for that)."""
    with PostgresServer(free_port(), password="test-" + secrets.token_hex(8)) as server:
        yield server


@pytest.fixture
def postgres_database(postgres_server: PostgresServer, request: pytest.FixtureRequest) -> str:
    """A fresh, empty database of this test's own on the session's server: its conninfo."""
    import psycopg

    name = "t_" + secrets.token_hex(6)
    with psycopg.connect(postgres_server.conninfo(), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return postgres_server.conninfo().replace(
        f"dbname={postgres_server.database}", f"dbname={name}"
    )
