"""System test: controller and simulator as processes, a shift of 500 parcels through the demo line.

Faults on: no-reads, multi-label parcels, late reader answers, parcels missing from the
manifest and a small chute that goes full. Asserts that every inducted parcel has exactly
one terminal state in the journal and that no parcel reached a wrong chute.
"""

from __future__ import annotations

import json
import re
import sqlite3
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from tests.conftest import free_port

ROOT = Path(__file__).parents[2]
PARCELS = 500

pytestmark = pytest.mark.system


def _config(tmp_path: Path) -> Path:
    text = (ROOT / "plc_configs" / "demo-line.yaml").read_text()
    text = text.replace("127.0.0.1:15020", f"127.0.0.1:{free_port()}")
    text = text.replace("127.0.0.1:15023", f"127.0.0.1:{free_port()}")
    text = text.replace("127.0.0.1:15031", f"127.0.0.1:{free_port()}")
    text = text.replace("127.0.0.1:15032", f"127.0.0.1:{free_port()}")
    text = text.replace("    no_read_rate: 0.02", "    no_read_rate: 0.05")
    text = text.replace("    multi_label_rate: 0.005", "    multi_label_rate: 0.02")
    text = text.replace("    late_answer_rate: 0.0", "    late_answer_rate: 0.01")
    text = text.replace("  manifest_missing_share: 0.02", "  manifest_missing_share: 0.03")
    text = text.replace(
        "  chute_empty_after_s: 10",
        "  chute_empty_after_s: 3\n  chute_capacity_override: {10: 6}",
    )
    path = tmp_path / "line.yaml"
    path.write_text(text)
    return path


@pytest.fixture(scope="module")
def shift(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("shift")
    data = tmp_path / "data"
    report = tmp_path / "report.json"
    cmd = [
        sys.executable,
        "-m",
        "controller.cli",
        "demo",
        "--config",
        str(_config(tmp_path)),
        "--parcels",
        str(PARCELS),
        "--rate",
        "90000",
        "--seed",
        "3",
        "--report",
        str(report),
        "--data-dir",
        str(data),
        "--plain",
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return {
        "report": json.loads(report.read_text()),
        "truth": json.loads((data / "truth.json").read_text()),
        "journal": data / "journal.sqlite",
        "stdout": done.stdout,
    }


def test_every_inducted_parcel_has_exactly_one_terminal_state(shift):
    conn = sqlite3.connect(shift["journal"])
    try:
        per_parcel = conn.execute(
            "SELECT e.tracking_id, (SELECT count(*) FROM events t WHERE t.session = e.session "
            "AND t.uid = e.uid AND t.kind = 'terminal') FROM events e WHERE e.kind = 'inducted'"
        ).fetchall()
    finally:
        conn.close()
    assert len(per_parcel) == PARCELS
    assert {tid for tid, _ in per_parcel} == set(range(1, PARCELS + 1))
    assert [n for _, n in per_parcel] == [1] * PARCELS


def test_no_parcel_reached_a_wrong_chute(shift):
    plan = {f"R{r:02d}": [r] + ([20 + r] if r <= 4 else []) for r in range(1, 21)}
    diverted = [p for p in shift["truth"]["parcels"] if p["result"] == "DIVERTED"]
    assert len(diverted) > PARCELS * 0.6
    for parcel in diverted:
        assert parcel["in_manifest"], parcel
        assert parcel["landed_chute"] in plan[parcel["route"]], parcel
    assert shift["report"]["sorted_wrong_chute"] == 0


def test_report_counts_the_faults_and_loses_nothing(shift):
    report = shift["report"]
    assert report["inducted"] == PARCELS
    assert report["lost"] == 0 and report["without_terminal_state"] == 0
    assert report["more_than_one_terminal_state"] == 0
    assert report["sorted_right_chute"] + report["rejected"] == PARCELS
    reasons = report["rejected_by_reason"]
    for reason in ("no_read", "multiple_labels", "no_route", "chute_full"):
        assert reasons.get(reason, 0) > 0, reasons
    assert report["answer_latency_ms_plc"]["count"] >= PARCELS - reasons.get("answer_too_late", 0)


def test_journal_agrees_with_the_twin_on_every_parcel_in_a_sort_chute(shift):
    conn = sqlite3.connect(shift["journal"])
    try:
        sorted_ = dict(
            conn.execute(
                "SELECT tracking_id, chute FROM events WHERE kind='terminal' AND state='sorted'"
            ).fetchall()
        )
    finally:
        conn.close()
    twin = {
        p["tracking_id"]: p["landed_chute"]
        for p in shift["truth"]["parcels"]
        if p["result"] == "DIVERTED"
    }
    assert sorted_ == twin


def test_every_parcel_is_weighed_and_measured_as_the_twin_says(shift):
    """Every weight and size bound to a parcel is the twin's, within the devices'
    resolution; one not bound says why, and the reason holds.

    How many are late depends on the machine, not on the code: at 90,000 parcels/h a
    result can be bound only within 22 ms of the parcel entering the tunnel (as far as the
    controller can prove it: from the read of the PLC before the one that saw it), and on
    a shared 2-core VM all three processes stall 10-20 ms together at times (CPU steal and
    contention). That figure is a benchmark's (benchmarks/tunnel_latency.py); here a
    result must be bound in time or said to be late, and most must be.
    """
    window_ms = _window_ms(shift)
    conn = sqlite3.connect(shift["journal"])
    try:
        rows = {
            tid: (weight, length, width, height, volumetric)
            for tid, weight, length, width, height, volumetric in conn.execute(
                "SELECT tracking_id, weight_kg, length_mm, width_mm, height_mm, volumetric_kg "
                "FROM parcels"
            )
        }
        raw = conn.execute("SELECT detail FROM events WHERE kind='measured' LIMIT 1").fetchone()[0]
        why_missing = {
            tid: json.loads(detail)
            for tid, detail in conn.execute(
                "SELECT tracking_id, detail FROM events WHERE kind='measured' AND "
                "(detail NOT LIKE '%\"weight\":%' OR detail NOT LIKE '%\"dimensions\":%')"
            )
        }
    finally:
        conn.close()
    assert len(rows) == PARCELS
    assert len(why_missing) <= PARCELS // 4, why_missing  # most are measured
    for tid, detail in why_missing.items():
        for key in ("weight_error", "dimensions_error"):
            if key not in detail:
                continue
            why = detail[key]
            late = re.search(r"(?:measured up to|at the latest;|\() ?([0-9.]+) ms after", why)
            if "entries kept while the controller was not reading" in why:
                continue  # a backlog: its age is unknown, so it was never triggered for
            if "not bound" in why or "nothing bound" in why:
                assert late is not None and float(late.group(1)) > window_ms, (tid, why)
            else:  # the device's own failure, named
                assert "within" in why or "no complete frame" in why, (tid, why)
    for parcel in shift["truth"]["parcels"]:
        weight, length, width, height, volumetric = rows[parcel["tracking_id"]]
        if parcel["tracking_id"] in why_missing:
            continue
        assert weight is not None and length is not None, parcel
        # MT-SICS prints 3 decimals in kg; CubiScan prints 0.1 cm.
        assert abs(Decimal(weight) - Decimal(str(parcel["weight_kg"]))) <= Decimal("0.0005")
        for key, value in (("length_mm", length), ("width_mm", width), ("height_mm", height)):
            assert abs(Decimal(value) - parcel[key]) <= Decimal("0.5"), (key, value, parcel)
        expected = Decimal(length) * Decimal(width) * Decimal(height) / 1000 / 5000
        assert Decimal(volumetric) == expected
    detail = json.loads(raw)
    assert detail["weight"]["raw"].startswith("S S") and detail["dimensions"]["raw"]


def _window_ms(shift) -> float:
    """The scan window the controller used (min of field and pitch over the belt speed)."""
    speed = shift["truth"]["belt_speed_mps"]
    return 500 / speed  # demo-line.yaml: scan_field_mm 600, min_parcel_pitch_mm 500


def _variant(tmp_path: Path, name: str, port: str) -> Path:
    """The demo line on free ports and a variant of it (``name`` extends demo-line.yaml)."""
    base = (ROOT / "plc_configs" / "demo-line.yaml").read_text()
    for used in ("15020", "15023", "15031", "15032"):
        base = base.replace(f"127.0.0.1:{used}", f"127.0.0.1:{free_port()}")
    (tmp_path / "demo-line.yaml").write_text(base.replace("port: 4841", f"port: {free_port()}"))
    variant = tmp_path / name
    text = (ROOT / "plc_configs" / name).read_text()
    variant.write_text(text.replace(f"127.0.0.1:{port}", f"127.0.0.1:{free_port()}"))
    return variant


def _demo(config: Path, tmp_path: Path, parcels: int, rate: int, seed: int) -> dict:
    """Run ``lanesort demo`` on ``config``; its report (the data folder is tmp_path/data)."""
    report = tmp_path / "report.json"
    cmd = [sys.executable, "-m", "controller.cli", "demo", "--config", str(config),
           "--parcels", str(parcels), "--rate", str(rate), "--seed", str(seed),
           "--report", str(report), "--data-dir", str(tmp_path / "data"), "--plain"]  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return json.loads(report.read_text())


def test_the_demo_line_runs_with_a_camera_instead_of_a_reader(tmp_path):
    r = _demo(_variant(tmp_path, "demo-line-camera.yaml", "15040"), tmp_path, 50, 14400, 4)
    assert r["inducted"] == 50 and r["without_terminal_state"] == 0 and r["lost"] == 0
    assert r["sorted_wrong_chute"] == 0
    assert r["sorted_right_chute"] >= 40, r


def test_the_demo_line_runs_over_opcua_with_encryption(tmp_path):
    """The whole demo line with its sorter PLC on OPC UA (SignAndEncrypt): 300 parcels,
    each with exactly one terminal state, none in a wrong chute."""
    config = _variant(tmp_path, "demo-line-opcua.yaml", "15050")
    parcels = 300
    r = _demo(config, tmp_path, parcels, 90000, 5)
    assert r["inducted"] == parcels and r["without_terminal_state"] == 0 and r["lost"] == 0
    assert r["more_than_one_terminal_state"] == 0 and r["sorted_wrong_chute"] == 0
    assert r["sorted_right_chute"] + r["rejected"] == parcels
    assert r["sorted_right_chute"] > parcels * 0.8, r["rejected_by_reason"]
    data = tmp_path / "data"
    conn = sqlite3.connect(data / "journal.sqlite")
    try:
        terminal = conn.execute(
            "SELECT count(DISTINCT tracking_id), count(*) FROM events WHERE kind = 'terminal'"
        ).fetchone()
    finally:
        conn.close()
    assert terminal == (parcels, parcels)
    assert (data / "opcua-pki-plc" / "own" / "certificate.der").is_file()
    assert (data / "plc-sim-pki" / "own" / "certificate.der").is_file()
