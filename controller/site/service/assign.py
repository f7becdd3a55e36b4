"""Route → line assignment, and manifests and route plans split by it (pure, no I/O).

A manifest keeps its format: a CSV upload is split into CSV parts with the same header,
NDJSON into NDJSON, JSON into ``{"parcels": [...]}``; each line checks its part's rows
itself, as if the TMS had sent it directly. The site only needs each row's ``route``:
a row without one is a bad row (reported by its line number, nothing is sent), and a row
whose route no rule assigns is unassigned (reported, never dropped silently).
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass, field
from typing import Any

from controller.site.service.errors import SplitError
from plc_configs.site import RoutesSection


class RouteAssigner:
    """Which line sorts a route: map, longest prefix, first pattern, default."""

    def __init__(self, routes: RoutesSection):
        self.routes = routes
        self._prefixes = sorted(routes.prefixes.items(), key=lambda kv: -len(kv[0]))
        self._patterns = [(re.compile(p), line) for p, line in routes.patterns.items()]

    def line_for(self, route: str) -> str | None:
        """The line of ``route``, or None when no rule assigns it."""
        line = self.routes.map.get(route)
        if line is not None:
            return line
        for prefix, line in self._prefixes:
            if route.startswith(prefix):
                return line
        for pattern, line in self._patterns:
            if pattern.fullmatch(route):
                return line
        return self.routes.default


@dataclass
class ManifestPart:
    """One line's rows of a manifest, ready to send."""

    media_type: str
    rows: int = 0
    chunks: list[str] = field(default_factory=list)

    @property
    def body(self) -> bytes:
        """The part's body in its format."""
        if self.media_type == "application/json":
            return ('{"parcels": [' + ",".join(self.chunks) + "]}").encode()
        return "".join(self.chunks).encode()


@dataclass
class ManifestSplit:
    """A manifest by line, and the rows no line takes (route → number of rows)."""

    parts: dict[str, ManifestPart]
    unassigned: dict[str, int]
    rows: int


_MEDIA = {"csv": "text/csv", "ndjson": "application/x-ndjson", "json": "application/json"}


def split_manifest(body: bytes, fmt: str, assigner: RouteAssigner) -> ManifestSplit:
    """Split a manifest upload (``fmt``: csv, ndjson or json) by line.

    Raises :class:`SplitError` listing every row without a usable route (by its
    line number, or ``item N`` in JSON), or when the body cannot be read at all.
    """
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise SplitError(f"the manifest is not UTF-8 text (byte {err.start})") from err
    if fmt == "csv":
        rows = _csv_rows(text)
    elif fmt == "ndjson":
        rows = _ndjson_rows(text)
    else:
        rows = _json_rows(text)
    parts: dict[str, ManifestPart] = {}
    unassigned: dict[str, int] = {}
    bad: list[dict[str, str]] = []
    header = rows.pop(0)[1] if fmt == "csv" else ""
    count = 0
    for where, chunk, route in rows:
        count += 1
        if not isinstance(route, str) or not route.strip():
            bad.append({"field": f"{where}.route", "reason": "a route is needed (text)"})
            continue
        line = assigner.line_for(route)
        if line is None:
            unassigned[route] = unassigned.get(route, 0) + 1
            continue
        part = parts.get(line)
        if part is None:
            part = parts[line] = ManifestPart(_MEDIA[fmt], chunks=[header] if header else [])
        part.chunks.append(chunk)
        part.rows += 1
    if bad:
        raise SplitError(f"{len(bad)} rows without a route; nothing was sent to any line", bad)
    return ManifestSplit(parts, unassigned, count)


Row = tuple[str, str, Any]
"""Where a row is (``line 7``, ``item 3``), its text in its format, and its route."""


def _csv_rows(text: str) -> list[Row]:
    reader = csv.reader(io.StringIO(text))
    try:
        header = next(reader)
    except StopIteration as err:
        raise SplitError("the CSV manifest is empty") from err
    names = [h.strip().lower() for h in header]
    if "route" not in names:
        raise SplitError(
            "the CSV header has no route column (expected at least barcode,route)",
            [{"field": "line 1", "reason": "no route column"}],
        )
    at = names.index("route")
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    rows: list[Row] = [("line 1", out.getvalue(), None)]
    for record in reader:
        if not any(v.strip() for v in record):
            continue
        out.seek(0)
        out.truncate()
        writer.writerow(record)
        route = record[at].strip() if at < len(record) else None
        rows.append((f"line {reader.line_num}", out.getvalue(), route))
    return rows


def _ndjson_rows(text: str) -> list[Row]:
    rows: list[Row] = []
    bad: list[dict[str, str]] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            row = json.loads(raw)
        except json.JSONDecodeError as err:
            bad.append({"field": f"line {number}", "reason": f"not JSON: {err.msg}"})
            continue
        route = row.get("route") if isinstance(row, dict) else None
        rows.append((f"line {number}", raw.strip() + "\n", route))
    if bad:
        raise SplitError(f"{len(bad)} lines are not JSON; nothing was sent", bad)
    return rows


def _json_rows(text: str) -> list[Row]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise SplitError(f"the body is not JSON: {err.msg} at line {err.lineno}") from err
    if isinstance(data, dict) and set(data) == {"parcels"}:
        data = data["parcels"]
    if not isinstance(data, list):
        raise SplitError('expected a JSON array of rows or {"parcels": [...]}')
    return [
        (f"item {i}", json.dumps(row), row.get("route") if isinstance(row, dict) else None)
        for i, row in enumerate(data)
    ]


@dataclass
class RoutePlanSplit:
    """A route plan by line, and what no line takes."""

    parts: dict[str, dict[str, Any]]
    unassigned_routes: list[str]
    unassigned_trucks: list[str]


def split_route_plan(
    plan: dict[str, Any], assigner: RouteAssigner, lines: list[str]
) -> RoutePlanSplit:
    """Each line's routes with the trucks they name (every line gets a part, maybe empty:
    the site's plan replaces each line's whole plan). A truck that no assigned route names
    is unassigned; a truck named by routes of two lines goes to both (its door must exist
    on each, which each line checks). ``reason`` is passed on; malformed routes and trucks
    (not objects, no id) are left to the lines to refuse, under the default line if any."""
    trucks = plan.get("trucks") or []
    routes = plan.get("routes") or []
    if not isinstance(trucks, list) or not isinstance(routes, list):
        raise SplitError(
            "the route plan needs trucks and routes as lists",
            [{"field": "body.trucks", "reason": "expected a list"}]
            if not isinstance(trucks, list)
            else [{"field": "body.routes", "reason": "expected a list"}],
        )
    parts: dict[str, dict[str, Any]] = {
        line: {"trucks": [], "routes": [], "reason": plan.get("reason")} for line in lines
    }
    unassigned_routes: list[str] = []
    bad: list[dict[str, str]] = []
    used: dict[str, set[str]] = {}
    for index, route in enumerate(routes):
        route_id = route.get("id") if isinstance(route, dict) else None
        if not isinstance(route_id, str) or not route_id:
            bad.append({"field": f"body.routes.{index}.id", "reason": "a route needs an id"})
            continue
        line = assigner.line_for(route_id)
        if line is None:
            unassigned_routes.append(route_id)
            continue
        parts[line]["routes"].append(route)
        truck = route.get("truck")
        if isinstance(truck, str):
            used.setdefault(truck, set()).add(line)
    unassigned_trucks: list[str] = []
    for index, truck in enumerate(trucks):
        truck_id = truck.get("id") if isinstance(truck, dict) else None
        if not isinstance(truck_id, str) or not truck_id:
            bad.append({"field": f"body.trucks.{index}.id", "reason": "a truck needs an id"})
            continue
        owners = used.get(truck_id)
        if not owners:
            unassigned_trucks.append(truck_id)
        for line in sorted(owners or ()):
            parts[line]["trucks"].append(truck)
    if bad:
        raise SplitError(f"the route plan is invalid ({len(bad)} problems)", bad)
    return RoutePlanSplit(parts, unassigned_routes, unassigned_trucks)
