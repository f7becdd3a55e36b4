import sys
from pathlib import Path

from controller.cli.child_process import STAND_IN_NICE, ChildProcess

READY = "import json, time; print(json.dumps({'event': 'ready'}), flush=True); time.sleep(30)"


def _comm_of(pid: int) -> str:
    return Path(f"/proc/{pid}/comm").read_text()


def _nice_of(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[16])


async def test_a_stand_in_runs_niced_under_its_own_pid_and_a_device_simulator_does_not(tmp_path):
    niced = ChildProcess("TMS simulator", tmp_path / "tms.log")
    plain = ChildProcess("simulator", tmp_path / "sim.log", nice=0)
    try:
        for child in (niced, plain):
            assert await child.start([sys.executable, "-c", READY, "-"]) == {"event": "ready"}
        assert niced.proc is not None and plain.proc is not None
        assert _nice_of(niced.proc.pid) == _nice_of(plain.proc.pid) + STAND_IN_NICE
        assert "python" in _comm_of(niced.proc.pid)  # nice exec'd it: the pid is the child's
    finally:
        for child in (niced, plain):
            await child.stop(grace_s=2)
