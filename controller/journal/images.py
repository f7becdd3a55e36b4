"""Camera images kept with the parcels: JPEG files on disk, one journal row each.

A camera attaches the frame it read a parcel from to its result (JPEG bytes, encoded in
the camera driver's worker thread; which frames, is its ``keep_images`` policy). After
the parcel's identification is journaled, :meth:`ImageStore.keep` writes each image to
``<data_dir>/images/<session>/<uid>-<device>.jpg`` in a thread, then queues an
:class:`ImageRecord` (the ``images`` table: session, uid, device, time, relative path,
size) to the journal writer, so a row never names a file that is not written yet.

Retention (the line config's ``images`` section): once more than ``max_count`` images
(or ``max_mb`` megabytes) are kept, the oldest are deleted down to 1% below the limits:
their rows first (through the journal writer), then their files, in a thread. One prune
runs at a time.

On the event loop each parcel costs a path format, two thread hand-offs and a queue put;
the encoding, the file IO and every SQLite statement run elsewhere.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from controller.errors import CommandRefused, JournalError
from controller.journal.writer import Journal
from plc_configs.sections import ImagesSection

log = logging.getLogger(__name__)

SCHEMA = """
CREATE TABLE IF NOT EXISTS images(
    id INTEGER PRIMARY KEY AUTOINCREMENT, session INTEGER NOT NULL, uid INTEGER NOT NULL,
    device TEXT NOT NULL, time REAL NOT NULL, path TEXT NOT NULL, bytes INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS images_by_parcel ON images(session, uid);
"""

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


@dataclass(frozen=True, slots=True)
class ImageRecord:
    """One image file kept for parcel ``uid`` (``path`` relative to the images folder)."""

    time: float
    uid: int
    device: str
    path: str
    size: int

    def write_to(self, conn: sqlite3.Connection, session: int, wall_offset: float) -> bool:
        """Insert the row (journal writer thread); never adds upstream events."""
        conn.execute(
            "INSERT INTO images(session, uid, device, time, path, bytes) VALUES(?, ?, ?, ?, ?, ?)",
            (session, self.uid, self.device, self.time + wall_offset, self.path, self.size),
        )
        return False


@dataclass(frozen=True, slots=True)
class ImagesPruned:
    """The rows of the oldest images, up to id ``through_id``, are deleted."""

    through_id: int

    def write_to(self, conn: sqlite3.Connection, session: int, wall_offset: float) -> bool:
        """Delete the rows (journal writer thread); never adds upstream events."""
        conn.execute("DELETE FROM images WHERE id <= ?", (self.through_id,))
        return False


def image_name(session: int, uid: int, device: str) -> str:
    """``<session>/<uid>-<device>.jpg``, the device name reduced to safe characters."""
    return f"{session}/{uid}-{_UNSAFE.sub('_', device)}.jpg"


class ImageStore:
    """Writes, finds and prunes the kept images of one line."""

    def __init__(self, root: Path, limits: ImagesSection, journal: Journal):
        self.root = root
        self.max_count = limits.max_count
        self.max_bytes = None if limits.max_mb is None else int(limits.max_mb * 1_000_000)
        self.journal = journal
        self.kept = 0
        """Images written since start."""
        self.pruned = 0
        """Images deleted by retention since start."""
        self.last_error: str | None = None
        self._count: int | None = None  # tallies since the last count; None: count first
        self._bytes = 0
        self._counting = asyncio.Lock()
        self._pruning = False

    async def keep(self, uid: int, images: Sequence[tuple[str, bytes]], now: float) -> list[str]:
        """Write parcel ``uid``'s images ((device, JPEG bytes)), journal them, prune if due.

        Returns the relative paths written; a disk error is logged and nothing is kept
        (an image is an aid for people: never a reason to stop sorting).
        """
        if not images:
            return []
        session = self.journal.session
        named = [(device, image_name(session, uid, device), data) for device, data in images]
        try:
            await asyncio.to_thread(self._write_files, named)
        except OSError as err:
            self.last_error = f"{self.root}: cannot write an image: {err}"
            log.warning("%s", self.last_error)
            return []
        for device, relative, data in named:
            self.journal.append(ImageRecord(now, uid, device, relative, len(data)))
        self.kept += len(named)
        try:
            await self._tally(len(named), sum(len(d) for _, _, d in named))
            if self._over_limit() and not self._pruning:
                await self.prune()
        except (JournalError, sqlite3.Error, OSError) as err:
            # Never let retention end the identification task (and with it the line).
            self.last_error = f"{self.root}: cannot prune the images: {err}"
            log.warning("%s", self.last_error)
        return [relative for _, relative, _ in named]

    def _write_files(self, named: list[tuple[str, str, bytes]]) -> None:
        for _, relative, data in named:
            path = self.root / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)

    async def _tally(self, count: int, size: int) -> None:
        """Add to the running totals; count the table first when they are not known.

        The totals only decide when to prune (a prune counts exactly), so rows still in
        the journal's queue may be counted twice here: never waits for the journal.
        """
        async with self._counting:
            if self._count is None:
                self._count, self._bytes = await asyncio.to_thread(self._totals)
            self._count += count
            self._bytes += size

    def _over_limit(self) -> bool:
        if self._count is None:
            return False
        return self._count > self.max_count or (
            self.max_bytes is not None and self._bytes > self.max_bytes
        )

    async def prune(self) -> int:
        """Delete the oldest images down to 1% below the limits: rows, then files; how many."""
        if self._pruning:
            return 0
        self._pruning = True
        try:
            await self.journal.barrier()  # every row queued so far is in the table
            through, paths = await asyncio.to_thread(self._oldest_beyond_limits)
            if through is not None:
                self.journal.append(ImagesPruned(through))
                await self.journal.barrier()
                await asyncio.to_thread(self._remove_files, paths)
                self.pruned += len(paths)
                log.info("pruned %d old camera images", len(paths))
            async with self._counting:
                self._count, self._bytes = None, 0  # counted again at the next image
            return len(paths)
        finally:
            self._pruning = False

    def _connect(self) -> sqlite3.Connection:
        try:
            return sqlite3.connect(f"file:{self.journal.path}?mode=ro", uri=True, timeout=10)
        except sqlite3.Error as err:
            raise JournalError(f"{self.journal.path}: cannot read the images: {err}") from err

    def _totals(self) -> tuple[int, int]:
        conn = self._connect()
        try:
            count, size = conn.execute(
                "SELECT count(*), coalesce(sum(bytes), 0) FROM images"
            ).fetchone()
        finally:
            conn.close()
        return int(count), int(size)

    def _oldest_beyond_limits(self) -> tuple[int | None, list[str]]:
        """The last id to delete (None: nothing to delete) and the files to remove."""
        conn = self._connect()
        try:
            conn.execute("BEGIN")  # one snapshot for both statements
            count, size = conn.execute(
                "SELECT count(*), coalesce(sum(bytes), 0) FROM images"
            ).fetchone()
            # Down to 1% below the limits, so that a full store prunes once per hundredth
            # of its limit rather than for every image.
            keep_count = self.max_count - self.max_count // 100
            keep_bytes = None if self.max_bytes is None else self.max_bytes - self.max_bytes // 100
            through, paths = None, []
            for id_, path, nbytes in conn.execute("SELECT id, path, bytes FROM images ORDER BY id"):
                if count <= keep_count and (keep_bytes is None or size <= keep_bytes):
                    break
                through, count, size = id_, count - 1, size - nbytes
                paths.append(path)
            conn.execute("COMMIT")
        finally:
            conn.close()
        return through, paths

    def _remove_files(self, paths: list[str]) -> None:
        folders: set[Path] = set()
        for relative in paths:
            path = self.root / relative
            try:
                path.unlink(missing_ok=True)
            except OSError as err:
                log.warning("cannot delete the old image %s: %s", path, err)
            folders.add(path.parent)
        for folder in folders:
            with contextlib.suppress(OSError):
                folder.rmdir()  # only when empty: an old session's folder

    def resolve(self, relative: str) -> Path:
        """The file of an image's journaled relative path, never outside the images folder.

        Raises CommandRefused for an absolute path, ``..``, or a path that leads elsewhere
        (through a symlink, say). Blocking (it resolves symlinks): call it in a thread.
        """
        pure = PurePosixPath(relative)
        if (
            not relative
            or pure.is_absolute()
            or ".." in pure.parts
            or "\\" in relative
            or "\x00" in relative
        ):
            raise CommandRefused(f"{relative!r} is not an image path")
        root = self.root.resolve()
        path = (root / pure).resolve()
        if not path.is_relative_to(root) or path == root:
            raise CommandRefused(f"{relative!r} is not an image path")
        return path
