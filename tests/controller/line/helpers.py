"""Run the controller against a simulated line in the same process, on free ports."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

from controller.line.controller import LineController
from plc_configs.contract import PackMLState
from plc_configs.schema import LineConfig
from simulators.line import SimulatedLine
from tests.simulators.sim_helpers import config_dict, wait_for


def line_config(**overrides: Any) -> LineConfig:
    """The small, fast test line, with a few controller defaults for tests.

    Unless a test sets the PLC's start state, the PLC starts stopped and the controller
    starts the line once it is connected, as on a real line: a parcel the PLC reported
    before the controller was reading is never triggered for (it may have left the
    readers' field), so a test that counts reads must not let parcels run before.
    """
    data = config_dict(**overrides)
    if "start_state" not in overrides.get("simulation", {}).get("plc", {}):
        data["simulation"]["plc"]["start_state"] = "stopped"
        data["line"].setdefault("auto_start", True)
    data["devices"]["sorter"].setdefault("poll_interval_ms", 0.5)
    data["devices"]["sorter"].setdefault("heartbeat_interval_ms", 50)
    data["devices"]["sorter"].setdefault("heartbeat_timeout_ms", 300)
    data["devices"]["sorter"].setdefault("reconnect_min_ms", 20)
    data["devices"]["sorter"].setdefault("reconnect_max_ms", 100)
    for name, device in data["devices"].items():
        if device.get("kind") in ("barcode_reader", "camera"):
            data["devices"][name].setdefault("reconnect_min_ms", 20)
            data["devices"][name].setdefault("reconnect_max_ms", 100)
    return LineConfig.model_validate(data)


def camera_line_config(parcels: int, **overrides: Any) -> LineConfig:
    """The test line with a camera (``cam``, simulated, zxing) instead of the reader.

    A camera frame takes tens of ms to render and decode, hundreds on a loaded 2-core
    machine: the belt is slow (0.5 m/s: 400 ms in the scan field) and the camera's
    timeout long, so reads are bound to their parcel. ``overrides`` are
    config sections (``simulation`` is merged into the defaults).
    """
    simulation = {
        "parcels": parcels,
        "rate_pph": 9000,
        "manifest_missing_share": 0,
        "reader": {"no_read_rate": 0.2, "multi_label_rate": 0, "duplicate_read_rate": 0},
        **overrides.pop("simulation", {}),
    }
    data = line_config(simulation=simulation, **overrides).model_dump(mode="python")
    del data["devices"]["reader"]
    data["topology"]["belt_speed_mps"] = 0.5
    data["devices"]["cam"] = {
        "kind": "camera",
        "driver": "zxing",
        "url": "http://127.0.0.1:1/snapshot.jpg",
        "timeout_ms": 350,  # the belt leaves 400 ms to read and 20 ms to decide
        "reconnect_min_ms": 20,
        "reconnect_max_ms": 100,
    }
    return LineConfig.model_validate(data)


def pointed_at(config: LineConfig, sim: SimulatedLine) -> LineConfig:
    """``config`` with the device URLs of the running simulators."""
    data = config.model_dump(mode="python")
    data["devices"]["sorter"]["url"] = sim.plc_url
    for name, url in {**sim.reader_urls(), **sim.camera_urls()}.items():
        data["devices"][name]["url"] = url
    return LineConfig.model_validate(data)


@contextlib.asynccontextmanager
async def simulated_line(config: LineConfig, data_dir: Path) -> AsyncIterator[SimulatedLine]:
    """A running simulated line with its manifest written into ``data_dir``."""
    sim = SimulatedLine(config, any_port=True, plc_pki_dir=data_dir / "plc-sim-pki")
    sim.write_manifest(data_dir / config.manifest.path, config.simulation.parcels or 1000)
    await sim.start()
    try:
        yield sim
    finally:
        await sim.stop()


@contextlib.asynccontextmanager
async def running(line: LineController) -> AsyncIterator[asyncio.Task[None]]:
    """Run ``line`` in a task for the duration of the block, then stop it cleanly."""
    task = asyncio.create_task(line.run(), name="line-under-test")
    try:
        await asyncio.wait_for(line.started.wait(), 5)
        yield task
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def executing(line: LineController) -> bool:
    """The PLC link is up and the line runs (auto start done)."""
    status = line.plc.status
    return line.plc.link.up and status is not None and status.packml_state is PackMLState.EXECUTE


def finished(line: LineController) -> int:
    """Parcels with a terminal state."""
    c = line.tracker.counts
    return c["sorted"] + c["rejected"] + c["lost"]


async def until(predicate: Callable[[], Any], within: float = 10.0) -> Any:
    """Wait until ``predicate()`` is truthy."""
    return await wait_for(predicate, within=within, step=0.01)
