"""The ``lanesort`` command.

::

    lanesort check-config FILE          validate a line config; every problem, exit 1 if any
    lanesort schema                     print the JSON Schema of line configs (for editors)
    lanesort run --config FILE          run the controller against the configured addresses
    lanesort sim --config FILE          run the line simulator (its own process)
    lanesort demo [--parcels N] …       simulator + controller with live counters and a report
    lanesort probe scale|dimensioner|reader|camera --driver D --url U
                                        ask one device once, print the answer as JSON
    lanesort token create --name N --role tms|supervisor|viewer [--config FILE]
                                        an API token, printed once; also token list|revoke
    lanesort plan --instance FILE.json [--out FILE.json] [--time-limit S]
                                        a sort plan for chutes, doors, trucks and routes,
                                        with its figures (the optimiser)
    lanesort site --config SITE.yaml    the site service: manifests and route plans to the
                                        lines, the site API, HMI page and metrics
    lanesort user add --name N --role supervisor|viewer [--password-stdin] [--config FILE]
                                        an HMI user (password asked twice); also user list,
                                        user remove|passwd|disable|enable NAME,
                                        user role NAME --role supervisor|viewer
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import io
import json
import logging
import os
import sys
import time
from collections.abc import Coroutine, Sequence
from importlib import resources
from pathlib import Path
from typing import Any

from controller.auth import TokenStore, UserStore, token_cli, tokens_path, user_cli, users_path
from controller.cli.console import run_console
from controller.cli.serve import WebExtension, run_line
from controller.cli.stop_signal import StopSignal
from controller.errors import ConfigError, ControllerError
from controller.line import LineController
from controller.sortplan import plan_cli
from plc_configs.loader import LineConfigError, json_schema, load_line_config
from plc_configs.schema import LineConfig

log = logging.getLogger("lanesort")

DEMO_CONFIG = "demo-line.yaml"


def demo_config_path() -> Path:
    """The demo line's config shipped in ``plc_configs``."""
    return Path(str(resources.files("plc_configs").joinpath(DEMO_CONFIG)))


def _load(path: Path) -> tuple[LineConfig, str]:
    try:
        return load_line_config(path), path.read_text(encoding="utf-8")
    except LineConfigError as err:
        raise ConfigError(str(err)) from err


def _run_loop(coro: Coroutine[Any, Any, Any]) -> Any:
    """Run ``coro`` on uvloop where available (faster Modbus round trips), else asyncio.

    Everything imported so far is moved out of the garbage collector's reach first: a
    full collection over every module object paused the loop for ~40 ms, longer than
    the PLC waits for an answer at high rates.
    """
    gc.collect()
    gc.freeze()
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coro)
    return uvloop.run(coro)


def _setup_logging(verbose: bool, log_file: Path | None = None) -> None:
    handlers: list[logging.Handler] = []
    if log_file is not None:
        log_file.parent.mkdir(parents=True, exist_ok=True)
        handlers.append(logging.FileHandler(log_file))
    else:
        handlers.append(logging.StreamHandler(sys.stderr))
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
        handlers=handlers,
        force=True,
    )
    logging.getLogger("pymodbus").setLevel(logging.CRITICAL)
    # asyncua logs every endpoint (certificates included) and publish at INFO.
    logging.getLogger("asyncua").setLevel(logging.DEBUG if verbose else logging.WARNING)


def cmd_check_config(args: argparse.Namespace) -> int:
    """Validate a config file; print every problem; exit 1 when there are any."""
    path = Path(args.file)
    try:
        config, _ = _load(path)
    except ConfigError as err:
        print(err, file=sys.stderr)
        n = str(err).count("\n") + 1
        print(f"{path}: {n} problem{'s' if n > 1 else ''}", file=sys.stderr)
        return 1
    devices = ", ".join(f"{n} ({d.driver} {d.url})" for n, d in config.devices.items())
    print(
        f"{path}: ok: line {config.line.name}; {len(config.topology.chutes)} chutes; "
        f"{len(config.sort_plan)} routes; devices: {devices}"
    )
    return 0


def cmd_schema(args: argparse.Namespace) -> int:
    """Print (or write) the JSON Schema of line configs."""
    text = json_schema()
    if args.output:
        Path(args.output).write_text(text)
    else:
        sys.stdout.write(text)
    return 0


def _data_dir(config: LineConfig, override: str | None) -> Path:
    return Path(override or config.line.data_dir)


def cmd_run(args: argparse.Namespace) -> int:
    """Run the controller until Ctrl-C or SIGTERM (the same clean stop: the journal is
    closed, exit 0); line commands are read from standard input."""
    stop = StopSignal()
    with stop.handled():
        config, text = _load(Path(args.config))
        _setup_logging(args.verbose)
        line = LineController(config, _data_dir(config, args.data_dir), text)
        _run_loop(stop.stops(_run_with_console(line, args.web)))
    if stop.received is not None:
        log.info("stopped by %s", stop.name)
    return 0


async def _run_with_console(line: LineController, web: Sequence[WebExtension]) -> None:
    """The line with its API and the console until cancelled (a stop) or the line fails;
    a summary line every 10 s."""
    task = asyncio.create_task(run_line(line, announce=log.info, web=web))
    console = asyncio.create_task(run_console(line))
    try:
        while not task.done():
            await asyncio.wait({task}, timeout=10)
            if task.done():
                break
            snap = line.snapshot()
            log.info(
                "state %s inducted %d sorted %d rejected %d lost %d alarms %d",
                snap.packml_state.name if snap.packml_state else "?",
                snap.counts["inducted"],
                snap.counts["sorted"],
                snap.counts["rejected"],
                snap.counts["lost"],
                len(snap.alarms),
            )
        await task
    finally:
        # Stopped (cancelled) or the line failed: the console stops reading, and the line
        # runs its clean-up (the journal is flushed and closed) before this returns.
        console.cancel()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await console
        with contextlib.suppress(asyncio.CancelledError):
            await task


def cmd_sim(args: argparse.Namespace) -> int:
    """Replace this process with the simulator process (``python -m simulators``)."""
    _load(Path(args.config))  # fail early with the config's problems
    argv = [sys.executable, "-m", "simulators", "--config", args.config]
    for flag in ("data_dir", "parcels", "rate", "seed", "truth", "scenario"):
        value = getattr(args, flag)
        if value is not None:
            argv += [f"--{flag.replace('_', '-')}", str(value)]
    os.execv(sys.executable, argv)
    return 0  # pragma: no cover - execv does not return


def cmd_demo(args: argparse.Namespace) -> int:
    """Run simulator and controller together. Ctrl-C and SIGTERM stop it the same way:
    the line and both simulators are stopped, exit 0 (2 if a parcel reached a wrong chute)."""
    if args.site is not None:
        return cmd_demo_site(args)
    if args.realtime_priority is not None:
        print(
            "--realtime-priority: only with --site (one line takes line.realtime_priority "
            "from its config)",
            file=sys.stderr,
        )
        return 1
    stop = StopSignal()
    report = None
    started = time.monotonic()
    if isinstance(sys.stdout, io.TextIOWrapper):
        sys.stdout.reconfigure(line_buffering=True)  # a pipe, too, sees each line as it comes
    with stop.handled():
        from controller.cli.demo import DemoOptions, default_data_dir, run_demo

        config_path = Path(args.config) if args.config else demo_config_path()
        config, text = _load(config_path)
        data_dir = Path(args.data_dir) if args.data_dir else default_data_dir(config.line.data_dir)
        _setup_logging(args.verbose, data_dir / "controller.log")
        options = DemoOptions(
            config_path=config_path.resolve(),
            data_dir=data_dir.resolve(),
            parcels=args.parcels,
            rate_pph=args.rate,
            seed=args.seed,
            report=Path(args.report) if args.report else None,
            live=sys.stdout.isatty() and not args.plain,
            scenario=Path(args.scenario).resolve() if args.scenario else None,
            web=tuple(args.web),
            settle_s=args.settle_s,
        )
        print(f"demo data in {data_dir} (journal.sqlite, controller.log, simulator.log)")
        report = _run_loop(stop.stops(run_demo(config, options, text)))
    if stop.received is not None:
        print(f"stopped by {stop.name}", flush=True)
    elif report is not None:
        print(report.to_json())
        print(f"done in {time.monotonic() - started:.1f} s")
    if report is not None and (report.sorted_wrong_chute or report.more_than_one_terminal_state):
        return 2
    return 0


def cmd_demo_site(args: argparse.Namespace) -> int:
    """``demo --site N``: N lines, the broker, the store and the site service; exit 0 when
    the store has every line's parcels and its total is the sum of the lines', else 2."""
    from controller.cli.demo_site import (
        LINE_CONFIG,
        REALTIME_PRIORITY,
        SiteDemoOptions,
        run_site_demo,
    )

    if args.site < 1:
        print("--site: at least 1 line", file=sys.stderr)
        return 1
    if isinstance(sys.stdout, io.TextIOWrapper):
        sys.stdout.reconfigure(line_buffering=True)
    data_dir = Path(args.data_dir or "lanesort-site-demo").resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    _setup_logging(args.verbose, data_dir / "site-demo.log")
    options = SiteDemoOptions(
        lines=args.site,
        data_dir=data_dir,
        parcels=args.parcels,
        rate_pph=args.rate,
        seed=args.seed if args.seed is not None else 1,
        report=Path(args.report) if args.report else None,
        line_config=Path(args.config).resolve() if args.config else LINE_CONFIG,
        realtime_priority=(
            REALTIME_PRIORITY if args.realtime_priority is None else args.realtime_priority
        ),
    )
    print(f"site demo data in {data_dir}")
    stop = StopSignal()
    summary = None
    with stop.handled():
        summary = _run_loop(stop.stops(run_site_demo(options)))
    if stop.received is not None or summary is None:
        print(f"stopped by {stop.name}", flush=True)
        return 0
    print(json.dumps(summary, indent=2))
    return 0 if summary["site_total"] == summary["sum_of_lines"] else 2


def cmd_probe(args: argparse.Namespace) -> int:
    """Ask one device once; print its answer as JSON, or why not and exit 1."""
    from controller.cli.probe import ProbeFailed, run_probe

    extra: dict[str, Any] = {}
    driver, url = args.driver, args.url
    if args.config and args.device:
        config, _ = _load(Path(args.config))
        device = config.devices.get(args.device)
        if device is None:
            raise ConfigError(f"{args.config}: no device {args.device!r} in devices")
        data = device.model_dump(mode="python", exclude_none=True)
        driver, url = driver or data.pop("driver"), url or data.pop("url")
        data.pop("driver", None)
        data.pop("url", None)
        data.pop("kind", None)
        data.pop("timeout_ms", None)
        extra = data
    if args.kind == "camera":
        driver = driver or "zxing"
    if not driver or not url:
        raise ConfigError("probe needs --driver and --url (or --config FILE --device NAME)")
    if args.node:
        extra["node"] = args.node
    try:
        print(run_probe(args.kind, driver, url, args.timeout_ms, args.now, extra))
    except ProbeFailed as err:
        print(f"lanesort probe {args.kind} ({driver} at {url}): {err}", file=sys.stderr)
        return 1
    return 0


def cmd_site(args: argparse.Namespace) -> int:
    """Run the site service until Ctrl-C or SIGTERM (exit 0)."""
    from controller.cli.site import load_site, run_site
    from controller.site.service import Site

    stop = StopSignal()
    with stop.handled():
        config = load_site(Path(args.config))
        _setup_logging(args.verbose)
        data_dir = Path(args.data_dir) if args.data_dir else None
        site = Site.from_config(config, data_dir=data_dir)

        def announce(text: str) -> None:
            print(text, flush=True)

        _run_loop(stop.stops(run_site(site, announce, args.site_web)))
    if stop.received is not None:
        log.info("stopped by %s", stop.name)
    return 0


def cmd_token(args: argparse.Namespace) -> int:
    """API tokens of the line's data directory (or the site's, with ``--site``)."""
    if getattr(args, "site", None):
        from controller.cli.site import load_site
        from controller.site.service.site import site_tokens

        data_dir = Path(args.data_dir) if args.data_dir else None
        return token_cli.cmd_token(args, site_tokens(load_site(Path(args.site)), data_dir))
    config, _ = _load(Path(args.config) if args.config else demo_config_path())
    path = tokens_path(_data_dir(config, args.data_dir), config.api.tokens_path)
    return token_cli.cmd_token(args, TokenStore(path))


def cmd_user(args: argparse.Namespace) -> int:
    """HMI users of the line's data directory (or the site's, with ``--site``)."""
    if getattr(args, "site", None):
        from controller.cli.site import load_site
        from controller.site.service.site import site_users

        data_dir = Path(args.data_dir) if args.data_dir else None
        return user_cli.cmd_user(args, site_users(load_site(Path(args.site)), data_dir))
    config, _ = _load(Path(args.config) if args.config else demo_config_path())
    path = users_path(_data_dir(config, args.data_dir), config.hmi.users_path)
    return user_cli.cmd_user(args, UserStore(path, max_attempts=config.hmi.login_attempts))


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``lanesort``."""
    parser = argparse.ArgumentParser(
        prog="lanesort", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("check-config", help="validate a line config file")
    p.add_argument("file")
    p.set_defaults(func=cmd_check_config)

    p = sub.add_parser("schema", help="print the JSON Schema of line configs")
    p.add_argument("-o", "--output", help="write to this file instead of stdout")
    p.set_defaults(func=cmd_schema)

    def common(p: argparse.ArgumentParser, config_required: bool) -> None:
        p.add_argument(
            "--config",
            required=config_required,
            help="line config YAML" + ("" if config_required else " (default: the demo line)"),
        )
        p.add_argument("--data-dir", help="overrides line.data_dir")
        p.add_argument("-v", "--verbose", action="store_true")

    p = sub.add_parser("run", help="run the controller")
    common(p, True)
    p.set_defaults(func=cmd_run)

    for name, helptext in (
        ("sim", "run the line simulator"),
        ("demo", "run simulator and controller, show live counters"),
    ):
        p = sub.add_parser(name, help=helptext)
        common(p, name == "sim")
        p.add_argument("--parcels", type=int, help="stop after this many parcels")
        p.add_argument("--rate", type=float, help="parcels per hour at the induct")
        p.add_argument("--seed", type=int, help="seed of the line twin")
        p.add_argument("--scenario", help="fault scenario YAML for the simulated devices")
        if name == "sim":
            p.add_argument("--truth", help="write the twin's ground truth JSON here on exit")
            p.set_defaults(func=cmd_sim)
        else:
            p.add_argument("--report", help="write the report JSON here")
            p.add_argument(
                "--plain",
                action="store_true",
                help="print a status line every 2 s instead of the live screen",
            )
            p.add_argument(
                "--settle-s",
                type=float,
                default=10.0,
                help="after the last parcel: nothing new at the walls and doors this long "
                "(and no container moving) means the people there are done (default 10)",
            )
            p.add_argument(
                "--site",
                type=int,
                metavar="N",
                help="a hub of N lines (the --config line, default the demo line), one "
                "Mosquitto, one PostgreSQL and the site service",
            )
            p.add_argument(
                "--realtime-priority",
                type=int,
                choices=range(100),
                metavar="P",
                help="with --site: each line's line.realtime_priority (0: normal priority; "
                "default 10)",
            )
            p.set_defaults(func=cmd_demo)
    p = sub.add_parser(
        "probe", help="ask one device once and print its answer as JSON (commissioning)"
    )
    p.add_argument("kind", choices=["scale", "dimensioner", "reader", "camera"])
    p.add_argument("--driver", help="driver name as in the line config (mt-sics, cubiscan …)")
    p.add_argument("--url", help="device address (tcp://, socket://, /dev/ttyUSB0?baud=9600 …)")
    p.add_argument("--timeout-ms", type=int, default=1000)
    p.add_argument("--now", action="store_true", help="scale: the weight now, stable or not")
    p.add_argument("--node", help="opcua-weighing: node id or browse path of the scale")
    p.add_argument("--config", help="take the device's settings from this line config")
    p.add_argument("--device", help="the device's name in --config")
    p.set_defaults(func=cmd_probe)
    p = sub.add_parser("site", help="run the site service over the hub's lines")
    p.add_argument("--config", required=True, help="site config YAML (SITE.yaml)")
    p.add_argument("--data-dir", help="overrides site.data_dir")
    p.add_argument("-v", "--verbose", action="store_true")
    p.set_defaults(func=cmd_site)
    token_cli.add_parser(sub).set_defaults(func=cmd_token)
    user_cli.add_parser(sub).set_defaults(func=cmd_user)
    plan_cli.add_parser(sub).set_defaults(func=plan_cli.cmd_plan)
    return parser


def main(
    argv: list[str] | None = None,
    web: Sequence[WebExtension] = (),
    site_web: Sequence[Any] = (),
) -> int:
    """Run ``lanesort``; ``web`` extensions (the HMI) are mounted on the API's app,
    ``site_web`` ones (the site HMI) on the site service's."""
    args = build_parser().parse_args(argv)
    args.web = web
    args.site_web = site_web
    try:
        return int(args.func(args) or 0)
    except ControllerError as err:
        print(f"lanesort: {err}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
