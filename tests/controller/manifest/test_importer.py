import json
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from controller.manifest.import_job import JobState
from controller.manifest.importer import run_import
from controller.manifest.store import ManifestStore
from tests.controller.manifest.helpers import BAD, BIG, GOOD, write

ROOT = Path(__file__).resolve().parents[3]


def run_cli(db, path, fmt, *extra, job="j1"):
    args = ["--db", str(db), "--input", str(path), "--format", fmt, "--job", job, *extra]
    done = subprocess.run(
        [sys.executable, "-m", "controller.manifest.importer", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        check=False,
    )
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert lines and lines[-1]["final"] is True, done.stderr
    return done.returncode, lines


def table(db):
    conn = sqlite3.connect(db)
    try:
        return dict(conn.execute("SELECT barcode, route FROM manifest").fetchall())
    finally:
        conn.close()


def test_a_good_csv_loads_and_the_job_is_recorded(tmp_path):
    db = tmp_path / "m.sqlite"
    code, lines = run_cli(db, write(tmp_path, "m.csv", GOOD), "csv", "--actor", "tms")
    final = lines[-1]
    assert code == 0 and final["state"] == "done"
    assert (final["rows_read"], final["rows_loaded"], final["rows_bad"]) == (3, 3, 0)
    assert table(db) == {"A1": "R1", "A2": "R2", "A3": "R1"}
    stored = ManifestStore(db)
    stored.open()
    job = stored.job("j1")
    stored.close()
    assert job.state is JobState.DONE and job.actor == "tms" and job.rows_loaded == 3


def test_all_or_nothing_reports_every_bad_row_and_loads_nothing(tmp_path):
    db = tmp_path / "m.sqlite"
    run_cli(db, write(tmp_path, "old.csv", "barcode,route\nOLD,R0\n"), "csv", job="old")
    code, lines = run_cli(db, write(tmp_path, "m.csv", BAD), "csv")
    final = lines[-1]
    assert code == 1 and final["state"] == "failed"
    assert "2 bad rows; nothing loaded" in final["error"]
    assert final["bad_rows"] == [
        {"line": 3, "field": "barcode", "reason": "contains whitespace (U+0020) at position 1"},
        {"line": 4, "field": "route", "reason": "is required"},
        {"line": 4, "field": "stop_sequence", "reason": "must be an integer, not 'x'"},
    ]
    assert (final["rows_read"], final["rows_loaded"], final["rows_bad"]) == (4, 0, 2)
    assert table(db) == {"OLD": "R0"}


def test_partial_loads_the_good_rows_and_reports_the_bad_ones(tmp_path):
    db = tmp_path / "m.sqlite"
    code, lines = run_cli(db, write(tmp_path, "m.csv", BAD), "csv", "--partial")
    final = lines[-1]
    assert code == 0 and final["state"] == "done" and final["error"] is None
    assert (final["rows_loaded"], final["rows_bad"]) == (2, 2)
    assert [b["line"] for b in final["bad_rows"]] == [3, 4, 4]
    assert table(db) == {"A1": "R1", "A4": "R4"}


@pytest.mark.parametrize("mode", [(), ("--partial",)])
def test_a_repeated_barcode_keeps_its_later_row_within_a_batch(tmp_path, mode):
    db = tmp_path / "m.sqlite"
    text = "barcode,route,stop_sequence\nA1,R1,\nA2,R2,2\nA1,R1,5\nA2,R2,\nA1,R1,3\n"
    code, lines = run_cli(db, write(tmp_path, "m.csv", text), "csv", *mode)
    assert code == 0 and (lines[-1]["rows_loaded"], lines[-1]["duplicates"]) == (2, 3)
    conn = sqlite3.connect(db)
    stops = dict(conn.execute("SELECT barcode, stop_sequence FROM manifest"))
    conn.close()
    assert stops == {"A1": 3, "A2": None}


@pytest.mark.parametrize("mode", [(), ("--partial",)])
def test_a_repeated_barcode_keeps_its_later_row_across_batches(tmp_path, mode):
    db = tmp_path / "m.sqlite"
    text = "barcode,route\nA1,R1\nA2,R2\nA3,R3\nA1,R9\nA2,R8\nA1,R7\n"
    code, lines = run_cli(db, write(tmp_path, "m.csv", text), "csv", "--batch", "2", *mode)
    assert code == 0 and (lines[-1]["rows_loaded"], lines[-1]["duplicates"]) == (3, 3)
    assert table(db) == {"A1": "R7", "A2": "R8", "A3": "R3"}


def test_a_header_error_fails_the_job_with_a_clear_message(tmp_path):
    db = tmp_path / "m.sqlite"
    code, lines = run_cli(db, write(tmp_path, "m.csv", "barcode,stop\nA1,1\n"), "csv")
    assert code == 1 and lines[-1]["state"] == "failed" and lines[-1]["rows_read"] == 0
    assert lines[-1]["error"].startswith("line 1: expected columns barcode,route; missing route")


def test_ndjson_and_json_files(tmp_path):
    db = tmp_path / "m.sqlite"
    ndjson = '{"barcode": "N1", "route": "R1"}\n\n{"barcode": "N2", "route": "R2", "x": 1}\n'
    code, lines = run_cli(db, write(tmp_path, "m.ndjson", ndjson), "ndjson", "--partial")
    assert code == 0 and lines[-1]["bad_rows"] == [
        {"line": 3, "field": "x", "reason": "unknown field"}
    ]
    document = {"parcels": [{"barcode": "J1", "route": "R1"}, {"barcode": "J2", "route": 5}]}
    code, lines = run_cli(db, write(tmp_path, "m.json", json.dumps(document)), "json", job="j2")
    assert code == 1 and lines[-1]["bad_rows"] == [
        {"line": 1, "field": "route", "reason": "must be a string, not int"}
    ]
    assert table(db) == {"N1": "R1"}


def test_200k_rows_load_with_progress(tmp_path, big_csv):
    db = tmp_path / "m.sqlite"
    started = time.perf_counter()
    code, lines = run_cli(db, big_csv, "csv")
    elapsed = time.perf_counter() - started
    final, progress = lines[-1], lines[:-1]
    assert code == 0 and final["rows_loaded"] == BIG and final["rows_bad"] == 0
    assert progress and progress[-1]["rows_read"] == BIG
    reads = [p["rows_read"] for p in progress]
    assert reads == sorted(reads) and len(progress) <= elapsed * 4 + 2
    print(f"\n{BIG} rows, all-or-nothing: {BIG / elapsed:,.0f} rows/s (process wall time)")


def test_sigterm_cancels_and_a_partial_import_keeps_what_it_committed(tmp_path, big_csv):
    db = tmp_path / "m.sqlite"
    args = ["--db", db, "--input", big_csv, "--format", "csv", "--job", "c", "--partial"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "controller.manifest.importer", *map(str, args)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    first = json.loads(proc.stdout.readline())
    assert first["rows_read"] > 0
    proc.send_signal(signal.SIGTERM)
    rest = [json.loads(line) for line in proc.stdout]
    assert proc.wait(timeout=30) == 2
    final = rest[-1]
    assert final["state"] == "cancelled" and final["rows_read"] < BIG
    assert len(table(db)) == final["rows_loaded"]


def test_run_import_in_process_reports_through_emit(tmp_path):
    db = tmp_path / "m.sqlite"
    messages = []
    job = run_import(
        db, write(tmp_path, "m.csv", BAD), "csv", job_id="in", partial=True, emit=messages.append
    )
    assert job.state is JobState.DONE and (job.rows_loaded, job.rows_bad) == (2, 2)
    assert messages[-1]["final"] is True and messages[0]["bad_rows"][0]["line"] == 3
    assert table(db) == {"A1": "R1", "A4": "R4"}
