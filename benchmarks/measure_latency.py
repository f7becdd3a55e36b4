"""Round-trip latency of the scale and dimensioner drivers against their simulators.

For each request/response protocol (MT-SICS, SMA, NCI, CubiScan) over TCP and over a pty,
and for OPC UA weighing over opc.tcp, the simulator runs in this process with no faults and
no artificial reply delay; N transactions go through the real driver (``read_stable`` or
``measure``) and the table gives p50, p99 and max in milliseconds. Toledo continuous
output streams, so for it the table gives the interval between frames the driver receives
(``read_now`` back to back) at the ``--toledo-period-ms`` the simulator sends them at.

Run from the repository root::

    python benchmarks/measure_latency.py [--n 500] [--no-uvloop]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import platform
import shutil
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from drivers.registry import create_dimensioner, create_scale
from plc_configs.schema import DimensionerDevice, ScaleDevice
from simulators.measure.devices import MeasureTiming, make_protocol
from simulators.measure.faults import FaultInjector
from simulators.measure.server import DeviceServer
from simulators.opcua_scale import OpcUaScaleSimulator
from simulators.parcels import ParcelSpec, ReaderOutcome

try:
    import uvloop
except ImportError:  # pragma: no cover - optional
    uvloop = None  # type: ignore[assignment]

PARCEL = ParcelSpec(1, "LS0000000001", "A", 321, 150, 87, 3.4567, True, ReaderOutcome.OK)
REQUEST_PROTOCOLS = ("mt-sics", "sma", "nci", "cubiscan")
TRANSPORTS = ("tcp", "pty")
TIMEOUT_MS = 2000
WARMUP = 20


def percentile(sorted_ms: list[float], p: float) -> float:
    """Nearest-rank percentile of an ascending list."""
    rank = max(1, round(p / 100 * len(sorted_ms) + 0.5 - 1e-9))
    return sorted_ms[min(rank, len(sorted_ms)) - 1]


def device_config(protocol: str, url: str) -> ScaleDevice | DimensionerDevice:
    """A device section for ``protocol`` at ``url``."""
    if protocol == "cubiscan":
        return DimensionerDevice(
            kind="dimensioner", driver=protocol, url=url, timeout_ms=TIMEOUT_MS
        )
    return ScaleDevice(kind="scale", driver=protocol, url=url, timeout_ms=TIMEOUT_MS)


async def timed(n: int, call: Callable[[], Awaitable[Any]]) -> list[float]:
    """Milliseconds of ``n`` calls, after a warm-up."""
    for _ in range(WARMUP):
        await call()
    out = []
    for _ in range(n):
        start = time.perf_counter()
        await call()
        out.append((time.perf_counter() - start) * 1000)
    return out


async def intervals(n: int, call: Callable[[], Awaitable[Any]]) -> list[float]:
    """Milliseconds between the returns of ``n + 1`` back-to-back calls, after a warm-up."""
    for _ in range(3):
        await call()
    out = []
    last = time.perf_counter()
    for _ in range(n):
        await call()
        now = time.perf_counter()
        out.append((now - last) * 1000)
        last = now
    return out


async def bench_wire(
    protocol: str, transport: str, n: int, folder: Path, timing: MeasureTiming
) -> list[float]:
    """Start the simulator, connect the driver, time ``n`` transactions (or frame intervals)."""
    name = f"{protocol}-{transport}"
    listen = "tcp://127.0.0.1:0" if transport == "tcp" else str(folder / name)
    device = device_config(protocol, listen)
    server = DeviceServer(
        name, listen, make_protocol(device, lambda: PARCEL, timing), FaultInjector()
    )
    await server.start()
    driver: Any = None
    try:
        device = device.model_copy(update={"url": server.url})
        if isinstance(device, ScaleDevice):
            driver = create_scale(name, device)
        else:
            driver = create_dimensioner(name, device)
        await driver.connect()
        if protocol == "toledo-continuous":
            return await intervals(n, driver.read_now)
        call = driver.measure if protocol == "cubiscan" else driver.read_stable
        return await timed(n, call)
    finally:
        if driver is not None:
            await driver.close()
            await asyncio.sleep(0.02)  # let the server see the client go before stopping
        await server.stop()


async def bench_opcua(n: int) -> list[float]:
    """``read_stable`` on the OPC UA weighing simulator over opc.tcp."""
    sim = OpcUaScaleSimulator("ua", lambda: PARCEL.weight_kg)
    await sim.start()
    device = ScaleDevice(kind="scale", driver="opcua-weighing", url=sim.url, timeout_ms=TIMEOUT_MS)
    driver = create_scale("ua", device)
    try:
        await driver.connect()
        return await timed(n, driver.read_stable)
    finally:
        await driver.close()
        await sim.stop()


async def run(args: argparse.Namespace) -> list[tuple[str, str, str, list[float]]]:
    """Every row of the table: (protocol, transport, what, milliseconds)."""
    timing = MeasureTiming(
        sma_reply_delay_s=0.0,
        stability_timeout_s=0.0,
        toledo_period_s=args.toledo_period_ms / 1000,
        split_gap_s=0.0,
    )
    rows = []
    folder = Path(tempfile.mkdtemp(prefix="lanesort-bench-"))
    try:
        for protocol in REQUEST_PROTOCOLS:
            for transport in TRANSPORTS:
                ms = await bench_wire(protocol, transport, args.n, folder, timing)
                rows.append((protocol, transport, "round trip", ms))
        rows.append(("opcua-weighing", "opc.tcp", "round trip", await bench_opcua(args.n)))
        for transport in TRANSPORTS:
            ms = await bench_wire("toledo-continuous", transport, args.toledo_n, folder, timing)
            rows.append(("toledo-continuous", transport, "frame interval", ms))
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return rows


def main() -> None:
    """Parse the arguments, run, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=500, help="transactions per row (500)")
    parser.add_argument(
        "--toledo-n", type=int, default=200, help="frame intervals for Toledo continuous (200)"
    )
    parser.add_argument(
        "--toledo-period-ms",
        type=float,
        default=10.0,
        help="Toledo simulator frame period in ms (10; real terminals ~143)",
    )
    parser.add_argument("--no-uvloop", action="store_true", help="use the default asyncio loop")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("asyncua").setLevel(logging.ERROR)  # NoSecurity warnings
    use_uvloop = uvloop is not None and not args.no_uvloop
    print(f"Python {platform.python_version()} ({platform.python_implementation()})")
    if uvloop is None:
        print("uvloop: not installed (default asyncio loop)")
    else:
        print(f"uvloop {uvloop.__version__}: {'in use' if use_uvloop else 'installed, not used'}")
    print(f"CPUs: {os.cpu_count()}  platform: {platform.platform()}")
    print(f"n = {args.n} per row after {WARMUP} warm-up; Toledo: {args.toledo_n} intervals")
    print()
    factory = uvloop.new_event_loop if use_uvloop else None
    with asyncio.Runner(loop_factory=factory) as runner:
        rows = runner.run(run(args))
    header = f"{'protocol':<18} {'transport':<9} {'measure':<14} {'n':>5} "
    header += f"{'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}"
    print(header)
    print("-" * len(header))
    for protocol, transport, what, ms in rows:
        ms = sorted(ms)
        print(
            f"{protocol:<18} {transport:<9} {what:<14} {len(ms):>5} "
            f"{percentile(ms, 50):>8.3f} {percentile(ms, 99):>8.3f} {ms[-1]:>8.3f}"
        )
    print()
    print(f"Toledo frame interval at a simulator period of {args.toledo_period_ms:g} ms.")


if __name__ == "__main__":
    main()
