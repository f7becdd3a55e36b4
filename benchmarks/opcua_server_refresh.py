"""What one refresh of LaneSort's OPC UA server costs the controller's event loop.

Builds a 32-chute line (no devices connected), fills the live latency window, and times
``LineOpcuaServer.refresh`` (the line's snapshot plus writing what changed) over a busy
line: three parcels land between two refreshes. The server refreshes every
``opcua_server.update_interval_ms`` (500 ms by default) on the loop that answers the PLC.

Run from the repository root::

    python benchmarks/opcua_server_refresh.py [--refreshes 2000]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from controller.line.controller import LineController
from controller.opcua.server import LineOpcuaServer
from tests.controller.opcua.conftest import line_config


async def run(refreshes: int) -> list[float]:
    """Time ``refreshes`` refreshes; return their costs in ms."""
    chutes = [{"id": i, "position_mm": 800 + 100 * i, "capacity": 50} for i in range(1, 32)]
    config = line_config(
        topology={"chutes": chutes, "reject_chute": {"id": 32, "position_mm": 5000}},
        register_map={"chute_words": 2},
        sort_plan={f"R{i:02d}": [i] for i in range(4, 32)},
        opcua_server={"enabled": True, "port": 0},
    )
    rng = random.Random(1)
    with tempfile.TemporaryDirectory() as tmp:
        line = LineController(config, Path(tmp))
        line.plc.latencies_ms.extend(rng.uniform(1, 9) for _ in range(5000))
        server = LineOpcuaServer(line)
        await server.start()
        costs = []
        try:
            for _ in range(refreshes):
                for _ in range(3):
                    chute = rng.randint(1, 31)
                    line.tracker.per_chute[chute] = line.tracker.per_chute.get(chute, 0) + 1
                    line.tracker.counts["inducted"] += 1
                    line.tracker.counts["sorted"] += 1
                    line.plc.latencies_ms.append(rng.uniform(1, 9))
                await server.refresh()
                costs.append(server.update_costs_ms[-1])
        finally:
            await server.stop()
    return costs


def main() -> None:
    """Print the refresh cost's median, p99 and max."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--refreshes", type=int, default=2000)
    args = ap.parse_args()
    costs = sorted(asyncio.run(run(args.refreshes)))
    p99 = costs[int(len(costs) * 0.99) - 1]
    print(
        f"OPC UA server refresh, 32-chute line, {len(costs)} refreshes: median "
        f"{statistics.median(costs):.3f} ms, p99 {p99:.3f} ms, max {costs[-1]:.3f} ms "
        "(snapshot included)"
    )


if __name__ == "__main__":
    main()
