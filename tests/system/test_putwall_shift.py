"""System test: a shift from induct to loaded trucks through the put walls and the AMRs.

``lanesort demo`` (controller, simulators, a TMS, Mosquitto and the vehicle simulator as
processes) on ``demo-line-fleet.yaml``: the simulated operators scan parcels from the
chutes at two walls (Atop lights over TCP, Banner lights over Modbus RTU), press the lit
modules (now and then the wrong one, or the shortage button) and weigh closed containers
(now and then one parcel short); AMRs (VDA 5050 over MQTT) take each container to its
truck's door when its turn has come, or to the AS/RS buffer (OSIP over TCP) until then.
Truck T01 is at its door from the start, T02 docks mid-shift. One module drops off the
bus, one printer runs out of paper, the vehicles now and then refuse an order or fail a
pick or drop, one vehicle drops off the broker, the AS/RS crane faults and replies get
lost. Every manifest parcel of every truck must end loaded or accounted for with its
reason, no parcel put or loaded twice, every closed container labelled and loaded, each
truck loaded last stop first, and every container's location known at every moment.
(The loaders' scans at the doors are tested in ``tests/controller/putwall``.)
"""

from __future__ import annotations

import itertools
import json
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import on_free_ports

ROOT = Path(__file__).parents[2]
PARCELS = 60
RATE = 18000  # parcels/h: 12 s of induction
FAST_FLEET = """simulation:
  fleet:
    speed_m_s: 30.0
    action_s: 0.15
    state_interval_s: 1.0
    visualization_interval_s: 1.0
    reject_rate: 0.1
    action_fail_rate: 0.0
    drop_off: [[AMR-02, 6, 5]]
    truck_arrivals: [[T02, 12]]
  asrs:
    capacity: 60
    store_s: 0.15
    retrieve_s: 0.15
    fault_rates: {drop_reply: 0.1}
    crane_faults: [[9, 2]]
"""
FAST_OPERATORS = """  putwall:
    scan_delay_s: [0.1, 0.4]
    press_delay_s: [0.1, 0.3]
    wrong_press_rate: 0.1
    no_press_rate: 0.0
    shortage_rate: 0.15
    weight_mismatch_rate: 0.25
    out_of_sequence_rate: 0.0
    load_delay_s: [0.1, 0.3]
    loader_idle_s: 3
    module_drop: [[wall1-lights, 5, 6, 6]]
    printer_paper_out: [[wall2-printer, 8, 5]]
"""

pytestmark = pytest.mark.system


def _config(tmp_path: Path) -> Path:
    text = on_free_ports((ROOT / "plc_configs" / "demo-line-putwall.yaml").read_text())
    text = re.sub(r"\n  putwall:[^\n]*\n(    .*\n?)+", "\n" + FAST_OPERATORS, text)
    assert "loader_idle_s: 3" in text
    text = text.replace("confirm_timeout_s: 20", "confirm_timeout_s: 8")
    (tmp_path / "demo-line-putwall.yaml").write_text(text)
    fleet = on_free_ports((ROOT / "plc_configs" / "demo-line-fleet.yaml").read_text())
    fleet = fleet[: fleet.index("\nsimulation:")] + "\n" + FAST_FLEET
    # Refusals are frequent here (10 % of orders and updates): a task is re-planned up to 8
    # times before it fails, so none fails for them (0.1^9 a task); some are re-planned.
    fleet = fleet.replace("lost_after_s: 45", "lost_after_s: 3\n    max_replans: 8")
    assert "max_replans: 8" in fleet
    path = tmp_path / "line.yaml"
    path.write_text(fleet)
    return path


@pytest.fixture(scope="module")
def shift(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("putwall")
    data = tmp_path / "data"
    report = tmp_path / "report.json"
    cmd = [sys.executable, "-m", "controller.cli", "demo", "--config", str(_config(tmp_path)),
           "--parcels", str(PARCELS), "--rate", str(RATE), "--seed", "3",
           "--report", str(report), "--data-dir", str(data), "--plain",
           "--settle-s", "3"]  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=400, cwd=tmp_path)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return {
        "report": json.loads(report.read_text()),
        "journal": data / "journal.sqlite",
        "manifest": data / "manifest.sqlite",
        "stdout": done.stdout,
    }


def _rows(path: Path, sql: str) -> list[tuple]:
    with sqlite3.connect(path) as conn:
        return conn.execute(sql).fetchall()


def test_every_manifest_parcel_is_loaded_or_accounted_for(shift):
    putwall = shift["report"]["putwall"]
    manifest = dict(_rows(shift["manifest"], "SELECT barcode, route FROM manifest"))
    expected_total = 0
    for truck, figures in putwall["trucks"].items():
        outcomes = figures["outcomes"]
        assert sum(outcomes.values()) == figures["expected"], (truck, figures)
        assert outcomes.get("loaded", 0) > 0, (truck, figures)
        expected_total += figures["expected"]
    assert expected_total == len(manifest)
    payloads = [
        json.loads(p)
        for (p,) in _rows(shift["journal"], "SELECT payload FROM outbox WHERE type='truck.loaded'")
    ]
    assert sorted(p["truck"] for p in payloads) == sorted(putwall["trucks"])
    for payload in payloads:
        for item in payload["not_loaded"]:
            assert item["outcome"] and item["reason"], item
        assert payload["weight_kg"] > 0 and payload["volume_m3"] > 0


def test_no_parcel_is_put_or_loaded_twice(shift):
    journal = shift["journal"]
    puts = _rows(journal, "SELECT parcel_id FROM wall_events WHERE kind = 'put'")
    assert len(puts) == len(set(puts)) > 0
    loaded = _rows(journal, "SELECT parcel_id FROM wall_events WHERE kind = 'loaded'")
    assert len(loaded) == len(set(loaded)) == shift["report"]["putwall"]["loaded"]
    in_containers = [
        p for (ps,) in _rows(journal, "SELECT parcels FROM wall_containers") for p in json.loads(ps)
    ]
    assert len(in_containers) == len(set(in_containers))
    assert set(in_containers) <= {p for (p,) in puts}


def test_the_line_caught_what_the_operators_got_wrong(shift):
    putwall = shift["report"]["putwall"]
    assert putwall["wrong_puts_caught"] >= 1
    assert putwall["weight_mismatches_caught"] >= 1
    assert putwall["short"] >= 1
    kinds = {k for (k,) in _rows(shift["journal"], "SELECT DISTINCT kind FROM wall_events")}
    assert {"wrong_put", "weight_mismatch", "short", "stop_complete"} <= kinds


def test_every_container_is_labelled_and_loaded_last_stop_first(shift):
    putwall = shift["report"]["putwall"]
    assert putwall["labels_printed"] >= putwall["containers_closed"] > 0
    for truck, figures in putwall["trucks"].items():
        assert figures["last_stop_first"] is True, truck


def test_a_module_off_the_bus_and_a_printer_out_of_paper_raise_alarms(shift):
    alarms = _rows(shift["journal"], "SELECT key, state FROM alarms")
    module = {state for key, state in alarms if key.startswith("module:W1:")}
    printer = {state for key, state in alarms if key == "printer:wall2-printer"}
    assert "raised" in module and "cleared" in module, alarms
    assert "raised" in printer and "cleared" in printer, alarms


def test_the_tms_received_every_event_in_order(shift):
    upstream = shift["report"]["upstream"]
    tms = upstream["tms"]
    assert upstream["pending"] == 0 and upstream["dead"] == 0
    assert tms["rejected_malformed"] == 0 and tms["order_violations"] == 0
    assert tms["sequence_gaps"] == 0
    by_type = tms["by_type"]
    putwall = shift["report"]["putwall"]
    assert by_type["parcel.put"] == putwall["put"]
    assert by_type["truck.loaded"] == len(putwall["trucks"])
    assert by_type["stop.complete"] == putwall["stops_complete"]
    assert by_type.get("parcel.short", 0) == putwall["short"]


#: How a container's location may change: picked, set down, stored, retrieved, loaded.
NEXT_LOCATION = {
    "wall": {"station", "vehicle"},
    "station": {"station", "vehicle", "asrs", "door"},
    "vehicle": {"vehicle", "station", "door"},
    "asrs": {"station"},
    "door": {"truck"},
    "truck": set(),
}


def test_every_container_went_to_its_truck_with_its_location_known_throughout(shift):
    fleet = shift["report"]["fleet"]
    print(json.dumps(fleet, indent=1))
    journal = shift["journal"]
    closed = dict(_rows(journal, "SELECT id, truck FROM wall_containers"))
    history: dict[str, list[tuple[str, str, float]]] = {}
    for cid, kind, place, at in _rows(
        journal, "SELECT container_id, kind, place, time FROM container_moves ORDER BY id"
    ):
        history.setdefault(cid, []).append((kind, place, at))
    assert set(history) == set(closed) and fleet["containers"] == len(closed) > 0
    for cid, moves in history.items():
        kinds = [k for k, _, _ in moves]
        assert kinds[0] == "wall" and moves[-1][:2] == ("truck", closed[cid]), (cid, moves)
        for (a, _, t0), (b, _, t1) in itertools.pairwise(moves):
            assert b in NEXT_LOCATION[a] and t1 >= t0, (cid, moves)
    assert fleet["containers_by_phase"] == {"loaded": len(closed)}
    assert fleet["delivered"] == fleet["delivered_in_load_order"] == len(closed)
    assert fleet["stored"] >= 1 and fleet["retrieved"] == fleet["stored"]


def test_the_fleet_and_the_buffer_got_over_their_faults(shift):
    alarms = _rows(shift["journal"], "SELECT key, state FROM alarms")
    lost = {state for key, state in alarms if key == "fleet-lost:LaneSim/AMR-02"}
    crane = {state for key, state in alarms if key == "asrs-fault:buffer-asrs"}
    assert {"raised", "cleared"} <= lost, alarms
    assert {"raised", "cleared"} <= crane, alarms
    counters = shift["report"]["fleet"]["fleet"]
    assert counters["replans"] + counters["failed"] >= 1, counters
    assert counters["delivered"] == shift["report"]["fleet"]["moved"]
