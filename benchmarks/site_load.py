"""A hub on this machine: N lines at 36,000 parcels/h each, one broker, one PostgreSQL.

Runs ``lanesort demo --site 1`` (the line alone, with its site link) and then
``lanesort demo --site N``, ``--rounds`` times in turn, and prints for each run:

- each line's answer p99 (controller side), and the N-line run's against the line alone;
- the relay lag p50/p99 (journal event time → the row in PostgreSQL; ``relayed`` is
  PostgreSQL's clock at the row's insert, inside its batch's transaction, just before
  the commit);
- the MQTT event lag p50/p99 (the event's ``time`` → received by a subscriber here);
- PostgreSQL rows written per second over the run, and each relayed stream's rows;
- CPU seconds of each kind of process (line demos with their simulators, PostgreSQL,
  Mosquitto, site service) per parcel, the figures the projection in
  ``docs/site-projection.md`` grows from.

The comparison with the line alone is made over every round's answers (each line's
journal): a p99 of 900 answers is their 9th slowest, and one run's differs from the
next by about 10 %, the size of the whole budget, so one pair of runs cannot tell.

Each line's event loop runs at the site demo's real-time priority (``line.realtime_priority``,
10) while an answer can be due, its PLC simulator's one step above all the time;
``--realtime-priority 0`` measures both runs at normal priority instead.

::

    python benchmarks/site_load.py [--lines 4] [--parcels 900] [--rate 36000]
                                   [--rounds 2] [--realtime-priority P]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import aiomqtt
import psycopg

ROOT = Path(__file__).resolve().parents[1]
PG_ENV, MQTT_ENV = "LANESORT_SITE_PG_PASSWORD", "LANESORT_SITE_MQTT_PASSWORD"
TICK = os.sysconf("SC_CLK_TCK")


def cpu_s(pid: int) -> float:
    """User + system CPU seconds of ``pid`` and its waited-for children (0 when gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return sum(int(x) for x in fields[11:15]) / TICK


def tree(pid: int) -> list[int]:
    """``pid`` and every descendant still running."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        try:
            kids = Path(f"/proc/{p}/task/{p}/children").read_text().split()
        except OSError:
            kids = []
        todo += [int(k) for k in kids]
    return out


def pct(values: list[float], q: float) -> float | None:
    """The ``q`` quantile (0–1) or None."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def subscribe(port: int, password: str, lags: list[float], stop: asyncio.Event) -> None:
    """Collect each event's lag (ms) from its ``time`` to its arrival here."""
    while not stop.is_set():
        try:
            async with aiomqtt.Client("127.0.0.1", port, username="line", password=password) as c:
                await c.subscribe("lanesort/v1/+/+/events/#", qos=1)
                async for message in c.messages:
                    body = json.loads(bytes(message.payload))  # type: ignore[arg-type]
                    sent = datetime.fromisoformat(body["time"].replace("Z", "+00:00"))
                    lags.append((time.time() - sent.timestamp()) * 1000)
                    if stop.is_set():
                        return
        except aiomqtt.MqttError:
            await asyncio.sleep(0.2)


async def sample_cpu(
    where: dict[str, Any], samples: list[tuple[float, dict[str, float]]], stop: asyncio.Event
) -> None:
    """Every 0.5 s: CPU seconds so far per kind of process (lines' process trees, PG, broker,
    site service)."""
    while not stop.is_set():
        totals: dict[str, float] = {}
        kinds = {
            "postgresql": [where["postgres"]["pid"]],
            "mosquitto": [where["mqtt"]["pid"]],
            "site_service": [where["site_service"]["pid"]],
            "lines": [line["pid"] for line in where["lines"].values()],
        }
        for kind, roots in kinds.items():
            totals[kind] = sum(cpu_s(p) for r in roots if r for p in tree(r))
        samples.append((time.monotonic(), totals))
        await asyncio.sleep(0.5)


async def run(
    lines: int, parcels: int, rate: float, data: Path, priority: int | None
) -> dict[str, Any]:
    """One ``demo --site lines`` run with the subscriber and CPU sampler beside it."""
    env = dict(os.environ, **{PG_ENV: secrets.token_hex(12), MQTT_ENV: secrets.token_hex(12)})
    report = data / "summary.json"
    argv = [sys.executable, "-m", "controller.cli", "demo", "--site", str(lines),
            "--parcels", str(parcels), "--rate", str(rate), "--data-dir", str(data),
            "--report", str(report)]  # fmt: skip
    if priority is not None:
        argv += ["--realtime-priority", str(priority)]
    started = time.monotonic()
    log = (data.parent / f"{data.name}.log").open("wb")
    proc = await asyncio.create_subprocess_exec(*argv, stdout=log, stderr=log, env=env, cwd=ROOT)
    where_path = data / "where.json"
    while not where_path.exists():
        if proc.returncode is not None:
            raise SystemExit(f"demo --site {lines} ended early; see {log.name}")
        await asyncio.sleep(0.2)
    where = json.loads(where_path.read_text())
    lags: list[float] = []
    cpu: list[tuple[float, dict[str, float]]] = []
    stop = asyncio.Event()
    tasks = [
        asyncio.create_task(subscribe(where["mqtt"]["port"], env[MQTT_ENV], lags, stop)),
        asyncio.create_task(sample_cpu(where, cpu, stop)),
    ]
    conninfo = (
        f"host=127.0.0.1 port={where['postgres']['port']} user=lanesort dbname=site "
        f"password={env[PG_ENV]}"
    )
    store = await asyncio.to_thread(_store_figures, conninfo, proc)
    await proc.wait()
    stop.set()
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    summary = json.loads(report.read_text())
    wall = time.monotonic() - started
    return {
        "summary": summary,
        "mqtt_lag_ms": lags,
        "cpu_s": cpu,
        "wall_s": wall,
        "answers_ms": answer_latencies(data),
        **store,
    }


def answer_latencies(data: Path) -> dict[str, list[float]]:
    """Each line's answer latencies (ms, controller side) from its journal."""
    out = {}
    for journal in sorted(data.glob("line-*/journal.sqlite")):
        conn = sqlite3.connect(f"file:{journal}?mode=ro", uri=True)
        try:
            rows = conn.execute("SELECT answer_ms FROM parcels WHERE answer_ms IS NOT NULL")
            out[journal.parent.name] = [r[0] for r in rows]
        finally:
            conn.close()
    return out


def _store_figures(conninfo: str, proc: asyncio.subprocess.Process) -> dict[str, Any]:
    """Poll the store every second until the demo ends (it stops PostgreSQL then): each new
    event row's relay lag, the terminal count over time, rows per stream."""
    lags: list[float] = []
    done: list[tuple[float, int]] = []
    figures: dict[str, Any] = {"relay_lag_ms": lags, "terminal": done}
    last = 0.0
    while proc.returncode is None:
        try:
            with psycopg.connect(conninfo, connect_timeout=2) as conn:
                rows = conn.execute(
                    "SELECT relayed, relayed - time, kind FROM parcel_events WHERE relayed > %s",
                    (last,),
                ).fetchall()
                for relayed, lag, _ in rows:
                    last = max(last, relayed)
                    lags.append(lag * 1000)
                count = conn.execute(
                    "SELECT count(*) FROM parcel_events WHERE kind = 'terminal'"
                ).fetchone()
                done.append((time.monotonic(), count[0] if count else 0))
                figures["rows"] = dict(
                    conn.execute(
                        "SELECT stream, sum(rows)::bigint FROM relay_positions GROUP BY stream"
                    ).fetchall()
                )
                span = conn.execute("SELECT min(relayed), max(relayed) FROM parcel_events")
                figures["events_span"] = list(span.fetchone() or ())
        except psycopg.Error:
            pass
        time.sleep(1.0)
    return figures


def steady_cpu(
    cpu: list[tuple[float, dict[str, float]]], done: list[tuple[float, int]]
) -> dict[str, float]:
    """CPU ms per parcel per kind of process between 10 % and 90 % of the parcels in the
    store (start-up and the drain left out)."""
    if not cpu or not done or done[-1][1] < 20:
        return {}
    final = done[-1][1]
    t0 = next(t for t, n in done if n >= final * 0.1)
    t1 = next(t for t, n in done if n >= final * 0.9)
    n0 = next(n for t, n in done if t >= t0)
    n1 = next(n for t, n in done if t >= t1)
    before = min(cpu, key=lambda s: abs(s[0] - t0))[1]
    after = min(cpu, key=lambda s: abs(s[0] - t1))[1]
    if n1 <= n0:
        return {}
    return {k: round((after[k] - before.get(k, 0.0)) / (n1 - n0) * 1000, 2) for k in after}


def describe(label: str, result: dict[str, Any]) -> None:
    """Print one run's figures."""
    summary, lines = result["summary"], result["summary"]["lines"]
    terminal = sum(v["journal_terminal"] for v in lines.values())
    print(f"\n== {label}: {len(lines)} line(s), {terminal} parcels, {result['wall_s']:.0f} s")
    print(f"site total {summary['site_total']} = sum of lines {summary['sum_of_lines']}")
    p99s = {name: v["answer_p99_ms"] for name, v in lines.items()}
    print("answer p99 ms by line: " + ", ".join(f"{k} {v}" for k, v in p99s.items()))
    relay, mqtt = result.get("relay_lag_ms", []), result["mqtt_lag_ms"]
    print(
        f"relay lag ms p50 {pct(relay, 0.5):.1f} p99 {pct(relay, 0.99):.1f} ({len(relay)} rows)"
        if relay
        else "relay lag: no rows read"
    )
    print(
        f"MQTT event lag ms p50 {pct(mqtt, 0.5):.1f} p99 {pct(mqtt, 0.99):.1f} ({len(mqtt)})"
        if mqtt
        else "MQTT: no events received"
    )
    rows = result.get("rows", {})
    span = result.get("events_span")
    if span and span[0] is not None and span[1] > span[0]:
        total = sum(rows.values())
        print(f"PostgreSQL rows relayed {total} ({rows}); {total / (span[1] - span[0]):.0f} rows/s")
    per = steady_cpu(result["cpu_s"], result.get("terminal", []))
    if per:
        print(f"CPU ms per parcel by process kind (steady part of the run): {per}")


def main() -> None:
    """Run alone, then N lines, for each round; print the figures and the comparison."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--lines", type=int, default=4)
    parser.add_argument("--parcels", type=int, default=900, help="per line and run")
    parser.add_argument("--rate", type=float, default=36_000, help="parcels/h per line")
    parser.add_argument("--rounds", type=int, default=2, help="pairs of runs (alone, N lines)")
    parser.add_argument(
        "--realtime-priority", type=int, help="each line's (default: the site demo's, 10)"
    )
    args = parser.parse_args()
    priority = args.realtime_priority
    print(f"real-time priority of each line: {'10 (default)' if priority is None else priority}")
    alone: list[float] = []
    many: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory(prefix="lanesort-site-bench-") as tmp:
        for k in range(1, args.rounds + 1):
            one = asyncio.run(run(1, args.parcels, args.rate, Path(tmp) / f"alone-{k}", priority))
            describe(f"round {k}: one line alone", one)
            alone += one["answers_ms"].get("line-1", [])
            n = asyncio.run(
                run(args.lines, args.parcels, args.rate, Path(tmp) / f"many-{k}", priority)
            )
            describe(f"round {k}: {args.lines} lines", n)
            for name, values in n["answers_ms"].items():
                many.setdefault(name, []).extend(values)
    alone_p99 = pct(alone, 0.99)
    print(
        f"\n== answer p99 over {args.rounds} round(s) against the line alone "
        "(goal: at most 10 % worse)"
    )
    if not alone_p99:
        raise SystemExit("the line alone answered nothing")
    print(f"line alone: p50 {pct(alone, 0.5):.3f} p99 {alone_p99:.3f} ms ({len(alone)} answers)")
    p99s = []
    for name, values in many.items():
        p99 = pct(values, 0.99)
        if p99 is None:
            continue
        p99s.append(p99)
        print(
            f"{name}: p50 {pct(values, 0.5):.3f} p99 {p99:.3f} ms ({len(values)} answers): "
            f"x{p99 / alone_p99:.2f}"
        )
    if p99s:
        print(
            f"median of lines: {statistics.median(p99s):.3f} ms, worst x{max(p99s) / alone_p99:.2f}"
        )
    subprocess.run(["uptime"], check=False)


if __name__ == "__main__":
    main()
