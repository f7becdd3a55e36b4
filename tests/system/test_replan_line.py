"""System test: a chute fails mid-shift and the line re-plans itself.

``lanesort demo`` (controller, simulators and a TMS as processes) on
``demo-line-routeplan.yaml`` with ``replanning.policy: auto``: the demo sends the
generated route plan, the line applies a fresh plan from the optimiser, then the PLC
reports two chutes jammed for the rest of the shift and the line repairs its plan. Every
parcel must still end in exactly one terminal state, and none in a chute that the sort
plan it was decided with (the journal says which version) does not give its route.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import on_free_ports

ROOT = Path(__file__).parents[2]
PARCELS = 240
RATE = 36000  # parcels/h: 24 s of induction
JAMMED = (5, 12)
JAM_AT_S = 15  # the fresh plan is applied 2-3 s after the start (7 s on a busy machine)

pytestmark = pytest.mark.system


def _config(tmp_path: Path) -> Path:
    text = on_free_ports((ROOT / "plc_configs" / "demo-line-routeplan.yaml").read_text())
    assert "policy: manual" in text
    text = text.replace("policy: manual", "policy: auto")
    path = tmp_path / "line.yaml"
    path.write_text(text)
    return path


@pytest.fixture(scope="module")
def shift(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("replan")
    scenario = tmp_path / "jams.yaml"
    scenario.write_text(
        "chutes:\n" + "".join(f"  - {{at_s: {JAM_AT_S}, chute: {c}, fault: jam}}\n" for c in JAMMED)
    )
    data = tmp_path / "data"
    report = tmp_path / "report.json"
    cmd = [sys.executable, "-m", "controller.cli", "demo", "--config", str(_config(tmp_path)),
           "--scenario", str(scenario), "--parcels", str(PARCELS), "--rate", str(RATE),
           "--seed", "2", "--report", str(report), "--data-dir", str(data), "--plain"]  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    with sqlite3.connect(data / "sort-plan.sqlite") as conn:
        versions = {
            v: (action, reason, json.loads(plan))
            for v, action, reason, plan in conn.execute(
                "SELECT version, action, reason, plan FROM plan_versions"
            )
        }
    return {
        "report": json.loads(report.read_text()),
        "truth": json.loads((data / "truth.json").read_text()),
        "journal": data / "journal.sqlite",
        "versions": versions,
    }


def _repairs(shift) -> dict[int, str]:
    return {
        v: reason
        for v, (action, reason, _) in shift["versions"].items()
        if action == "replan" and reason.startswith("repair:")
    }


def test_the_line_planned_fresh_then_repaired_the_jammed_chutes(shift):
    reasons = [reason for action, reason, _ in shift["versions"].values() if action == "replan"]
    assert any(r.startswith("fresh: route plan version 1") for r in reasons), reasons
    repairs = _repairs(shift)
    assert repairs, reasons
    assert all(any(f"chute {c} out of service" in r for c in JAMMED) for r in repairs.values()), (
        repairs
    )
    last = shift["versions"][max(shift["versions"])][2]
    for route, chutes in last.items():
        assert chutes and not set(chutes) & set(JAMMED), (route, chutes)
    assert [c["version"] for c in shift["report"]["plan_changes"]] == sorted(shift["versions"])


def test_every_inducted_parcel_has_exactly_one_terminal_state(shift):
    with sqlite3.connect(shift["journal"]) as conn:
        per_parcel = conn.execute(
            "SELECT e.tracking_id, (SELECT count(*) FROM events t WHERE t.session = e.session "
            "AND t.uid = e.uid AND t.kind = 'terminal') FROM events e WHERE e.kind = 'inducted'"
        ).fetchall()
    assert sorted(tid for tid, _ in per_parcel) == list(range(1, PARCELS + 1))
    assert [n for _, n in per_parcel] == [1] * PARCELS
    report = shift["report"]
    assert report["lost"] == 0 and report["without_terminal_state"] == 0
    assert report["more_than_one_terminal_state"] == 0
    assert report["sorted_right_chute"] + report["rejected"] == PARCELS


def test_no_parcel_reached_a_chute_its_plan_version_does_not_give_its_route(shift):
    """Checked from the twin (where each parcel landed) against the journal's plan version."""
    with sqlite3.connect(shift["journal"]) as conn:
        decided = dict(
            conn.execute(
                "SELECT tracking_id, json_extract(detail, '$.plan_version') FROM events "
                "WHERE kind = 'assigned'"
            ).fetchall()
        )
    diverted = [p for p in shift["truth"]["parcels"] if p["result"] == "DIVERTED"]
    assert len(diverted) > PARCELS * 0.6
    used = set()
    for parcel in diverted:
        version = decided[parcel["tracking_id"]]
        used.add(version)
        plan = shift["versions"][version][2]
        assert parcel["landed_chute"] in plan[parcel["route"]], (version, parcel)
    assert used & set(_repairs(shift)), "no parcel was sorted by a repaired plan"
    assert shift["report"]["sorted_wrong_chute"] == 0
