"""Manifest files from the TMS, parsed: CSV, NDJSON and JSON, row by row.

The parsers yield ``(line, result)``: ``result`` is either a tuple of the six
values in :data:`FIELDS` order (``ManifestRow(*result)`` builds the row) or a
list of ``(field, reason)`` problems. ``line`` is the physical line of the file
(CSV: the line where the record starts, the header is line 1; NDJSON: the
line), and for JSON the 0-based index of the item in the array (``item 17``).
A header or document-shape error raises :class:`~controller.errors.ManifestError`.

Used by the bulk importer (:mod:`controller.manifest.importer`, in its own process) and
the synchronous small-JSON path of the REST API (:func:`collect`).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import IO, Any

from controller.errors import ManifestError
from controller.manifest.rows import (
    FIELDS,
    FORMATS,
    REQUIRED,
    BadRow,
    ManifestRow,
    Parsed,
    RowValues,
    check_item,
    check_text,
    show_value,
)


def parse_csv(handle: IO[str]) -> Iterator[Parsed]:
    """Rows of a CSV manifest with a header line (open it ``newline=""``).

    Open the file with ``encoding="utf-8-sig", errors="surrogateescape"`` (as
    :func:`open_input` does): a BOM is skipped and bytes that are not UTF-8
    become a problem of the row that holds them instead of stopping the file.
    Blank lines are skipped. Raises ManifestError when the header is wrong.
    """
    reader = csv.reader(handle)
    try:
        header = next(reader, None)
    except csv.Error as err:
        raise ManifestError(f"line 1: cannot read the header: {err}") from err
    if not header or not any(h.strip() for h in header):
        raise ManifestError("line 1: empty file; expected a header with columns barcode,route")
    names = [h.strip().lstrip("\ufeff").lower() for h in header]
    unknown = [repr(n) if n else f"column {i + 1} (no name)" for i, n in enumerate(names)]
    unknown = [u for u, n in zip(unknown, names, strict=True) if n not in FIELDS]
    missing = [f for f in REQUIRED if f not in names]
    repeated = sorted({n for n in names if n and names.count(n) > 1})
    if missing or unknown or repeated:
        why = ["line 1: expected columns barcode,route"]
        if missing:
            why.append(f"missing {','.join(missing)}")
        if unknown:
            why.append(f"unknown columns {', '.join(unknown)} (optional: {','.join(FIELDS[2:])})")
        if repeated:
            why.append(f"repeated columns {', '.join(repeated)}")
        raise ManifestError("; ".join(why))
    width = len(names)
    index = [names.index(f) if f in names else None for f in FIELDS]
    pick = None if index == list(range(6)) else index  # None: the canonical column order
    end = reader.line_num
    while True:
        start = end + 1
        try:
            record = next(reader)
        except StopIteration:
            return
        except csv.Error as err:
            end = reader.line_num
            yield start, [("row", f"not valid CSV: {err}")]
            continue
        end = reader.line_num
        if len(record) != width:
            if not record or (len(record) == 1 and not record[0].strip()):
                continue  # a blank line
            yield start, [("row", f"has {len(record)} fields; the header has {width}")]
            continue
        if pick is None:
            yield start, check_text(*record)
        else:
            yield start, check_text(*["" if i is None else record[i] for i in pick])


def parse_ndjson(handle: IO[bytes]) -> Iterator[Parsed]:
    """Rows of newline-delimited JSON (one object per line, blank lines skipped)."""
    loads = json.loads
    for number, raw in enumerate(handle, 1):
        if number == 1 and raw.startswith(b"\xef\xbb\xbf"):
            raw = raw[3:]
        if not raw.strip():
            continue
        try:
            item = loads(raw)
        except UnicodeDecodeError as err:
            yield number, [("row", f"is not valid UTF-8 (byte {err.start + 1} of the line)")]
            continue
        except ValueError as err:
            yield number, [("row", f"not valid JSON: {err}")]
            continue
        yield number, check_item(item)


def json_items(document: object) -> list[object]:
    """The items of a JSON manifest: an array of objects, or ``{"parcels": [...]}``."""
    if isinstance(document, list):
        return document
    if isinstance(document, dict) and isinstance(document.get("parcels"), list):
        others = [k for k in document if k != "parcels"]
        if not others:
            return document["parcels"]
        raise ManifestError(f"unknown top-level keys {', '.join(map(show_value, others))}")
    raise ManifestError('expected a JSON array of objects or {"parcels": [...]}')


def parse_json(document: object) -> Iterator[Parsed]:
    """Rows of a decoded JSON manifest; the "line" is the item's 0-based index."""
    for index, item in enumerate(json_items(document)):
        yield index, check_item(item)


def load_json(handle: IO[bytes]) -> object:
    """Decode a whole JSON document (the importer does this in its own process)."""
    data = handle.read()
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return json.loads(data)
    except UnicodeDecodeError as err:
        raise ManifestError(f"not valid UTF-8 at byte {err.start}") from err
    except ValueError as err:
        raise ManifestError(f"not valid JSON: {err}") from err


def open_input(path: str, fmt: str) -> tuple[IO[Any], Iterator[Parsed]]:
    """Open a manifest file of format ``fmt``: the open handle (close it) and its rows.

    A JSON document is decoded here, whole; CSV and NDJSON are streamed.
    """
    if fmt not in FORMATS:
        raise ManifestError(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")
    try:
        if fmt == "csv":
            text = open(path, encoding="utf-8-sig", errors="surrogateescape", newline="")  # noqa: SIM115
            return text, parse_csv(text)
        handle = open(path, "rb")  # noqa: SIM115
    except OSError as err:
        raise ManifestError(f"{path}: cannot open: {err.strerror}") from err
    if fmt == "ndjson":
        return handle, parse_ndjson(handle)
    try:
        document = load_json(handle)
    except BaseException:
        handle.close()
        raise
    return handle, parse_json(document)


@dataclass(frozen=True)
class Collected:
    """A small upload validated in memory: the rows to load (last wins) and what was refused."""

    rows: tuple[ManifestRow, ...]
    bad_rows: tuple[BadRow, ...]
    rows_read: int
    rows_bad: int
    duplicates: int


def collect(parsed: Iterable[Parsed], *, max_bad: int = 1000) -> Collected:
    """Gather parsed rows (for the synchronous small-JSON path of the API).

    A barcode given twice keeps its later row (counted in ``duplicates``); at most
    ``max_bad`` problems are kept, ``rows_bad`` counts every refused row.
    """
    rows: dict[str, RowValues] = {}
    bad: list[BadRow] = []
    read = refused = duplicates = 0
    for line, result in parsed:
        read += 1
        if isinstance(result, list):
            refused += 1
            bad.extend(BadRow(line, f, r) for f, r in result[: max(0, max_bad - len(bad))])
            continue
        if result[0] in rows:
            duplicates += 1
            del rows[result[0]]  # re-insert so the order is that of the later row
        rows[result[0]] = result
    return Collected(
        rows=tuple(ManifestRow(*v) for v in rows.values()),
        bad_rows=tuple(bad),
        rows_read=read,
        rows_bad=refused,
        duplicates=duplicates,
    )
