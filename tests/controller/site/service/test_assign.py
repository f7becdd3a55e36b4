"""Route → line assignment and the split of manifests and route plans (no I/O)."""

from __future__ import annotations

import csv
import io
import json

import pytest

from controller.site.service.assign import RouteAssigner, split_manifest, split_route_plan
from controller.site.service.errors import SplitError
from plc_configs.site import RoutesSection

ASSIGNER = RouteAssigner(
    RoutesSection(
        map={"R01": "north", "S99": "north"},
        prefixes={"S": "south", "S1": "east"},
        patterns={"X[0-9]+": "east"},
    )
)


def test_map_then_longest_prefix_then_pattern_then_default() -> None:
    assert ASSIGNER.line_for("R01") == "north"
    assert ASSIGNER.line_for("S99") == "north"  # the map beats the prefix
    assert ASSIGNER.line_for("S2") == "south"
    assert ASSIGNER.line_for("S17") == "east"  # the longer prefix wins
    assert ASSIGNER.line_for("X12") == "east"
    assert ASSIGNER.line_for("X12a") is None  # a pattern matches the whole route
    assert ASSIGNER.line_for("R02") is None
    with_default = RouteAssigner(RoutesSection(map={"A": "x"}, default="y"))
    assert with_default.line_for("B") == "y"


def test_csv_split_keeps_the_header_and_counts_unassigned() -> None:
    body = (
        b"barcode,route,stop_sequence,consignee\n"
        b"B1,R01,1,Acme\n"
        b'B2,S2,2,"Smith, J."\n'
        b"B3,R02,,\n"
        b"B4,S17,3,\n"
        b"B5,R02,,\n"
    )
    split = split_manifest(body, "csv", ASSIGNER)
    assert split.rows == 5
    assert split.unassigned == {"R02": 2}
    assert {line: p.rows for line, p in split.parts.items()} == {
        "north": 1,
        "south": 1,
        "east": 1,
    }
    south = list(csv.reader(io.StringIO(split.parts["south"].body.decode())))
    assert south == [
        ["barcode", "route", "stop_sequence", "consignee"],
        ["B2", "S2", "2", "Smith, J."],
    ]
    assert split.parts["south"].media_type == "text/csv"


def test_ndjson_and_json_split() -> None:
    rows = [{"barcode": f"B{i}", "route": r} for i, r in enumerate(["R01", "S2", "R01", "Q"])]
    nd = "\n".join(json.dumps(r) for r in rows).encode()
    split = split_manifest(nd, "ndjson", ASSIGNER)
    north = [json.loads(x) for x in split.parts["north"].body.decode().splitlines()]
    assert [r["barcode"] for r in north] == ["B0", "B2"]
    assert split.unassigned == {"Q": 1}
    for body in (json.dumps(rows), json.dumps({"parcels": rows})):
        split = split_manifest(body.encode(), "json", ASSIGNER)
        part = json.loads(split.parts["north"].body)
        assert part == {"parcels": [rows[0], rows[2]]}
        assert split.parts["south"].rows == 1 and split.rows == 4


def test_rows_without_a_route_are_bad_and_nothing_is_split() -> None:
    with pytest.raises(SplitError) as info:
        split_manifest(
            b'{"barcode": "A", "route": "R01"}\n{"barcode": "B"}\n\n[1]\n', "ndjson", ASSIGNER
        )
    assert info.value.problems == [
        {"field": "line 2.route", "reason": "a route is needed (text)"},
        {"field": "line 4.route", "reason": "a route is needed (text)"},
    ]
    with pytest.raises(SplitError, match="no route column"):
        split_manifest(b"barcode,chute\nA,1\n", "csv", ASSIGNER)
    with pytest.raises(SplitError) as info:
        split_manifest(b"barcode,route\nA,R01\nB,\n", "csv", ASSIGNER)
    assert info.value.problems == [{"field": "line 3.route", "reason": "a route is needed (text)"}]
    with pytest.raises(SplitError, match="not JSON"):
        split_manifest(b"{", "json", ASSIGNER)


def test_route_plan_split_gives_each_line_its_routes_and_their_trucks() -> None:
    plan = {
        "trucks": [{"id": "T1", "door": "D1"}, {"id": "T2", "door": "D2"}, {"id": "T3"}],
        "routes": [
            {"id": "R01", "truck": "T1", "stops": []},
            {"id": "S2", "truck": "T2", "stops": []},
            {"id": "S3", "truck": "T1", "stops": []},
            {"id": "Q9", "truck": "T2", "stops": []},
        ],
        "reason": "wave 2",
    }
    split = split_route_plan(plan, ASSIGNER, ["north", "south", "west"])
    assert [r["id"] for r in split.parts["north"]["routes"]] == ["R01"]
    assert [t["id"] for t in split.parts["north"]["trucks"]] == ["T1"]
    assert [r["id"] for r in split.parts["south"]["routes"]] == ["S2", "S3"]
    assert [t["id"] for t in split.parts["south"]["trucks"]] == ["T1", "T2"]
    assert split.parts["west"] == {"trucks": [], "routes": [], "reason": "wave 2"}
    assert split.unassigned_routes == ["Q9"]
    assert split.unassigned_trucks == ["T3"]
    with pytest.raises(SplitError) as info:
        split_route_plan({"routes": [{"truck": "T1"}], "trucks": []}, ASSIGNER, ["north"])
    assert info.value.problems == [{"field": "body.routes.0.id", "reason": "a route needs an id"}]
