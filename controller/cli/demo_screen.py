"""What ``lanesort demo`` shows while it runs: a live screen, or a status line every 2 s.

The screen (rich) holds the line state, the parcel counters and answer latency, the
reject reasons, the device links, the active alarms and a progress bar of the parcels
done; ``--plain`` prints :func:`status_line` instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import time

from rich.console import Console, Group
from rich.live import Live
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from controller.line import LineController, LineSnapshot, terminal_count


def render(snapshot: LineSnapshot, progress: Progress | None) -> Group:
    """The live screen: line state, counters, reject reasons, links, alarms."""
    state = snapshot.packml_state.name.title() if snapshot.packml_state else "unknown"
    head = Table.grid(padding=(0, 2))
    head.add_row(
        f"[b]{snapshot.line}[/b]",
        f"PackML [b]{state}[/b]",
        "belt running" if snapshot.conveyor_running else "belt stopped",
        "heartbeat ok" if snapshot.heartbeat_ok else "[red]heartbeat LOST[/red]",
        f"manifest {snapshot.manifest_size}",
    )
    counts = Table(title="parcels", show_edge=False)
    for name in ("inducted", "sorted", "rejected", "lost"):
        counts.add_column(name, justify="right")
    counts.add_column("on belt", justify="right")
    counts.add_column("answer p50/p99 ms", justify="right")
    c = snapshot.counts
    p50, p99 = snapshot.answer_p50_ms, snapshot.answer_p99_ms
    counts.add_row(
        str(c.get("inducted", 0)),
        str(c.get("sorted", 0)),
        str(c.get("rejected", 0)),
        str(c.get("lost", 0)),
        str(snapshot.on_belt),
        f"{p50:.2f} / {p99:.2f}" if p50 is not None and p99 is not None else "-",
    )
    reasons = Table(title="reject reasons", show_edge=False)
    reasons.add_column("reason")
    reasons.add_column("parcels", justify="right")
    for reason, n in sorted(snapshot.reasons.items()):
        reasons.add_row(reason.replace("_", " "), str(n))
    links = Table(title="devices", show_edge=False)
    links.add_column("device")
    links.add_column("address")
    links.add_column("link")
    for link in snapshot.links:
        links.add_row(
            link.device,
            link.address,
            "[green]up[/green]" if link.up else f"[red]down[/red] {link.last_error}",
        )
    parts: list[object] = [head, counts, reasons, links]
    if snapshot.alarms:
        alarms = Table(title="active alarms", show_edge=False)
        alarms.add_column("severity")
        alarms.add_column("alarm")
        alarms.add_column("count", justify="right")
        for alarm in snapshot.alarms[-8:]:
            alarms.add_row(alarm.severity.value, alarm.text[:100], str(alarm.count))
        parts.append(alarms)
    if progress is not None:
        parts.append(progress)
    return Group(*parts)


async def watch(
    line: LineController,
    task: asyncio.Task[None],
    parcels: int | None,
    rate_pph: float | None,
    live_screen: bool,
    started: float,
) -> None:
    """The live screen (or a status line every 2 s) until ``parcels`` are done, the time
    budget is spent or the line stops (``task`` ends)."""
    console = Console(stderr=False)
    progress = None
    bar = None
    if parcels:
        progress = Progress(
            TextColumn("parcels done"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn()
        )
        bar = progress.add_task("done", total=parcels)
    rate = rate_pph or line.config.simulation.rate_pph
    budget = (parcels / rate * 3600 * 2 + 60) if parcels else None
    with (
        Live(render(line.snapshot(), progress), console=console, auto_refresh=False)
        if live_screen
        else contextlib.nullcontext() as live
    ):
        last_print = 0.0
        while not task.done():
            await asyncio.sleep(0.25)
            snap = line.snapshot()
            if progress is not None and bar is not None:
                progress.update(bar, completed=min(terminal_count(snap), parcels or 0))
            if live is not None:
                live.update(render(snap, progress), refresh=True)
            elif time.monotonic() - last_print > 2:
                last_print = time.monotonic()
                print(status_line(snap), flush=True)
            if parcels and terminal_count(snap) >= parcels and snap.on_belt == 0:
                return
            if budget and time.monotonic() - started > budget:
                console.print(f"[red]stopping: not done after {budget:.0f} s[/red]")
                return


def status_line(snap: LineSnapshot) -> str:
    """One line of counters, for ``--plain`` and the end of a run."""
    c = snap.counts
    state = snap.packml_state.name if snap.packml_state else "?"
    p99 = f"{snap.answer_p99_ms:.2f}" if snap.answer_p99_ms is not None else "-"
    return (
        f"{state}: inducted {c.get('inducted', 0)} sorted {c.get('sorted', 0)} "
        f"rejected {c.get('rejected', 0)} lost {c.get('lost', 0)} on belt {snap.on_belt} "
        f"answer p99 {p99} ms alarms {len(snap.alarms)}"
    )
