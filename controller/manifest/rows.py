"""Manifest rows from the TMS: the row model, its validation and the CSV/NDJSON/JSON parsers.

Shared by the bulk importer (:mod:`controller.manifest.importer`, in its own
process) and the synchronous small-JSON path of the REST API (:func:`collect`).

Rules (after stripping surrounding whitespace; an empty optional value is absent):

============== ======== =====================================================
field          required rule
============== ======== =====================================================
barcode        yes      1-64 characters, printable, no whitespace
route          yes      1-64 characters, no control characters
stop_sequence  no       integer 0..2147483647 (CSV: ASCII digits)
consignee      no       at most 200 characters, no control characters
postal_code    no       at most 16 characters of ``A-Z a-z 0-9``, space, ``-``
service_level  no       at most 32 characters, no control characters
============== ======== =====================================================

"Control characters" are C0, DEL, C1, the line/paragraph separators and lone
surrogates (bytes that were not UTF-8 arrive as ``U+DC80..U+DCFF`` and are
reported as such). Validation is hand-written, not pydantic: it runs once per
row of files with millions of rows.

The parsers yield ``(line, result)``: ``result`` is either a tuple of the six
values in :data:`FIELDS` order (``ManifestRow(*result)`` builds the row) or a
list of ``(field, reason)`` problems. ``line`` is the physical line of the file
(CSV: the line where the record starts, the header is line 1; NDJSON: the
line), and for JSON the 0-based index of the item in the array (``item 17``).
A header or document-shape error raises :class:`~controller.errors.ManifestError`.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass
from typing import IO, Any

from controller.errors import ManifestError

#: Every field of a row, in column order.
FIELDS = ("barcode", "route", "stop_sequence", "consignee", "postal_code", "service_level")
#: The fields every row must have.
REQUIRED = ("barcode", "route")
#: Largest accepted stop sequence (fits every SQL integer type).
MAX_STOP = 2**31 - 1
#: Formats the parsers understand.
FORMATS = ("csv", "ndjson", "json")

Problem = tuple[str, str]
"""``(field, reason)``: why one field of a row was refused (field ``row`` for the whole row)."""
RowValues = tuple[str, str, int | None, str | None, str | None, str | None]
"""The six values of a valid row in :data:`FIELDS` order."""
Parsed = tuple[int, RowValues | list[Problem]]
"""What the parsers yield: the line (or JSON item index) and the row or its problems."""

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")
_FIELD_SET = frozenset(FIELDS)


@dataclass(frozen=True, slots=True)
class ManifestRow:
    """One parcel of a TMS manifest: which route (and stop) its barcode belongs to."""

    barcode: str
    route: str
    stop_sequence: int | None = None
    consignee: str | None = None
    postal_code: str | None = None
    service_level: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """The row as a JSON-ready dict."""
        return asdict(self)

    def values(self) -> RowValues:
        """The six values in :data:`FIELDS` order."""
        return tuple(getattr(self, name) for name in FIELDS)  # type: ignore[return-value]


@dataclass(frozen=True, slots=True)
class BadRow:
    """One refused field of one row: ``line`` is the file line (JSON: the item index)."""

    line: int
    field: str
    reason: str

    def as_dict(self) -> dict[str, Any]:
        """``{"line", "field", "reason"}``."""
        return {"line": self.line, "field": self.field, "reason": self.reason}


def _show(value: str, limit: int = 24) -> str:
    """A value quoted for a message, shortened so a reason never echoes a huge field."""
    return repr(value if len(value) <= limit else value[:limit] + "…")


def _bad_char(value: str) -> str | None:
    """Why ``value`` contains a forbidden character, or None."""
    found = _CONTROL.search(value)
    if found is None:
        return None
    char = found.group()
    if "\udc80" <= char <= "\udcff":
        return f"is not valid UTF-8 (byte 0x{ord(char) - 0xDC00:02X} at position {found.start()})"
    return f"contains a control character (U+{ord(char):04X}) at position {found.start()}"


def _text(value: object, field: str, limit: int, problems: list[Problem]) -> str | None:
    """A stripped string field (None when absent or empty), or a problem appended."""
    if value is None:
        return None
    if type(value) is not str:
        problems.append((field, f"must be a string, not {type(value).__name__}"))
        return None
    value = value.strip()
    if not value:
        return None
    if len(value) > limit:
        problems.append((field, f"is {len(value)} characters long; at most {limit}"))
        return None
    why = _bad_char(value)
    if why is not None:
        problems.append((field, why))
        return None
    return value


def _barcode(value: object, problems: list[Problem]) -> str | None:
    """The barcode, or a problem appended."""
    if type(value) is str:
        value = value.strip()
        if 0 < len(value) <= 64 and value.isprintable() and " " not in value:
            return value
    if value is None or value == "":
        problems.append(("barcode", "is required"))
    elif type(value) is not str:
        problems.append(("barcode", f"must be a string, not {type(value).__name__}"))
    elif len(value) > 64:
        problems.append(("barcode", f"is {len(value)} characters long; at most 64"))
    else:
        why = _bad_char(value)
        if why is None:
            bad = next(c for c in value if c == " " or not c.isprintable())
            kind = "whitespace" if bad.isspace() else "a non-printing character"
            why = f"contains {kind} (U+{ord(bad):04X}) at position {value.index(bad)}"
        problems.append(("barcode", why))
    return None


def _stop(value: object, text: bool, problems: list[Problem]) -> int | None:
    """The stop sequence (CSV text or a JSON integer), or a problem appended."""
    if value is None:
        return None
    if type(value) is str and text:
        value = value.strip()
        if not value:
            return None
        if not (value.isascii() and value.isdigit()):
            negative = value[:1] == "-" and value[1:].isascii() and value[1:].isdigit()
            why = "must be 0 or more" if negative else f"must be an integer, not {_show(value)}"
            problems.append(("stop_sequence", why))
            return None
        if len(value) > 10:
            problems.append(("stop_sequence", f"is larger than {MAX_STOP}"))
            return None
        value = int(value)
    elif type(value) is not int:
        problems.append(("stop_sequence", f"must be an integer, not {type(value).__name__}"))
        return None
    if value < 0:
        problems.append(("stop_sequence", "must be 0 or more"))
        return None
    if value > MAX_STOP:
        problems.append(("stop_sequence", f"is larger than {MAX_STOP}"))
        return None
    return value


def check(
    barcode: object,
    route: object,
    stop_sequence: object = None,
    consignee: object = None,
    postal_code: object = None,
    service_level: object = None,
    *,
    text: bool = False,
) -> RowValues | list[Problem]:
    """Validate one row's values: the cleaned values, or every problem found.

    ``text`` says the values come from CSV text (``stop_sequence`` is then parsed
    from ASCII digits); otherwise the types are JSON's (integer, string, null).
    """
    problems: list[Problem] = []
    code = _barcode(barcode, problems)
    before = len(problems)
    way = _text(route, "route", 64, problems)
    if way is None and len(problems) == before:
        problems.append(("route", "is required"))
    stop = _stop(stop_sequence, text, problems)
    name = _text(consignee, "consignee", 200, problems)
    postal = _text(postal_code, "postal_code", 16, problems)
    if postal is not None and not _postal_ok(postal):
        problems.append(("postal_code", f"may hold only A-Z, 0-9, space and '-': {_show(postal)}"))
    level = _text(service_level, "service_level", 32, problems)
    if problems:
        return problems
    return (code, way, stop, name, postal, level)  # type: ignore[return-value]


def _postal_ok(postal: str) -> bool:
    """True if ``postal`` holds only ASCII letters, digits, spaces and '-'."""
    rest = postal.replace(" ", "").replace("-", "")
    return postal.isascii() and (rest.isalnum() or not rest)


def check_text(
    barcode: str, route: str, stop: str, consignee: str, postal: str, service: str
) -> RowValues | list[Problem]:
    """:func:`check` for six CSV strings (``""`` for a missing column), fast for clean rows.

    A clean row (every character printable) is checked in a few string
    operations; anything unusual falls back to :func:`check`, which finds every problem.
    """
    if "".join((barcode, route, stop, consignee, postal, service)).isprintable():
        code, way = barcode.strip(), route.strip()
        if 0 < len(code) <= 64 and 0 < len(way) <= 64 and " " not in code:
            number: int | None = None
            stop_text = stop.strip()
            if stop_text and len(stop_text) <= 10 and stop_text.isascii() and stop_text.isdigit():
                number = int(stop_text)
            if (number is not None and number <= MAX_STOP) or not stop_text:
                name = consignee.strip() or None
                post = postal.strip() or None
                level = service.strip() or None
                if (
                    (name is None or len(name) <= 200)
                    and (level is None or len(level) <= 32)
                    and (post is None or (len(post) <= 16 and _postal_ok(post)))
                ):
                    return (code, way, number, name, post, level)
    return check(barcode, route, stop, consignee, postal, service, text=True)


def validate_row(values: Mapping[str, object]) -> ManifestRow | list[Problem]:
    """Validate one JSON object: a :class:`ManifestRow`, or every ``(field, reason)``.

    A key that is not in :data:`FIELDS` is a problem of that field ("unknown field").
    """
    result = _item(values)
    return result if isinstance(result, list) else ManifestRow(*result)


def _item(item: object) -> RowValues | list[Problem]:
    """Validate one decoded JSON value that should be a row object."""
    if not isinstance(item, Mapping):
        return [("row", f"expected a JSON object, not {type(item).__name__}")]
    result = check(*(item.get(f) for f in FIELDS))
    if _FIELD_SET.issuperset(item):
        return result
    unknown = [(str(key)[:64], "unknown field") for key in item if key not in _FIELD_SET]
    return unknown + (result if isinstance(result, list) else [])


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
        yield number, _item(item)


def json_items(document: object) -> list[object]:
    """The items of a JSON manifest: an array of objects, or ``{"parcels": [...]}``."""
    if isinstance(document, list):
        return document
    if isinstance(document, dict) and isinstance(document.get("parcels"), list):
        others = [k for k in document if k != "parcels"]
        if not others:
            return document["parcels"]
        raise ManifestError(f"unknown top-level keys {', '.join(map(_show, others))}")
    raise ManifestError('expected a JSON array of objects or {"parcels": [...]}')


def parse_json(document: object) -> Iterator[Parsed]:
    """Rows of a decoded JSON manifest; the "line" is the item's 0-based index."""
    for index, item in enumerate(json_items(document)):
        yield index, _item(item)


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
