"""Camera images kept with the parcels: on a running camera line, retention, safe paths."""

from __future__ import annotations

import asyncio
import sqlite3

import cv2
import numpy as np
import pytest

from controller.errors import CommandRefused
from controller.journal.images import SCHEMA, ImageStore
from controller.journal.writer import Journal
from controller.line.controller import LineController
from plc_configs.sections import ImagesSection
from tests.controller.line.helpers import (
    camera_line_config,
    finished,
    line_config,
    pointed_at,
    running,
    simulated_line,
    until,
)


def _rows(journal_path) -> list[tuple[int, int, str, str, int]]:
    conn = sqlite3.connect(journal_path)
    try:
        return conn.execute(
            "SELECT session, uid, device, path, bytes FROM images ORDER BY id"
        ).fetchall()
    finally:
        conn.close()


async def test_a_parcel_read_by_the_camera_has_its_image_on_disk_and_in_its_lookup(tmp_path):
    config = camera_line_config(12)
    async with simulated_line(config, tmp_path) as sim:
        line = LineController(pointed_at(config, sim), tmp_path)
        async with running(line):
            await until(lambda: finished(line) == 12 and len(line.tracker) == 0, within=30)
            await line.journal.barrier()
    rows = _rows(tmp_path / "journal.sqlite")
    conn = sqlite3.connect(tmp_path / "journal.sqlite")
    framed = conn.execute(
        "SELECT session, uid FROM events WHERE kind = 'identified' AND detail LIKE '%zxing 1280x%'"
    ).fetchall()
    parcels = set(conn.execute("SELECT session, uid FROM parcels").fetchall())
    conn.close()
    # Every trigger that decoded a frame left one image, read or no-read (keep_images: all),
    # also when the read came after the decision (then the parcel has no identified event);
    # a timed-out trigger (a loaded machine) has none.
    kept = [row[:2] for row in rows]
    assert framed and set(framed) <= set(kept) and set(kept) <= parcels
    assert len(kept) == len(set(kept)) == line.images.kept
    for session, uid, device, path, size in rows:
        assert device == "cam" and path == f"{session}/{uid}-cam.jpg"
        data = (tmp_path / "images" / path).read_bytes()
        assert len(data) == size
        assert cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_GRAYSCALE).shape == (
            1024,
            1280,
        )
    conn = sqlite3.connect(tmp_path / "journal.sqlite")
    sorted_ = conn.execute(
        "SELECT p.barcode, p.session, p.uid FROM parcels p JOIN images i"
        " ON i.session = p.session AND i.uid = p.uid WHERE p.state = 'sorted'"
    ).fetchall()
    conn.close()
    assert sorted_, "no sorted parcel with an image"
    barcode, session, uid = sorted_[0]
    parcel = await asyncio.to_thread(line.parcels.by_barcode, barcode)
    assert [(i["device"], i["path"]) for i in parcel["images"]] == [
        ("cam", f"{session}/{uid}-cam.jpg")
    ]
    assert parcel["images"][0]["time"] >= parcel["inducted"]
    assert line.image_file(parcel["images"][0]["path"]).is_file()


async def _store(tmp_path, **limits) -> tuple[Journal, ImageStore]:
    journal = Journal(tmp_path / "journal.sqlite", "test-line")
    journal.add_schema(SCHEMA)
    await journal.open()
    return journal, ImageStore(tmp_path / "images", ImagesSection(**limits), journal)


async def test_the_oldest_images_beyond_max_count_are_pruned_rows_and_files(tmp_path):
    journal, store = await _store(tmp_path, max_count=5)
    try:
        for uid in range(1, 9):
            (path,) = await store.keep(uid, [("cam", b"\xff\xd8" + bytes(500))], float(uid))
            assert (tmp_path / "images" / path).is_file()
        await journal.barrier()
    finally:
        await journal.close()
    assert [row[1] for row in _rows(journal.path)] == [4, 5, 6, 7, 8]
    folder = tmp_path / "images" / str(journal.session)
    assert sorted(p.name for p in folder.iterdir()) == [f"{u}-cam.jpg" for u in range(4, 9)]
    assert store.pruned == 3 and store.kept == 8


async def test_images_are_pruned_to_max_mb_too(tmp_path):
    journal, store = await _store(tmp_path, max_mb=0.0025)  # 2500 bytes: two of 1000
    try:
        for uid in range(1, 6):
            await store.keep(uid, [("top cam/1", bytes(1000))], float(uid))
        await journal.barrier()
    finally:
        await journal.close()
    rows = _rows(journal.path)
    assert [row[1] for row in rows] == [4, 5]
    assert rows[0][3] == f"{journal.session}/4-top_cam_1.jpg"  # a device name made safe
    assert sum(1 for _ in (tmp_path / "images").rglob("*.jpg")) == 2


async def test_image_paths_outside_the_images_folder_are_refused(tmp_path):
    line = LineController(line_config(), tmp_path)
    (tmp_path / "images" / "1").mkdir(parents=True)
    (tmp_path / "images" / "1" / "2-cam.jpg").write_bytes(b"jpeg")
    (tmp_path / "secret.txt").write_text("not an image")
    (tmp_path / "images" / "1" / "link.jpg").symlink_to(tmp_path / "secret.txt")
    assert line.image_file("1/2-cam.jpg") == (tmp_path / "images" / "1" / "2-cam.jpg").resolve()
    for bad in (
        "../secret.txt",
        "1/../../secret.txt",
        str(tmp_path / "secret.txt"),
        "/etc/passwd",
        "1/link.jpg",
        "",
        ".",
        "1\\..\\..\\secret.txt",
    ):
        with pytest.raises(CommandRefused):
            line.image_file(bad)


async def test_a_journal_that_cannot_be_read_never_fails_the_keep(tmp_path):
    journal = Journal(tmp_path / "missing" / "journal.sqlite", "test-line")  # never opened
    store = ImageStore(tmp_path / "images", ImagesSection(max_count=1), journal)
    (path,) = await store.keep(7, [("cam", b"jpeg")], 1.0)
    assert (tmp_path / "images" / path).read_bytes() == b"jpeg"
    assert "cannot prune the images" in store.last_error
