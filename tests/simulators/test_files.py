"""Files the simulator writes: manifest columns, the route plan, the truth's stops."""

from __future__ import annotations

import csv
import json

from simulators.files import manifest_csv, truth, write_manifest, write_route_plan
from simulators.twin import LineTwin
from tests.simulators.sim_helpers import make_config

ROUTE_PLAN = {"parcels": 20, "route_plan": {"trucks": 2, "routes_per_truck": 3}}


def test_manifest_with_route_plan_has_stop_and_consignee_columns(tmp_path):
    twin = LineTwin(make_config(simulation=ROUTE_PLAN))
    factory = twin.factory
    path = tmp_path / "m" / "manifest.csv"
    write_manifest(path, factory.manifest_rows(50), factory.manifest_columns)
    with path.open(newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["barcode", "route", "stop_sequence", "consignee"]
    assert len(rows) > 40
    assert factory.plan is not None
    for barcode, route, stop, consignee in rows[1:]:
        stops = {(str(s.sequence), s.consignee) for s in factory.plan.route(route).stops}
        assert (stop, consignee) in stops and barcode.startswith("LS")


def test_manifest_csv_default_header_is_barcode_route():
    assert manifest_csv([("LS1", "A")]) == "barcode,route\nLS1,A\n"


def test_route_plan_file_is_the_tms_json(tmp_path):
    plan = LineTwin(make_config(simulation=ROUTE_PLAN)).factory.plan
    assert plan is not None
    path = tmp_path / "route-plan.json"
    write_route_plan(path, plan)
    assert json.loads(path.read_text()) == plan.as_tms_json()
    assert list(tmp_path.iterdir()) == [path]  # no temporary file left


def test_truth_carries_the_stop_with_a_route_plan_only():
    with_plan = LineTwin(make_config(simulation=ROUTE_PLAN))
    with_plan.advance(1.0, 50_000)
    parcels = truth(with_plan, None)["parcels"]
    assert parcels and all(
        p["consignee"] == f"C-{p['route']}-{p['stop_sequence']}" for p in parcels
    )
    plain = LineTwin(make_config(simulation={"parcels": 5}))
    plain.advance(1.0, 50_000)
    assert all("stop_sequence" not in p for p in truth(plain, None)["parcels"])
