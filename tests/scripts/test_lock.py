"""scripts/lock.py: the lock names what it was made from, and a stale lock is refused."""

import importlib.util
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[2]
_spec = importlib.util.spec_from_file_location("lock", ROOT / "scripts" / "lock.py")
assert _spec is not None and _spec.loader is not None
lock = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(lock)

PYPROJECT = """
[build-system]
requires = ["setuptools>=77"]
[project]
name = "x"
requires-python = ">=3.11"
dependencies = ["pymodbus>=3.16.1,<4", "numpy>=1.26"]
[project.optional-dependencies]
test = ["pytest>=8.3"]
"""


def _lock_for(pyproject: Path, out: Path) -> None:
    out.write_text("".join(f"{lock.INPUT_MARK}{i}\n" for i in lock.lock_inputs(pyproject)))


def test_the_committed_lock_matches_pyproject():
    assert lock.stale_reasons() == []
    pins = [line for line in lock.LOCK.read_text().splitlines() if "==" in line]
    assert any(line.startswith("pip==") for line in pins)
    assert any(line.startswith("setuptools==") for line in pins)
    assert all("--hash=sha256:" in text for text in lock.LOCK.read_text().split("==")[1:])


def test_a_changed_requirement_makes_the_lock_stale_naming_it(tmp_path):
    pyproject, out = tmp_path / "pyproject.toml", tmp_path / "requirements.lock"
    pyproject.write_text(PYPROJECT)
    _lock_for(pyproject, out)
    assert lock.stale_reasons(pyproject, out) == []
    pyproject.write_text(PYPROJECT.replace('"numpy>=1.26"', '"numpy>=2", "rich"'))
    reasons = lock.stale_reasons(pyproject, out)
    assert "pyproject.toml has 'run numpy>=2', the lock was made without it" in reasons
    assert "pyproject.toml has 'run rich', the lock was made without it" in reasons
    assert "the lock was made from 'run numpy>=1.26', pyproject.toml no longer has it" in reasons
    assert len(reasons) == 3


def test_a_missing_lock_is_stale(tmp_path):
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text(PYPROJECT)
    assert lock.stale_reasons(pyproject, tmp_path / "none.lock") == ["none.lock is missing"]


def test_check_exits_1_and_says_how_to_refresh(tmp_path):
    copy = tmp_path / "repo"
    (copy / "scripts").mkdir(parents=True)
    (copy / "scripts" / "lock.py").write_text((ROOT / "scripts" / "lock.py").read_text())
    (copy / "pyproject.toml").write_text(PYPROJECT)
    _lock_for(copy / "pyproject.toml", copy / "requirements.lock")
    ok = subprocess.run(
        [sys.executable, "scripts/lock.py", "check"], cwd=copy, capture_output=True, text=True
    )
    assert ok.returncode == 0 and ok.stderr == ""
    (copy / "pyproject.toml").write_text(PYPROJECT.replace("pytest>=8.3", "pytest>=9"))
    stale = subprocess.run(
        [sys.executable, "scripts/lock.py", "check"], cwd=copy, capture_output=True, text=True
    )
    assert stale.returncode == 1
    assert "requirements.lock is stale against pyproject.toml" in stale.stderr
    assert "'test pytest>=9'" in stale.stderr and "scripts/lock.py refresh" in stale.stderr
