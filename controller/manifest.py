"""The TMS manifest: which delivery route each barcode belongs to.

Issue 2 loads it from a CSV file (``barcode,route`` and optional further
columns); the REST API of a later issue writes the same table. Loading runs in a
thread so a large file never blocks the event loop.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from controller.errors import ManifestError

REQUIRED_COLUMNS = ("barcode", "route")


@dataclass(frozen=True)
class Manifest:
    """Barcode -> route, plus how the file was read."""

    routes: Mapping[str, str]
    source: str
    skipped_rows: tuple[str, ...] = ()

    def route_of(self, barcode: str) -> str | None:
        """The route of ``barcode``, or None when the TMS did not send it."""
        return self.routes.get(barcode)

    def __len__(self) -> int:
        return len(self.routes)


def load_manifest(path: str | Path) -> Manifest:
    """Read a manifest CSV. Bad rows are skipped and reported; a bad header is an error."""
    path = Path(path)
    routes: dict[str, str] = {}
    skipped: list[str] = []
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            header = reader.fieldnames or []
            missing = [c for c in REQUIRED_COLUMNS if c not in header]
            if missing:
                raise ManifestError(
                    f"{path}:1: expected columns {', '.join(REQUIRED_COLUMNS)}; "
                    f"missing {', '.join(missing)} (header is {','.join(header) or 'empty'})"
                )
            for row in reader:
                barcode = (row.get("barcode") or "").strip()
                route = (row.get("route") or "").strip()
                if not barcode or not route:
                    skipped.append(f"{path}:{reader.line_num}: empty barcode or route")
                    continue
                previous = routes.get(barcode)
                if previous is not None and previous != route:
                    skipped.append(
                        f"{path}:{reader.line_num}: barcode {barcode} already on route "
                        f"{previous}; kept {previous}, ignored {route}"
                    )
                    continue
                routes[barcode] = route
    except OSError as err:
        raise ManifestError(f"{path}: cannot read the manifest: {err.strerror}") from err
    except (UnicodeDecodeError, csv.Error) as err:
        raise ManifestError(f"{path}: not a UTF-8 CSV file: {err}") from err
    return Manifest(routes=routes, source=str(path), skipped_rows=tuple(skipped))
