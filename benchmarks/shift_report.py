"""Shift report and throughput series times on a generated journal of 1,000,000 parcels.

Generates a journal (the controller's real schema) of ``--parcels`` parcels at
``--rate`` parcels/hour, with four events per parcel, a mix of sorted, no-read,
no-route, unknown, lost and late parcels, a stop every two hours and a controller
restart every day. Then prints the query plan of every report query and the time of
an 8-hour shift report, a 31-day report (every parcel), and throughput series.

    python benchmarks/shift_report.py                     # 1,000,000 parcels
    python benchmarks/shift_report.py --parcels 200000 --keep /tmp/j.sqlite
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

from controller.journal.writer import Journal
from controller.packml import history as line_states
from controller.reports import shift as shift_report

T0 = 1_700_000_000.0
NOT_SCANNED = '{"not_scanned":"destination request"}'


async def _schema(path: Path) -> None:
    journal = Journal(path, "bench-line")
    journal.add_schema(line_states.SCHEMA)
    journal.add_schema(shift_report.SCHEMA)
    await journal.open()
    await journal.close()


def _parcel_rows(n: int, rate: float, rng: random.Random):
    gap = 3600 / rate
    for uid in range(1, n + 1):
        t = T0 + uid * gap
        session = 1 + int((t - T0) // 86400)
        roll = rng.random()
        barcode: str | None = f"P{uid:010d}"
        state, reason, kinds = "sorted", None, ("inducted", "identified", "assigned", "terminal")
        if roll < 0.03:
            barcode, state, reason = None, "rejected", "no_read"
        elif roll < 0.04:
            barcode, state, reason = None, "rejected", "unknown_parcel"
            kinds = ("inducted", "assigned", "terminal")
        elif roll < 0.05:
            state, reason = "rejected", "no_route"
        elif roll < 0.055:
            state, kinds = "lost", ("inducted", "identified", "terminal")
        elif roll < 0.06:
            state, reason = "rejected", "answer_too_late"
        measured = rng.random() < 0.98
        parcel = (
            session, uid, uid % 65536, barcode, state, reason, t, t + 6.0,
            rng.uniform(5, 40), "1.25" if measured else None,
            *(("400", "300", "200") if measured else (None, None, None)),
        )  # fmt: skip
        unknown = reason == "unknown_parcel"
        events = [
            (
                session,
                t + i,
                uid,
                uid % 65536,
                kind,
                state,
                reason,
                NOT_SCANNED if unknown and kind == "inducted" else None,
            )
            for i, kind in enumerate(kinds)
        ]
        yield parcel, events


def generate(path: Path, n: int, rate: float) -> float:
    """Write the journal; returns the wall time it covers (s)."""
    asyncio.run(_schema(path))
    rng = random.Random(1)
    span = n * 3600 / rate
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA synchronous=OFF")
    conn.execute("DELETE FROM sessions")
    conn.execute("BEGIN")
    days = int(span // 86400) + 1
    for day in range(days):
        start = T0 + day * 86400
        conn.execute(
            "INSERT INTO sessions(id, started, line) VALUES(?, ?, 'bench-line')", (day + 1, start)
        )
        states = [
            (start, "Controller started", "controller started"),
            (start + 5, "Execute", "PLC"),
        ]
        for stop in range(7200, 86400 - 600, 7200):
            states += [
                (start + stop, "Stopping", "stop by alice"),
                (start + stop + 2, "Stopped", "stop by alice"),
                (start + stop + 300, "Execute", "start by alice"),
            ]
        conn.executemany(
            "INSERT INTO line_states(session, time, state, cause) VALUES(?, ?, ?, ?)",
            [(day + 1, *row) for row in states],
        )
        conn.execute("INSERT INTO line_alive VALUES(?, ?)", (day + 1, start + 86400 - 600))
    parcels, events = [], []
    for parcel, parcel_events in _parcel_rows(n, rate, rng):
        parcels.append(parcel)
        events.extend(parcel_events)
        if len(parcels) >= 50_000:
            _flush(conn, parcels, events)
    _flush(conn, parcels, events)
    conn.execute("COMMIT")
    conn.close()
    return span


def _flush(conn: sqlite3.Connection, parcels: list, events: list) -> None:
    conn.executemany(
        "INSERT INTO parcels(session, uid, tracking_id, barcode, state, reason, inducted, updated,"
        " answer_ms, weight_kg, length_mm, width_mm, height_mm)"
        " VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        parcels,
    )
    conn.executemany(
        "INSERT INTO events(session, time, uid, tracking_id, kind, state, reason, detail)"
        " VALUES(?, ?, ?, ?, ?, ?, ?, ?)",
        events,
    )
    parcels.clear()
    events.clear()


def _plans(path: Path, since: float, until: float) -> None:
    conn = sqlite3.connect(path)
    args = {"since": since, "until": until, "b": 60}
    for name in ("_PARCEL_SUMS", "_REJECTS", "_NEVER_SCANNED", "_ANSWERS", "_PEAK", "_SERIES"):
        sql = getattr(shift_report, name)
        plan = " | ".join(row[3] for row in conn.execute(f"EXPLAIN QUERY PLAN {sql}", args))
        print(f"  {name:15} {plan}")
    conn.close()


def _time(label: str, make, repeat: int = 3) -> None:
    times = []
    result = None
    for _ in range(repeat):
        start = time.perf_counter()
        result = asyncio.run(make())
        times.append(time.perf_counter() - start)
    median = statistics.median(times)
    print(f"  {label:42} first {times[0] * 1000:7.1f} ms, median {median * 1000:7.1f} ms")
    return result


def main() -> int:
    """Generate the journal and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parcels", type=int, default=1_000_000)
    parser.add_argument("--rate", type=float, default=6000, help="parcels per hour")
    parser.add_argument("--keep", type=Path, help="write the journal here and keep it")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = args.keep or Path(tmp) / "journal.sqlite"
        if not path.exists():
            start = time.perf_counter()
            span = generate(path, args.parcels, args.rate)
            print(
                f"generated {args.parcels:,} parcels over {span / 86400:.1f} days in "
                f"{time.perf_counter() - start:.0f} s: {path.stat().st_size / 1e6:.0f} MB"
            )
        else:
            span = args.parcels * 3600 / args.rate
        shift = T0 + span / 2, T0 + span / 2 + 8 * 3600
        now = T0 + span + 60
        print("query plans (8-hour shift):")
        _plans(path, *shift)
        print("times:")
        report = _time("shift report, 8 h", lambda: shift_report.shift_report(path, *shift, now))
        kpis = report.to_dict()
        print(
            f"    {report.inducted:,} parcels, availability {kpis['period']['availability_pct']} %"
        )
        print(f"    downtime {kpis['downtime_by_cause_s']}")
        whole = min(span + 1, shift_report.MAX_SPAN_S)
        report = _time(
            "shift report, whole journal (<= 31 days)",
            lambda: shift_report.shift_report(path, T0, T0 + whole, now),
        )
        kpis = report.to_dict()
        print(f"    {report.inducted:,} parcels, read rate {kpis['read']['read_rate_pct']} %")
        _time(
            "throughput series, 60 min / 60 s",
            lambda: shift_report.throughput_series(path, shift[1] - 3600, shift[1], 60),
        )
        _time(
            "throughput series, 24 h / 5 min",
            lambda: shift_report.throughput_series(path, shift[1] - 86400, shift[1], 300),
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
