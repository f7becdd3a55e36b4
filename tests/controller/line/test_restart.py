"""A controller stopped mid-shift and started again on the same journal, the line running on.

While the controller is away the PLC's scan ring fills and overflows (it keeps the
rest and reports it). The restarted controller must not trigger the readers for those
entries (whatever is in the field now is another parcel), must close the records the
first run left open under their own ids, and must leave no record open.
"""

from __future__ import annotations

import sqlite3
from collections import Counter

from controller.line.controller import LineController
from tests.controller.line.helpers import (
    finished,
    line_config,
    pointed_at,
    running,
    simulated_line,
    until,
)

PARCELS = 60


def _journal(path) -> dict:
    conn = sqlite3.connect(path)
    try:
        return {
            "states": conn.execute("SELECT session, tracking_id, state FROM parcels").fetchall(),
            "terminal": Counter(
                tid
                for (tid,) in conn.execute("SELECT tracking_id FROM events WHERE kind = 'terminal'")
            ),
            "bound": conn.execute(
                "SELECT tracking_id, barcode FROM events"
                " WHERE kind = 'identified' AND barcode IS NOT NULL"
            ).fetchall(),
            "not_triggered": conn.execute(
                "SELECT count(*) FROM events"
                " WHERE kind = 'inducted' AND detail LIKE '%not triggered%'"
            ).fetchone()[0],
        }
    finally:
        conn.close()


async def test_a_restart_after_a_ring_overflow_binds_no_stale_read_and_closes_every_record(
    tmp_path,
):
    config = line_config(simulation={"parcels": PARCELS, "rate_pph": 30000})
    async with simulated_line(config, tmp_path) as sim:
        live = pointed_at(config, sim)
        first = LineController(live, tmp_path)
        async with running(first):
            await until(lambda: finished(first) >= 15 and len(first.tracker) > 0)
        left_open = len(first.tracker)
        assert sim.plc.logic is not None
        await until(lambda: sim.plc.logic.scan_ring.backlog > 0, within=10)  # overflowing
        second = LineController(live, tmp_path)
        async with running(second):
            await until(lambda: sim.plc.logic.drained, within=60)
            await until(lambda: len(second.tracker) == 0, within=10)
            await second.journal.barrier()
    journal = _journal(tmp_path / "journal.sqlite")
    assert left_open > 0
    assert {s for s, _, _ in journal["states"]} == {1, 2}
    assert [row for row in journal["states"] if row[2] not in ("sorted", "rejected", "lost")] == []
    assert sorted(journal["terminal"]) == list(range(1, PARCELS + 1))
    assert set(journal["terminal"].values()) == {1}
    labels = {tid: set(p.spec.labels) for tid, p in sim.twin.parcels.items()}
    assert [(tid, code) for tid, code in journal["bound"] if code not in labels[tid]] == []
    assert journal["not_triggered"] >= 15  # the ring's backlog, at least a full ring
    assert sim.plc.logic.scan_ring.overflowed > 0
    landed = [
        (p.landed_chute, p.spec.route)
        for p in sim.twin.parcels.values()
        if p.result and p.result.name == "DIVERTED"
    ]
    assert landed and all(chute in config.sort_plan[route] for chute, route in landed)
