"""``python -m simulators.tms``: the reference TMS as a process.

Prints one JSON line on stdout once both sites listen::

    {"event": "ready", "webhook_url": "...", "control_url": "...", "manifest_url": "..."}

and runs until SIGTERM or SIGINT (or, with ``--parent-pid P``, until P, its parent,
dies: :mod:`simulators.parent`), then closes both sites and exits 0. The HMAC
secret is read from the environment variable named by ``--secret-env`` so that it
never appears on a command line. Logs go to stderr.
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
from pathlib import Path

from simulators.loop import run as run_on_uvloop
from simulators.parent import die_with_parent, watch_parent
from simulators.tms.server import DEFAULT_PATH, TmsSimulator

log = logging.getLogger("simulators.tms")


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The command line of ``python -m simulators.tms``."""
    parser = argparse.ArgumentParser(
        prog="python -m simulators.tms", description="The reference TMS simulator."
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=0, help="webhook port (0: any free)")
    parser.add_argument("--control-port", type=int, default=0, help="control port (0: any)")
    parser.add_argument("--path", default=DEFAULT_PATH, help="webhook path")
    parser.add_argument(
        "--secret-env", metavar="NAME", help="environment variable holding the HMAC secret"
    )
    parser.add_argument("--manifest", type=Path, help="CSV served at GET /manifest.csv")
    parser.add_argument("--events-file", type=Path, help="append accepted events (JSON lines)")
    parser.add_argument("--log-level", default="WARNING", help="logging level (stderr)")
    parser.add_argument("--parent-pid", type=int, help="stop when this process, our parent, dies")
    return parser.parse_args(argv)


async def run(sim: TmsSimulator, parent_pid: int | None = None) -> int:
    """Serve until SIGINT/SIGTERM (or ``parent_pid`` dies); return the exit code."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    watch = None
    if parent_pid is not None:
        watch = asyncio.create_task(watch_parent(parent_pid, stop.set), name="parent-watch")
    try:
        await sim.start()
        ready = {
            "event": "ready",
            "webhook_url": sim.webhook_url,
            "control_url": sim.control_url,
            "manifest_url": sim.manifest_url,
        }
        sys.stdout.write(json.dumps(ready) + "\n")
        sys.stdout.flush()
        await stop.wait()
        log.info("stopping")
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
        if watch is not None:
            watch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watch
        await sim.stop()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m simulators.tms``."""
    args = parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), stream=sys.stderr)
    if args.parent_pid is not None and not die_with_parent(args.parent_pid):
        print(f"parent process {args.parent_pid} is gone: not starting", file=sys.stderr)
        return 1
    secret = None
    if args.secret_env:
        secret = os.environ.get(args.secret_env)
        if not secret:
            print(f"--secret-env: ${args.secret_env} is not set or empty", file=sys.stderr)
            return 2
    try:
        sim = TmsSimulator(
            args.host,
            args.port,
            args.control_port,
            path=args.path,
            secret=secret,
            manifest=args.manifest,
            events_file=args.events_file,
        )
        return run_on_uvloop(run(sim, args.parent_pid))
    except (OSError, ValueError) as err:
        print(f"simulators.tms: {err}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
