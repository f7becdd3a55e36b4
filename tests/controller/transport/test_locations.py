"""Container locations in the journal: each move a row, the last one read back after a
restart, a repeated location not a move, and the trucks at their doors kept."""

from __future__ import annotations

import pytest

from controller.journal.writer import Journal
from controller.transport.locations import (
    SCHEMA,
    DockRecord,
    Location,
    LocationBook,
    read_docked,
    read_history,
    read_last_locations,
)


async def test_moves_are_journaled_and_the_last_one_survives_a_restart(tmp_path):
    journal = Journal(tmp_path / "journal.sqlite", "transport-test")
    journal.add_schema(SCHEMA)
    await journal.open()
    book = LocationBook(journal)
    book.move("C1", Location("wall", "W1", 1.0, "W1-03"))
    book.move("C1", Location("wall", "W1", 2.0, "W1-03"))  # the same place again: no move
    book.move("C1", Location("vehicle", "LaneSim/AMR-01", 3.0, "last at node X1", "T1"))
    book.move("C2", Location("asrs", "buffer-asrs", 4.0, "RACK/0001/0002/0000/0000"))
    journal.append(DockRecord("T01", "D01", 5.0))
    with pytest.raises(ValueError, match="unknown location kind"):
        book.move("C3", Location("floor", "somewhere", 6.0))
    await journal.close()
    assert book.moves == 3
    last = read_last_locations(tmp_path / "journal.sqlite")
    assert last["C1"].describe() == "on vehicle LaneSim/AMR-01, last at node X1"
    assert last["C2"].describe() == "stored in buffer-asrs, RACK/0001/0002/0000/0000"
    history = read_history(tmp_path / "journal.sqlite", "C1")
    assert [(h["kind"], h["since"]) for h in history] == [("wall", 1.0), ("vehicle", 3.0)]
    assert history[1]["task_id"] == "T1"
    assert read_docked(tmp_path / "journal.sqlite") == {"T01": "D01"}
