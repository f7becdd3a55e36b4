"""What one line costs: the controller's CPU per parcel at a rate, its idle CPU, the answer p99.

Runs ``lanesort demo`` (``python -m controller.cli demo --plain``) as a child process and
reads the CPU time (user + system, from ``/proc/PID/stat``) of the demo process, which is
the line controller (the simulator and the TMS simulator are its children, with their own
CPU, reported apart). CPU time, not wall time, is the figure: the machine may be shared.

* **busy**: ``--parcels N --rate R``. The CPU is taken between two status lines (printed
  every 2 s) in the steady part of the run (from 10 % of the parcels in to the last status
  line), divided by the parcels that reached a terminal state in between; start-up
  (imports, config, the API and OPC UA server) is left out. The answer p99 comes from the
  demo's report: the controller's (request seen -> answer written) and the PLC's (request
  posted -> answer taken, which includes the poll's wait).
* **idle**: ``--parcels 1 --rate 1`` (one parcel an hour; the seed puts the first one far
  out): once the line is in EXECUTE, the CPU over ``--idle-s`` seconds, as % of one core.
  The run is checked to have had no parcel in that time.

``LINE_COST_CONFIG`` names another line config to run (default ``plc_configs/demo-line.yaml``).

Run from the repository root::

    python benchmarks/line_cost.py [--parcels 2000] [--rate 150000] [--runs 2] [--idle-s 10]
                                   [--cpu-wakeup-latency-us US]

``--cpu-wakeup-latency-us`` runs the line with ``line.cpu_wakeup_latency_us`` (see
:mod:`controller.line.cpu_latency`). The machine may be a VM on a shared host whose speed
drifts (here, 5.2 ms per parcel one half hour and 3.9-4.2 ms the next, same code): compare
figures taken side by side, not across hours.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path

from controller.cli.ports import on_free_ports, with_line_key

ROOT = Path(os.environ.get("LINE_COST_ROOT") or Path(__file__).resolve().parent.parent)
"""The checkout whose line is measured (LINE_COST_ROOT: e.g. an older commit's export)."""
CONFIG = Path(os.environ.get("LINE_COST_CONFIG") or ROOT / "plc_configs" / "demo-line.yaml")
TICKS = os.sysconf("SC_CLK_TCK")
STATUS = re.compile(
    r"^(?P<state>\w+): inducted (?P<inducted>\d+) sorted (?P<sorted>\d+) "
    r"rejected (?P<rejected>\d+) lost (?P<lost>\d+)"
)
IDLE_SEED = 3
"""With this seed the first parcel at one an hour comes long after the idle window."""


def stat_cpu_s(stat: Path) -> float:
    """User + system CPU seconds from a ``/proc/.../stat`` file (a process or a thread)."""
    fields = stat.read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def cpu_s(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` (not its children)."""
    return stat_cpu_s(Path(f"/proc/{pid}/stat"))


def threads_cpu_s(pid: int) -> dict[str, float]:
    """CPU seconds of ``pid``'s threads by OS name (the loop's thread is ``main``)."""
    out: dict[str, float] = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            name = "main" if task.name == str(pid) else (task / "comm").read_text().strip()
            seconds = stat_cpu_s(task / "stat")
        except OSError:
            continue
        out[name] = out.get(name, 0.0) + seconds
    return out


def main_thread_waits(pid: int) -> int:
    """How often ``pid``'s main thread (the loop's) went to sleep and had to be woken:
    its voluntary context switches. A figure the machine's speed does not move."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("voluntary_ctxt_switches:"):
            return int(line.split()[1])
    raise OSError(f"/proc/{pid}/status: no voluntary_ctxt_switches")


def children(pid: int) -> list[int]:
    """The direct children of ``pid``."""
    out: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            out += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            continue
    return out


def children_cpu_s(pid: int) -> dict[int, float]:
    """CPU seconds of each live child of ``pid``."""
    out: dict[int, float] = {}
    for child in children(pid):
        try:
            out[child] = cpu_s(child)
        except OSError:
            continue
    return out


def children_delta(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU seconds the children alive at both samples used in between."""
    return sum(after[pid] - before[pid] for pid in after.keys() & before.keys())


@dataclass
class Sample:
    """One status line with the CPU read when it came."""

    wall: float
    cpu: float
    child_cpu: dict[int, float]
    thread_cpu: dict[str, float]
    main_waits: int
    state: str
    inducted: int
    terminal: int


def config_on_free_ports(work: Path, wakeup_us: int | None) -> Path:
    """The demo line's config with its simulators on free ports (the machine is shared:
    another demo may hold the fixed ones), and ``line.cpu_wakeup_latency_us`` if given."""
    text = on_free_ports(CONFIG.read_text())
    if wakeup_us is not None:
        keyed = with_line_key(text, "cpu_wakeup_latency_us", wakeup_us)
        if keyed == text:
            raise SystemExit(f"{CONFIG}: no 'line:' section to add cpu_wakeup_latency_us to")
        text = keyed
    path = work / "demo-line.yaml"
    path.write_text(text)
    return path


def demo_command(
    data_dir: Path, parcels: int, rate: float, seed: int, report: Path, wakeup_us: int | None
) -> list[str]:
    """The demo command line."""
    config = config_on_free_ports(data_dir.parent, wakeup_us)
    return [
        sys.executable, "-m", "controller.cli", "demo", "--config", str(config),
        "--parcels", str(parcels), "--rate", str(rate), "--seed", str(seed),
        "--report", str(report), "--data-dir", str(data_dir), "--plain",
    ]  # fmt: skip


def run_demo(
    cmd: list[str], on_sample, timeout_s: float
) -> tuple[subprocess.Popen, list[Sample], deque[str]]:
    """Start the demo, sample at each status line; ``on_sample`` returns True to stop it.
    Also returns the last lines the demo printed (for its error, should it fail)."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen(
        cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    samples: list[Sample] = []
    tail: deque[str] = deque(maxlen=40)
    deadline = time.monotonic() + timeout_s
    assert proc.stdout is not None
    for line in proc.stdout:
        tail.append(line)
        m = STATUS.match(line)
        if m is not None and proc.poll() is None:
            try:
                sample = Sample(
                    time.monotonic(),
                    cpu_s(proc.pid),
                    children_cpu_s(proc.pid),
                    threads_cpu_s(proc.pid),
                    main_thread_waits(proc.pid),
                    m["state"],
                    int(m["inducted"]),
                    int(m["sorted"]) + int(m["rejected"]) + int(m["lost"]),
                )
            except OSError:
                continue
            samples.append(sample)
            if on_sample(samples):
                proc.send_signal(signal.SIGINT)
        if time.monotonic() > deadline:
            proc.send_signal(signal.SIGINT)
            deadline = float("inf")
    proc.wait()
    return proc, samples, tail


def busy(
    parcels: int, rate: float, seed: int, work: Path, wakeup_us: int | None
) -> dict[str, float]:
    """CPU ms per parcel and the answer p99s of one run at ``rate``."""
    data_dir, report = work / f"busy-{seed}", work / f"busy-{seed}.json"
    proc, samples, tail = run_demo(
        demo_command(data_dir, parcels, rate, seed, report, wakeup_us), lambda s: False, 600
    )
    if proc.returncode != 0:
        raise SystemExit(f"demo exited with {proc.returncode}; its last lines:\n{''.join(tail)}")
    steady = [s for s in samples if parcels * 0.1 <= s.terminal < parcels]
    if len(steady) < 2:
        raise SystemExit(f"too few status lines in the steady part ({len(steady)})")
    first, last = steady[0], steady[-1]
    done = last.terminal - first.terminal
    result = json.loads(report.read_text())
    plc, ctl = result["answer_latency_ms_plc"], result["answer_latency_ms_controller"]
    return {
        "cpu_ms_per_parcel": (last.cpu - first.cpu) * 1000 / done,
        "sim_cpu_ms_per_parcel": children_delta(first.child_cpu, last.child_cpu) * 1000 / done,
        "core_pct": (last.cpu - first.cpu) / (last.wall - first.wall) * 100,
        "parcels_measured": done,
        "answer_p99_ms_controller": ctl["p99"],
        "answer_p99_ms_plc": plc["p99"],
        "answer_max_ms_plc": plc["max"],
        "rejected": result["rejected"],
        "lost": result["lost"],
        "throughput_pph": result["throughput_pph"],
        "plc_reads_per_parcel": (result.get("plc_reads") or 0) / max(1, result["inducted"]),
        "main_waits_per_parcel": (last.main_waits - first.main_waits) / done,
        "threads_ms_per_parcel": {
            name: (last.thread_cpu[name] - first.thread_cpu.get(name, 0.0)) * 1000 / done
            for name in sorted(last.thread_cpu, key=lambda n: -last.thread_cpu[n])
        },
    }


def idle(idle_s: float, work: Path, wakeup_us: int | None) -> dict[str, float]:
    """% of one core the controller uses with the line running and no parcel."""
    data_dir, report = work / "idle", work / "idle.json"
    marks: dict[str, Sample] = {}

    def on_sample(samples: list[Sample]) -> bool:
        s = samples[-1]
        if s.state != "EXECUTE":
            return False
        first = marks.setdefault("first", s)
        if "settled" not in marks and s.wall - first.wall >= 3:
            marks["settled"] = s
        settled = marks.get("settled")
        if settled is not None and s.wall - settled.wall >= idle_s:
            marks["end"] = s
            return True
        return False

    command = demo_command(data_dir, 1, 1, IDLE_SEED, report, wakeup_us)
    _, _, tail = run_demo(command, on_sample, idle_s + 120)
    start, end = marks.get("settled"), marks.get("end")
    if start is None or end is None:
        raise SystemExit(
            f"the idle run did not reach EXECUTE long enough; its last lines:\n{''.join(tail)}"
        )
    if end.inducted:
        raise SystemExit("a parcel came during the idle window: choose another IDLE_SEED")
    wall = end.wall - start.wall
    return {
        "idle_core_pct": (end.cpu - start.cpu) / wall * 100,
        "idle_sim_core_pct": children_delta(start.child_cpu, end.child_cpu) / wall * 100,
        "idle_main_waits_per_s": (end.main_waits - start.main_waits) / wall,
        "window_s": wall,
    }


def main() -> None:
    """Run the figures and print them."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--parcels", type=int, default=2000)
    ap.add_argument("--rate", type=float, default=150_000)
    ap.add_argument("--runs", type=int, default=2, help="busy runs (seeds 1..runs)")
    ap.add_argument("--idle-s", type=float, default=10.0)
    ap.add_argument("--no-idle", action="store_true")
    ap.add_argument(
        "--cpu-wakeup-latency-us",
        type=int,
        help="run the line with line.cpu_wakeup_latency_us (default: the config's, none)",
    )
    args = ap.parse_args()
    wakeup = args.cpu_wakeup_latency_us
    print(f"line.cpu_wakeup_latency_us: {'not set' if wakeup is None else wakeup}")
    with tempfile.TemporaryDirectory(prefix="line-cost-") as tmp:
        work = Path(tmp)
        for seed in range(1, args.runs + 1):
            r = busy(args.parcels, args.rate, seed, work, args.cpu_wakeup_latency_us)
            print(
                f"busy seed {seed}: {args.rate:.0f}/h, {r['parcels_measured']} parcels measured: "
                f"controller {r['cpu_ms_per_parcel']:.2f} ms CPU/parcel "
                f"({r['core_pct']:.0f} % of a core), simulators "
                f"{r['sim_cpu_ms_per_parcel']:.2f} ms/parcel; answer p99 "
                f"{r['answer_p99_ms_controller']:.2f} ms (controller), "
                f"{r['answer_p99_ms_plc']:.2f} ms (PLC, max {r['answer_max_ms_plc']:.2f}); "
                f"rejected {r['rejected']} lost {r['lost']} "
                f"throughput {r['throughput_pph']:.0f}/h; "
                f"{r['plc_reads_per_parcel']:.1f} PLC reads per parcel (whole run), "
                f"{r['main_waits_per_parcel']:.1f} wake-ups of the loop's thread per parcel",
                flush=True,
            )
            shares = ", ".join(
                f"{name} {ms:.2f}" for name, ms in r["threads_ms_per_parcel"].items() if ms >= 0.01
            )
            print(f"  controller threads, ms CPU per parcel: {shares}", flush=True)
        if not args.no_idle:
            r = idle(args.idle_s, work, args.cpu_wakeup_latency_us)
            print(
                f"idle: controller {r['idle_core_pct']:.1f} % of one core over "
                f"{r['window_s']:.1f} s (simulators {r['idle_sim_core_pct']:.1f} %); "
                f"the loop's thread woke {r['idle_main_waits_per_s']:.0f} times a second",
                flush=True,
            )


if __name__ == "__main__":
    main()
