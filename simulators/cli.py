"""``python -m simulators``: the line twin with its PLC and barcode reader simulators.

Usage::

    python -m simulators --config FILE [--data-dir DIR] [--parcels N] [--rate PPH]
                         [--seed S] [--truth FILE] [--log-level LEVEL] [--parent-pid P]

Writes the manifest CSV, starts the sorter PLC (Modbus TCP) and the readers (TCP) at
the addresses of the config's devices, then prints one JSON line on stdout::

    {"event": "ready", "manifest": "<path>", "belt_speed_mps": <m/s>, "parcels": <N or null>}

(with ``simulation.route_plan``, also ``"route_plan": "<path>"``: the plan as the TMS
sends it, ``route-plan.json`` next to the manifest, whose rows then carry each
parcel's ``stop_sequence`` and ``consignee``)

and, once ``--parcels`` were all inducted and confirmed in the ring,
``{"event": "drained", "inducted": N}``. It serves until SIGINT/SIGTERM, then writes
the truth file (``--truth``) and exits 0. With ``--parent-pid P`` it also stops when P,
its parent, dies (:mod:`simulators.parent`). Logs go to stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import logging
import math
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from plc_configs.loader import LineConfigError, load_line_config
from plc_configs.schema import LineConfig
from simulators.files import truth, write_truth
from simulators.line import SimulatedLine
from simulators.parent import die_with_parent, watch_parent

log = logging.getLogger("simulators")

MANIFEST_HOURS_UNBOUNDED = 1.0
"""Without ``--parcels``, the manifest covers this many hours of parcels at the rate."""


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Command-line arguments."""
    ap = argparse.ArgumentParser(prog="python -m simulators", description=__doc__.split("\n")[0])
    ap.add_argument("--config", required=True, help="line configuration YAML")
    ap.add_argument("--data-dir", help="overrides line.data_dir")
    ap.add_argument("--parcels", type=int, help="overrides simulation.parcels")
    ap.add_argument("--rate", type=float, help="overrides simulation.rate_pph")
    ap.add_argument("--seed", type=int, help="overrides simulation.seed")
    ap.add_argument("--truth", help="write what really happened here (JSON) on exit")
    ap.add_argument("--scenario", help="overrides simulation.scenario (a fault scenario YAML)")
    ap.add_argument("--log-level", default="INFO", help="stderr log level (default INFO)")
    ap.add_argument(
        "--parent-pid",
        type=int,
        help="stop (and write the truth file) when this process, our parent, dies",
    )
    return ap.parse_args(argv)


def apply_overrides(config: LineConfig, args: argparse.Namespace) -> LineConfig:
    """The config with the command-line overrides applied (validated again)."""
    data = config.model_dump(mode="python")
    if args.data_dir is not None:
        data["line"]["data_dir"] = args.data_dir
    sim = data["simulation"]
    if args.parcels is not None:
        sim["parcels"] = args.parcels
    if args.rate is not None:
        sim["rate_pph"] = args.rate
    if args.seed is not None:
        sim["seed"] = args.seed
    if getattr(args, "scenario", None) is not None:
        sim["scenario"] = str(Path(args.scenario).resolve())
    return LineConfig.model_validate(data)


def manifest_size(config: LineConfig) -> int:
    """How many parcels the manifest covers."""
    sim = config.simulation
    if sim.parcels is not None:
        return sim.parcels
    return max(1000, math.ceil(sim.rate_pph * MANIFEST_HOURS_UNBOUNDED))


def _emit(out: TextIO, event: dict) -> None:
    out.write(json.dumps(event) + "\n")
    out.flush()


async def run(
    config: LineConfig,
    truth_path: Path | None,
    out: TextIO = sys.stdout,
    parent_pid: int | None = None,
    config_dir: Path | None = None,
) -> int:
    """Run the simulators until SIGINT/SIGTERM; return the exit code."""
    sim_line = SimulatedLine(
        config, config_dir=config_dir, plc_pki_dir=Path(config.line.data_dir) / "plc-sim-pki"
    )
    twin, plc, readers = sim_line.twin, sim_line.plc, list(sim_line.readers.values())
    topo_speed = config.topology.belt_speed_mps
    if twin.belt_speed_mps > topo_speed:
        log.warning(
            "%.0f parcels/h do not fit on the belt at %.2f m/s: running it at %.2f m/s "
            "(answer window %.1f ms, was %.1f ms)",
            twin.rate_pph,
            topo_speed,
            twin.belt_speed_mps,
            (config.topology.decision_point_mm - config.topology.request_point_mm)
            / twin.belt_speed_mps,
            config.topology.answer_window_ms(),
        )
    manifest = (Path(config.line.data_dir) / config.manifest.path).resolve()
    plan_path = sim_line.write_manifest(manifest, manifest_size(config))
    log.info("manifest written: %s", manifest)
    if plan_path is not None:
        log.info("route plan written: %s", plan_path)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    watch = None
    if parent_pid is not None:
        watch = asyncio.create_task(watch_parent(parent_pid, stop.set), name="parent-watch")
    try:
        await sim_line.start()
        ready = {
            "event": "ready",
            "manifest": str(manifest),
            "belt_speed_mps": twin.belt_speed_mps,
            "parcels": twin.parcel_limit,
        }
        if plan_path is not None:
            ready["route_plan"] = str(plan_path)
        _emit(out, ready)
        stopped = asyncio.create_task(stop.wait(), name="stop")
        drained = asyncio.create_task(plc.drained.wait(), name="drained")
        try:
            await asyncio.wait((stopped, drained), return_when=asyncio.FIRST_COMPLETED)
            if drained.done():
                _emit(out, {"event": "drained", "inducted": twin.stats.inducted})
            await stopped
        finally:
            stopped.cancel()
            drained.cancel()
        log.info("stopping")
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
        if watch is not None:
            watch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watch
        await sim_line.stop()
        if truth_path is not None:
            extra = {
                "reader_triggers": sum(r.triggers for r in readers),
                "reader_invalid_commands": sum(r.invalid_commands for r in readers),
            }
            if sim_line.putwall is not None:
                extra["putwall"] = sim_line.putwall.counts()
            write_truth(truth_path, truth(twin, plc.logic, extra))
            log.info("truth written: %s", truth_path)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m simulators``."""
    # --- the ``fleet`` subcommand: the simulated AMRs (simulators.fleet.cli) ---
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["fleet"]:
        from simulators.fleet.cli import main as fleet_main

        return fleet_main(argv[1:])
    # --- end of the fleet subcommand ---
    args = parse_args(argv)
    logging.basicConfig(
        stream=sys.stderr,
        level=getattr(logging, str(args.log_level).upper(), logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if args.parent_pid is not None and not die_with_parent(args.parent_pid):
        print(f"parent process {args.parent_pid} is gone: not starting", file=sys.stderr)
        return 1
    logging.getLogger("pymodbus").setLevel(logging.WARNING)
    logging.getLogger("asyncua").setLevel(logging.WARNING)
    try:
        config = apply_overrides(load_line_config(args.config), args)
    except LineConfigError as err:
        print(err, file=sys.stderr)
        return 2
    except ValueError as err:
        print(f"{args.config}: invalid override: {err}", file=sys.stderr)
        return 2
    truth_path = Path(args.truth) if args.truth else None
    # Keep full garbage collections short: module objects are never garbage, and a
    # collection over all of them paused the PLC for tens of milliseconds.
    gc.collect()
    gc.freeze()
    main_coro = run(
        config, truth_path, parent_pid=args.parent_pid, config_dir=Path(args.config).parent
    )
    try:
        import uvloop
    except ImportError:
        return asyncio.run(main_coro)
    return uvloop.run(main_coro)
