"""What the journal writer costs per parcel, by commit window: a real demo's events replayed.

The journal gathers what the line appends within one commit window and the writer thread
commits it as one transaction (:mod:`controller.journal.writer`). This benchmark takes
the events of a demo run at 150,000 parcels/h (``--journal``: an existing
``journal.sqlite``; without it, ``lanesort demo`` makes one first), groups them into the
batches each window would have made (by the events' own times), and hands them to a fresh
journal one batch at a time, with a pause between (so that the writer wakes once a batch,
as in a line). The figure is the writer thread's CPU time (user + system, from
``/proc``) per parcel, for each window, over ``--rounds`` rounds in turn.

Run from the repository root::

    python benchmarks/journal_writer.py [--journal PATH] [--windows 0.02,0.04] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from line_cost import threads_cpu_s  # benchmarks/ is on the path of a script run from it

from controller.journal.writer import Journal
from controller.parcels.state import ParcelEvent, ParcelState

PAUSE_S = 0.002
"""Between two batches: the writer commits each alone and waits for the next."""


def make_journal(work: Path, parcels: int) -> Path:
    """Run the demo at 150,000 parcels/h into ``work``; its journal."""
    command = [sys.executable, "-m", "controller.cli", "demo", "--plain", "--parcels"]
    command += [str(parcels), "--rate", "150000", "--seed", "1", "--data-dir", str(work)]
    print(f"making a journal: {' '.join(command[1:])}", flush=True)
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    return work / "journal.sqlite"


def load_events(path: Path) -> list[ParcelEvent]:
    """Every parcel event of the journal at ``path``, in the order written."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    rows = conn.execute(
        "SELECT time, uid, tracking_id, kind, state, barcode, route, chute, reason, detail"
        " FROM events ORDER BY id"
    ).fetchall()
    conn.close()
    events = []
    for t, uid, tid, kind, state, barcode, route, chute, reason, detail in rows:
        parsed = json.loads(detail) if detail else {}
        state_ = ParcelState(state)
        events.append(ParcelEvent(t, uid, tid, kind, state_, barcode, route, chute, reason, parsed))
    return events


def batches(events: list[ParcelEvent], window_s: float) -> list[list[ParcelEvent]]:
    """The batches a commit window of ``window_s`` makes: each from its first event's time."""
    out: list[list[ParcelEvent]] = []
    start = None
    for event in events:
        if start is None or event.time - start > window_s:
            out.append([])
            start = event.time
        out[-1].append(event)
    return out


def writer_cpu_s() -> float:
    """CPU seconds of this process's ``journal-writer`` thread so far."""
    return threads_cpu_s(os.getpid())["journal-writer"]


async def replay(groups: list[list[ParcelEvent]], work: Path) -> float:
    """Hand ``groups`` to a fresh journal one by one; the writer's CPU seconds."""
    journal = Journal(work / "replay.sqlite", "bench")
    await journal.open()
    await journal.barrier()  # the writer runs (and has named its thread)
    before = writer_cpu_s()
    for group in groups:
        journal.extend(group)
        journal.barrier()  # ends the window now: the batch is exactly this group
        await asyncio.sleep(PAUSE_S)
    await journal.barrier()
    used = writer_cpu_s() - before
    await journal.close()
    return used


def main() -> None:
    """Replay the journal's events with each window; print the writer's CPU per parcel."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--journal", type=Path, help="a journal.sqlite (default: a demo makes one)")
    ap.add_argument("--parcels", type=int, default=2500, help="for the demo's journal")
    ap.add_argument("--windows", default="0.02,0.04", help="commit windows, seconds")
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    windows = [float(w) for w in args.windows.split(",")]
    with tempfile.TemporaryDirectory(prefix="journal-writer-") as tmp:
        work = Path(tmp)
        path = args.journal or make_journal(work / "demo", args.parcels)
        events = load_events(path)
        parcels = len({(e.session, e.uid) for e in events})
        print(f"{len(events)} events of {parcels} parcels from {path}")
        grouped = {w: batches(events, w) for w in windows}
        used: dict[float, list[float]] = {w: [] for w in windows}
        for round_ in range(args.rounds):
            for w in windows:
                run = work / f"r{round_}-{w}"
                run.mkdir()
                used[w].append(asyncio.run(replay(grouped[w], run)) / parcels * 1000)
        for w in windows:
            runs = ", ".join(f"{ms:.3f}" for ms in used[w])
            print(
                f"window {w * 1000:.0f} ms: {len(grouped[w])} commits, writer "
                f"{statistics.median(used[w]):.3f} ms CPU per parcel (median; runs {runs})"
            )


if __name__ == "__main__":
    main()
