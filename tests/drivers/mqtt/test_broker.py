"""MosquittoBroker: starts on its port, restarts on the same one, says why it cannot start,
and dies with the process that started it."""

from __future__ import annotations

import signal
import socket
import sys
from pathlib import Path

import pytest

from drivers.mqtt import broker as broker_module
from drivers.mqtt.broker import BrokerError, MosquittoBroker
from tests.conftest import free_port
from tests.watched_process import Processes, port_free, running, until

ROOT = Path(__file__).resolve().parents[3]


def accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), 0.5):
            return True
    except OSError:
        return False


def test_start_stop_restart_on_the_same_port():
    port = free_port()
    broker = MosquittoBroker(port, allow_anonymous=True)
    with broker:
        assert broker.url == f"mqtt://127.0.0.1:{port}"
        assert accepts(port)
        config = (broker.directory / "mosquitto.conf").read_text()
        assert f"listener {port} 127.0.0.1" in config
        assert "allow_anonymous true" in config
        assert "persistence false" in config
        first = broker.pid
        broker.kill()
        assert not broker.running
        assert not accepts(port)
        broker.restart()
        assert broker.running and broker.pid != first
        assert accepts(port)
    assert not broker.running
    assert broker.directory is None  # removed


def test_a_broker_runs_at_the_niceness_it_is_given():
    broker = MosquittoBroker(free_port(), allow_anonymous=True)
    broker.nice = 7
    with broker:
        assert broker.pid is not None
        stat = Path(f"/proc/{broker.pid}/stat").read_text().rsplit(")", 1)[1].split()
        own = Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()
        assert int(stat[16]) == int(own[16]) + 7


def test_a_password_file_is_hashed_and_anonymous_is_off():
    with MosquittoBroker(free_port(), users={"amr": "s3cret"}) as broker:
        config = (broker.directory / "mosquitto.conf").read_text()
        assert "allow_anonymous false" in config
        passwords = (broker.directory / "passwords").read_text()
        assert passwords.startswith("amr:$")  # hashed
        assert "s3cret" not in passwords


def test_a_broker_that_cannot_start_says_why():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        broker = MosquittoBroker(port, allow_anonymous=True)
        with pytest.raises(
            BrokerError, match=r"(?s)mosquitto exited \(1\):\n.*Address already in use"
        ):
            broker.start()
        broker.close()


def test_missing_mosquitto_points_at_the_setup(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(broker_module, "find_executable", lambda name, fallback: None)
    with pytest.raises(BrokerError, match=r"run \./scripts/setup\.sh \(Debian package mosquitto\)"):
        MosquittoBroker(free_port(), allow_anonymous=True).start()


def test_the_broker_dies_with_the_process_that_started_it(processes: Processes):
    """A parent killed with SIGKILL leaves no broker behind (PR_SET_PDEATHSIG)."""
    port = free_port()
    script = (
        "import time\n"
        "from drivers.mqtt.broker import MosquittoBroker\n"
        f"b = MosquittoBroker({port}, allow_anonymous=True)\n"
        "b.start()\n"
        "print(b.pid, flush=True)\n"
        "time.sleep(60)\n"
    )
    parent = processes.start([sys.executable, "-c", script], cwd=ROOT)
    match = parent.wait_for_line(r"^(\d+)$", timeout_s=10)
    pid = int(match.group(1))
    processes.track([pid])  # killed at the end if the test fails
    assert running(pid)
    parent.stop(signal.SIGKILL)
    until(lambda: not running(pid), "mosquitto to die with its parent", timeout_s=3)
    until(lambda: port_free(port), "the broker's port to be free", timeout_s=3)


def test_an_acl_file_lists_anonymous_rules_first_then_each_user():
    acl = {"host": [("readwrite", "#")], None: [("read", "#")], "node": [("write", "a/+")]}
    with MosquittoBroker(free_port(), users={"host": "h", "node": "n"}, acl=acl) as broker:
        config = (broker.directory / "mosquitto.conf").read_text()
        assert f"acl_file {broker.directory / 'acl'}" in config
        lines = (broker.directory / "acl").read_text().splitlines()[1:]
        assert lines == [
            "topic read #",
            "user host",
            "topic readwrite #",
            "user node",
            "topic write a/+",
        ]
    with pytest.raises(ValueError, match="access 'publish' is not one of read, write"):
        MosquittoBroker(free_port(), acl={"x": [("publish", "#")]})
