"""Manifest rows from the TMS: the row model and its validation.

Shared by the parsers (:mod:`controller.manifest.parsers`), the bulk importer
(:mod:`controller.manifest.importer`, in its own process) and the store, which re-checks
every row it writes.

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
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

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


def show_value(value: str, limit: int = 24) -> str:
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
            why = (
                "must be 0 or more" if negative else f"must be an integer, not {show_value(value)}"
            )
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
        problems.append(
            ("postal_code", f"may hold only A-Z, 0-9, space and '-': {show_value(postal)}")
        )
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
    result = check_item(values)
    return result if isinstance(result, list) else ManifestRow(*result)


def check_item(item: object) -> RowValues | list[Problem]:
    """Validate one decoded JSON value that should be a row object."""
    if not isinstance(item, Mapping):
        return [("row", f"expected a JSON object, not {type(item).__name__}")]
    result = check(*(item.get(f) for f in FIELDS))
    if _FIELD_SET.issuperset(item):
        return result
    unknown = [(str(key)[:64], "unknown field") for key in item if key not in _FIELD_SET]
    return unknown + (result if isinstance(result, list) else [])
