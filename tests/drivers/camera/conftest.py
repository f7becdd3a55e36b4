"""Camera driver tests: fail any test that leaves a camera stream thread running."""

from __future__ import annotations

import threading
import time

import pytest


@pytest.fixture(autouse=True)
def _no_camera_threads():
    """Stream threads (``camera-<name>``) must be gone once a test has closed its reader."""
    yield
    deadline = time.monotonic() + 5.0
    while True:
        alive = [t.name for t in threading.enumerate() if t.name.startswith("camera-")]
        alive = [n for n in alive if "_" not in n]  # worker-pool threads die on their own
        if not alive:
            return
        if time.monotonic() > deadline:
            pytest.fail(f"camera threads left running: {alive}")
        time.sleep(0.05)
