"""``python -m simulators fleet``: the line's simulated AMRs (VDA 5050) on an MQTT broker.

Usage::

    python -m simulators fleet --config LINE.yaml --broker mqtt://HOST:PORT
                               [--username U --password-env VAR] [--seed N]
                               [--log-level LEVEL] [--parent-pid P]

Connects every vehicle of the config's ``fleet:`` (settings from ``simulation.fleet``),
prints ``{"event": "ready", "vehicles": ["LaneSim/AMR-01", …]}`` on stdout and serves
until SIGINT/SIGTERM (or the death of ``--parent-pid``), then publishes ``OFFLINE`` for
each vehicle and exits 0. The password is read from the environment variable named by
``--password-env``, never from the command line.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import signal
import sys
from collections.abc import Sequence

from plc_configs.loader import LineConfigError, load_line_config
from plc_configs.schema import LineConfig
from simulators.fleet.fleet import SimulatedFleet
from simulators.loop import run as run_on_uvloop
from simulators.parent import die_with_parent, watch_parent


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Command-line arguments of ``python -m simulators fleet``."""
    ap = argparse.ArgumentParser(
        prog="python -m simulators fleet", description=__doc__.split("\n")[0]
    )
    ap.add_argument("--config", required=True, help="line configuration YAML (with fleet:)")
    ap.add_argument("--broker", required=True, help="mqtt://HOST:PORT")
    ap.add_argument("--username", help="broker user name")
    ap.add_argument("--password-env", help="environment variable holding the broker password")
    ap.add_argument("--seed", type=int, help="overrides simulation.seed")
    ap.add_argument("--log-level", default="INFO", help="stderr log level (default INFO)")
    ap.add_argument("--parent-pid", type=int, help="stop when this process, our parent, dies")
    return ap.parse_args(argv)


async def run(config: LineConfig, args: argparse.Namespace, password: str | None) -> int:
    """Run the fleet until SIGINT/SIGTERM; return the exit code."""
    fleet = SimulatedFleet(
        config, args.broker, seed=args.seed, username=args.username, password=password
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    watch = None
    if args.parent_pid is not None:
        watch = asyncio.create_task(watch_parent(args.parent_pid, stop.set), name="parent-watch")
    try:
        try:
            await fleet.start()
        except ConnectionError as err:
            print(f"{err}", file=sys.stderr)
            return 1
        keys = [f"{v.model.manufacturer}/{v.model.serial}" for v in fleet.vehicles.values()]
        print(json.dumps({"event": "ready", "vehicles": keys}), flush=True)
        await stop.wait()
        await fleet.stop()
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
        if watch is not None:
            watch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watch
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m simulators fleet``."""
    args = parse_args(argv)
    logging.basicConfig(
        stream=sys.stderr,
        level=getattr(logging, str(args.log_level).upper(), logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if args.parent_pid is not None and not die_with_parent(args.parent_pid):
        print(f"parent process {args.parent_pid} is gone: not starting", file=sys.stderr)
        return 1
    password = None
    if args.password_env:
        password = os.environ.get(args.password_env)
        if password is None:
            print(f"environment variable {args.password_env} is not set", file=sys.stderr)
            return 2
    try:
        config = load_line_config(args.config)
    except LineConfigError as err:
        print(err, file=sys.stderr)
        return 2
    if not config.fleet.enabled or config.fleet.layout is None:
        print(f"{args.config}: no enabled fleet with a layout", file=sys.stderr)
        return 2
    return run_on_uvloop(run(config, args, password))
