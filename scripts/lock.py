#!/usr/bin/env python3
"""The dependency lock: every Python package LaneSort and its tests use, at one exact version.

::

    python3 scripts/lock.py check              exit 1, saying what changed, when requirements.lock
                                               no longer matches pyproject.toml
    .venv/bin/python scripts/lock.py refresh   re-make requirements.lock after editing
                                               pyproject.toml (keeps every pin still allowed)
    .venv/bin/python scripts/lock.py upgrade   re-make it with the newest release of everything
                                               pyproject.toml allows (then run the whole suite)

``pyproject.toml`` keeps ranges (for people who use LaneSort as a library);
``requirements.lock`` is made from them by pip-tools' ``pip-compile`` (with sha256
hashes, pip, setuptools and the build requirements included) and is what
``scripts/setup.sh`` installs, so every fresh machine gets the versions the suite
last passed with. The lock's header lists the requirements it was made from; ``check``
compares them with pyproject.toml (standard library only: it runs before any install).
"""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = ROOT / "pyproject.toml"
LOCK = ROOT / "requirements.lock"
EXTRAS = ("test",)
INPUT_MARK = "# lock input: "
REFRESH = ".venv/bin/python scripts/lock.py refresh"


def lock_inputs(pyproject: Path = PYPROJECT) -> list[str]:
    """What the lock is made from: Python version, build, run-time and test requirements."""
    data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    project = data["project"]
    inputs = [f"requires-python {project.get('requires-python', '')}"]
    inputs += [f"build {r}" for r in data.get("build-system", {}).get("requires", [])]
    inputs += [f"run {r}" for r in project.get("dependencies", [])]
    for extra in EXTRAS:
        inputs += [f"{extra} {r}" for r in project.get("optional-dependencies", {}).get(extra, [])]
    return inputs


def locked_inputs(lock: Path = LOCK) -> list[str] | None:
    """The inputs recorded in the lock's header; None when there is no lock file."""
    try:
        text = lock.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    return [line[len(INPUT_MARK) :] for line in text.splitlines() if line.startswith(INPUT_MARK)]


def stale_reasons(pyproject: Path = PYPROJECT, lock: Path = LOCK) -> list[str]:
    """Why the lock does not match pyproject.toml (empty: it matches)."""
    recorded = locked_inputs(lock)
    if recorded is None:
        return [f"{lock.name} is missing"]
    wanted = lock_inputs(pyproject)
    reasons = [f"pyproject.toml has {line!r}, the lock was made without it" for line in wanted
               if line not in recorded]  # fmt: skip
    reasons += [f"the lock was made from {line!r}, pyproject.toml no longer has it"
                for line in recorded if line not in wanted]  # fmt: skip
    return reasons


def check() -> int:
    """Exit status 0 when the lock matches pyproject.toml, else 1 with the reasons."""
    reasons = stale_reasons()
    if not reasons:
        return 0
    print(f"{LOCK.name} is stale against pyproject.toml:", file=sys.stderr)
    for reason in reasons:
        print(f"  - {reason}", file=sys.stderr)
    print(
        f"Refresh it with `{REFRESH}` (after ./scripts/setup.sh), run the suite, and commit "
        "both files together.",
        file=sys.stderr,
    )
    return 1


def compile_lock(upgrade: bool) -> int:
    """Run pip-compile over pyproject.toml's requirements and the test extra."""
    cmd = [sys.executable, "-m", "piptools", "compile", "--quiet", "--generate-hashes",
           "--allow-unsafe", "--strip-extras", "--no-emit-index-url", "--no-emit-find-links",
           "--no-emit-trusted-host", "--build-deps-for", "editable",
           "--output-file", LOCK.name]  # fmt: skip
    cmd += [f"--extra={extra}" for extra in EXTRAS]
    cmd += ["--upgrade"] if upgrade else []
    cmd += ["pyproject.toml"]
    done = subprocess.run(cmd, cwd=ROOT, check=False)
    if done.returncode != 0:
        return done.returncode
    body = LOCK.read_text(encoding="utf-8")
    body = "\n".join(line for line in body.splitlines() if not line.startswith(INPUT_MARK))
    header = "".join(f"{INPUT_MARK}{line}\n" for line in lock_inputs())
    LOCK.write_text(
        "# The exact versions the suite last passed with; made by `scripts/lock.py` from\n"
        "# pyproject.toml (see that script). Do not edit by hand.\n" + header + body + "\n",
        encoding="utf-8",
    )
    print(f"wrote {LOCK.relative_to(ROOT)}; now run ./scripts/test.sh", file=sys.stderr)
    return 0


def main(argv: list[str]) -> int:
    """``check``, ``refresh`` or ``upgrade``."""
    if argv == ["check"]:
        return check()
    if argv in (["refresh"], ["upgrade"]):
        return compile_lock(upgrade=argv == ["upgrade"])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
