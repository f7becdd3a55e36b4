"""The simulated line applies a scenario's volume shifts and chute jams, and writes the
route plan next to the manifest (constructed only, but for the growing manifest)."""

from __future__ import annotations

import asyncio
import json

import pytest

from simulators.line import SimulatedLine
from simulators.scenario import ScenarioError
from tests.simulators.sim_helpers import make_config

SCENARIO = """\
chutes:
  - {at_s: 3, chute: 2, fault: jam, seconds: 1}
volumes:
  - {at_s: 10, routes_share: 0.5, factor: 3}
"""


def test_route_plan_written_next_to_the_manifest_and_volumes_reach_the_twin(tmp_path):
    (tmp_path / "scn.yaml").write_text(SCENARIO)
    config = make_config(simulation={"scenario": "scn.yaml", "route_plan": {"trucks": 2}})
    line = SimulatedLine(config, any_port=True, config_dir=tmp_path)
    assert [c.chute for c in line.scenario.chutes] == [2]
    factory = line.twin.factory
    assert len(factory.shifted_routes) == 1 and len(factory.shifted_routes[0]) == 4
    manifest = tmp_path / "data" / "manifest.csv"
    plan_path = line.write_manifest(manifest, 10)
    assert plan_path == tmp_path / "data" / "route-plan.json"
    assert factory.plan is not None
    assert json.loads(plan_path.read_text()) == factory.plan.as_tms_json()
    assert manifest.read_text().startswith("barcode,route,stop_sequence,consignee\n")


def test_without_route_plan_no_plan_file_and_volumes_refused(tmp_path):
    line = SimulatedLine(make_config(), any_port=True, config_dir=tmp_path)
    assert line.write_manifest(tmp_path / "manifest.csv", 5) is None
    assert sorted(p.name for p in tmp_path.iterdir()) == ["manifest.csv"]
    (tmp_path / "scn.yaml").write_text(SCENARIO)
    with pytest.raises(ScenarioError) as info:
        SimulatedLine(make_config(simulation={"scenario": "scn.yaml"}), config_dir=tmp_path)
    assert info.value.problems == [
        f"{tmp_path / 'scn.yaml'}:4: volumes.0: volume shifts need simulation.route_plan "
        "in the line config"
    ]


def _manifest_barcodes(path) -> list[str]:
    return [line.split(",")[0] for line in path.read_text().splitlines()[1:]]


async def test_with_a_lookahead_the_manifest_grows_as_the_shift_goes_on(tmp_path):
    """``manifest_lookahead_s``: at first only the parcels created within the lookahead,
    then the file is rewritten with later ones; the rows are the parcels' own."""
    config = make_config(
        simulation={"rate_pph": 3600, "manifest_lookahead_s": 2, "manifest_missing_share": 0}
    )
    line = SimulatedLine(config, any_port=True, config_dir=tmp_path)
    manifest = tmp_path / "manifest.csv"
    line.write_manifest(manifest, 50)
    factory = line.twin.factory
    assert _manifest_barcodes(manifest) == [factory.spec(i).barcode for i in (1, 2)]
    await line.start()
    try:
        for _ in range(40):
            await asyncio.sleep(0.1)
            if len(_manifest_barcodes(manifest)) > 2:
                break
    finally:
        await line.stop()
    grown = _manifest_barcodes(manifest)
    assert 2 < len(grown) < 50
    assert grown == [factory.spec(i).barcode for i in range(1, len(grown) + 1)]
