import asyncio
import random
import sqlite3

import pytest

from controller.errors import ManifestError
from controller.manifest.import_job import ImportJob, JobState
from controller.manifest.rows import BadRow, ManifestRow
from controller.manifest.store import ManifestStore
from controller.parcels.decision import Identification, SortPlan, decide


@pytest.fixture
def store(tmp_path):
    store = ManifestStore(tmp_path / "data" / "manifest.sqlite")
    store.open()
    yield store
    store.close()


def rows(n, route=lambda i: f"R{i % 3}"):
    return [ManifestRow(f"B{i:05d}", route(i), i, f"Name {i}", "AB 1", "std") for i in range(n)]


def test_open_creates_the_schema_in_wal_mode(store):
    conn = sqlite3.connect(store.path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    sql = conn.execute("SELECT sql FROM sqlite_master WHERE name = 'manifest'").fetchone()[0]
    assert "WITHOUT ROWID" in sql
    indexes = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='index'")}
    assert "manifest_by_route" in indexes
    conn.close()
    assert store.size == 0 and store.count() == 0


def test_upsert_then_look_up(store):
    assert store.upsert(rows(10), job="j1") == 10
    assert store.size == 10 and len(store) == 10
    assert store.route_of("B00004") == "R1"
    assert store.route_of("nope") is None
    assert store.get("B00004") == "R1" and store.get("nope", "dflt") == "dflt"
    assert store.record("B00004") == ManifestRow("B00004", "R1", 4, "Name 4", "AB 1", "std")
    assert store.record("nope") is None
    assert store.route_of("bad\udcff") is None and store.record("bad\udcff") is None


def test_upsert_replaces_rows_and_counts_only_new_barcodes(store):
    store.upsert(rows(10))
    changed = [ManifestRow("B00001", "R9"), ManifestRow("NEW", "R9"), ManifestRow("NEW", "R8")]
    assert store.upsert(changed) == 2  # NEW given twice: the later row wins
    assert store.size == 11 == store.count()
    assert store.record("B00001") == ManifestRow("B00001", "R9")
    assert store.route_of("NEW") == "R8"


def test_upsert_revalidates_every_row_and_writes_nothing_on_a_bad_one(store):
    with pytest.raises(ManifestError, match="route contains a control character"):
        store.upsert([ManifestRow("OK", "R1"), ManifestRow("X", "R\x00")])
    with pytest.raises(ManifestError, match="expected a ManifestRow"):
        store.upsert([("A", "R")])
    assert store.count() == 0
    assert store.upsert([ManifestRow(" PAD ", " R1 ")]) == 1
    assert store.route_of("PAD") == "R1"


def test_query_pages_by_barcode_with_and_without_a_route(store):
    store.upsert(rows(25))
    seen, after = [], None
    while page := store.query(route="R1", after=after, limit=3):
        seen += [r.barcode for r in page]
        after = page[-1].barcode
    assert seen == [f"B{i:05d}" for i in range(25) if i % 3 == 1]
    assert [r.barcode for r in store.query(after="B00022")] == ["B00023", "B00024"]
    assert len(store.query(limit=0)) == 1  # clamped
    assert store.query(route="none") == []


def test_delete_routes_and_count(store):
    store.upsert(rows(7))
    assert store.routes() == {"R0": 3, "R1": 2, "R2": 2}
    assert store.delete("B00000") is True
    assert store.delete("B00000") is False
    assert store.size == 6 and store.routes()["R0"] == 2


def test_stops_count_parcels_by_route_and_stop(store):
    store.upsert(
        [
            ManifestRow("B1", "R2", 5),
            ManifestRow("B2", "R1", 3),
            ManifestRow("B3", "R1", 3),
            ManifestRow("B4", "R1"),
            ManifestRow("B5", "R1", 1),
        ]
    )
    assert store.stops() == [("R1", None, 1), ("R1", 1, 1), ("R1", 3, 2), ("R2", 5, 1)]


def test_jobs_are_recorded_and_interrupted_ones_failed_at_start_up(store):
    done = ImportJob(
        "j1",
        JobState.DONE,
        "csv",
        False,
        100.0,
        "alice",
        started=101.0,
        finished=103.0,
        rows_read=10,
        rows_loaded=8,
        rows_bad=2,
        duplicates=0,
        bad_rows=(BadRow(3, "route", "is required"),),
    )
    store.save_job(done)
    store.save_job(ImportJob("j2", JobState.RUNNING, "ndjson", True, 200.0, "bob", started=201.0))
    assert store.job("j1") == done
    assert done.rows_per_s == 5.0
    assert done.as_dict()["bad_rows"] == [{"line": 3, "field": "route", "reason": "is required"}]
    assert [j.id for j in store.jobs()] == ["j2", "j1"] and store.job("nope") is None
    assert store.fail_interrupted_jobs() == 1
    interrupted = store.job("j2")
    assert interrupted.state is JobState.FAILED and "interrupted" in interrupted.error


def test_the_store_is_a_mapping_for_the_decision(store):
    store.upsert([ManifestRow("PKG1", "R1")])
    plan = SortPlan({"R1": [4]}, reject_chute=99)
    found = decide(Identification("PKG1"), store, plan, frozenset(), frozenset())
    assert found.chute == 4 and found.route == "R1"
    missing = decide(Identification("PKG2"), store, plan, frozenset(), frozenset())
    assert missing.chute == 99 and missing.reason == "no_route"


def test_a_closed_store_says_so(tmp_path):
    store = ManifestStore(tmp_path / "m.sqlite")
    with pytest.raises(ManifestError, match="not open"):
        store.route_of("A")
    with pytest.raises(ManifestError, match="not open"):
        store.count()


def test_an_unopenable_file_is_a_manifest_error(tmp_path):
    (tmp_path / "dir.sqlite").mkdir()
    with pytest.raises(ManifestError, match="cannot open"):
        ManifestStore(tmp_path / "dir.sqlite").open()


async def test_thread_side_calls_run_in_threads_while_the_loop_looks_up(store):
    await asyncio.to_thread(store.upsert, rows(100))
    results = await asyncio.gather(
        *(asyncio.to_thread(store.record, f"B{i:05d}") for i in range(0, 100, 10)),
        asyncio.to_thread(store.routes),
    )
    assert results[0].route == "R0" and sum(results[-1].values()) == 100
    assert store.route_of("B00099") == "R0"


def test_route_of_finds_the_route_of_every_known_barcode_and_none_for_others(store):
    """100,000 random barcodes in random order (the figures: benchmarks/manifest_lookup.py)."""
    rng = random.Random(3)
    codes = [f"JD{rng.getrandbits(60):018d}" for _ in range(100_000)]
    store.upsert(ManifestRow(code, f"R{i % 60}") for i, code in enumerate(codes))
    assert store.size == len(set(codes))
    for i in rng.sample(range(len(codes)), 5000):
        assert store.route_of(codes[i]) == f"R{i % 60}", codes[i]
        assert store.route_of(codes[i] + "X") is None
        assert store.route_of(codes[i][:-1]) is None  # a prefix is not a match
    assert store.route_of("") is None
