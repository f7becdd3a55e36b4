"""Manifests for the import and job manager tests (their fixtures are in conftest.py)."""

from __future__ import annotations

BIG = 200_000
GOOD = "barcode,route,stop_sequence\nA1,R1,1\nA2,R2,2\nA3,R1,3\n"
BAD = "barcode,route,stop_sequence\nA1,R1,1\nA 2,R2,2\nA3,,x\nA4,R4,4\n"


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def fields_of(result):
    """The fields named by a list of ``(field, reason)`` problems."""
    assert isinstance(result, list), result
    return {field for field, _ in result}
