"""Scenario files: validation with file/line/key, and rate windows."""

from __future__ import annotations

from pathlib import Path

import pytest

from plc_configs.loader import load_line_config
from simulators.measure.devices import measure_devices
from simulators.measure.faults import Fault
from simulators.scenario import (
    Scenario,
    ScenarioError,
    load_line_scenario,
    load_scenario,
    parse_scenario,
)

GOOD = """\
faults:
  - {device: scale, fault: unstable, rate: 0.5, from_s: 10, to_s: 20}
  - {device: scale, fault: unstable, rate: 0.8, from_s: 15, to_s: 16}
  - {device: dim, fault: disconnect, rate: 0.05}
  - {device: "*", fault: garbage, rate: 0.1, from_s: 60}
"""


def test_rates_follow_the_windows_and_take_the_max():
    s = parse_scenario(GOOD)
    assert s.rate("scale", Fault.UNSTABLE, 5) == 0.0
    assert s.rate("scale", Fault.UNSTABLE, 10) == 0.5
    assert s.rate("scale", "unstable", 15.5) == 0.8
    assert s.rate("scale", Fault.UNSTABLE, 20) == 0.0  # to_s is exclusive
    assert s.rate("scale", Fault.UNSTABLE, 12, config_rate=0.6) == 0.6
    assert s.rate("scale", Fault.UNSTABLE, 5, config_rate=0.1) == 0.1
    assert s.rate("dim", Fault.DISCONNECT, 1e6) == 0.05
    assert s.rate("dim", Fault.UNSTABLE, 12) == 0.0
    assert s.rate("other", Fault.GARBAGE, 59) == 0.0
    assert s.rate("other", Fault.GARBAGE, 60) == 0.1


def test_bare_list_and_empty_file():
    s = parse_scenario("- {device: scale, fault: split, rate: 1}\n")
    assert s.rate("scale", Fault.SPLIT, 0) == 1.0
    assert parse_scenario("") == Scenario()


def test_every_problem_with_file_line_and_key():
    text = """\
faults:
  - {device: scale, fault: unstabel, rate: 0.5}
  - device: scale
    fault: split
    rate: 1.5
  - {device: scale, fault: split, rate: 0.1, from_s: 5, to_s: 5}
  - {device: scale, fault: split, rate: 0.1, colour: red}
"""
    with pytest.raises(ScenarioError) as info:
        parse_scenario(text, "scn.yaml")
    problems = info.value.problems
    assert len(problems) == 4, problems
    assert problems[0].startswith("scn.yaml:2: faults.0.fault: ") and "unstabel" in problems[0]
    assert problems[1].startswith("scn.yaml:5: faults.1.rate: ") and "1.5" in problems[1]
    assert problems[2].startswith("scn.yaml:6: faults.2: to_s (5.0) must be after from_s")
    assert problems[3].startswith("scn.yaml:7: faults.3.colour: unknown key")


def test_unknown_device_is_named():
    with pytest.raises(
        ScenarioError,
        match=r"x.yaml:2: faults.1.device: no scale or dimensioner "
        r"named 'scael' \(known: dim, scale\)",
    ):
        parse_scenario(
            "- {device: scale, fault: split, rate: 1}\n- {device: scael, fault: split, rate: 1}\n",
            "x.yaml",
            devices=["scale", "dim"],
        )


def test_not_yaml_and_not_a_mapping():
    with pytest.raises(ScenarioError, match="not valid YAML"):
        parse_scenario("faults: [", "s.yaml")
    with pytest.raises(ScenarioError, match="expected a mapping"):
        parse_scenario("42", "s.yaml")


def test_load_relative_to_the_config_folder(tmp_path):
    (tmp_path / "scenarios").mkdir()
    (tmp_path / "scenarios" / "a.yaml").write_text(GOOD)
    s = load_scenario("scenarios/a.yaml", tmp_path)
    assert len(s.faults) == 4
    with pytest.raises(ScenarioError, match=r"missing.yaml: cannot read"):
        load_scenario("missing.yaml", tmp_path)


CHUTES_AND_VOLUMES = """\
chutes:
  - {at_s: 30, chute: 5, fault: jam, seconds: 10}
  - {at_s: 35, chute: 2, fault: jam}
volumes:
  - {at_s: 20, routes_share: 0.2, factor: 1.3}
"""


def test_chute_jams_and_volume_shifts_parse():
    s = parse_scenario(CHUTES_AND_VOLUMES, chutes=[2, 5], route_plan=True)
    assert [(c.at_s, c.chute, c.fault, c.seconds) for c in s.chutes] == [
        (30, 5, "jam", 10),
        (35, 2, "jam", None),
    ]
    assert [(v.at_s, v.routes_share, v.factor) for v in s.volumes] == [(20, 0.2, 1.3)]
    assert s.jammed_chutes(29.9) == frozenset()
    assert s.jammed_chutes(30) == {5}
    assert s.jammed_chutes(36) == {2, 5}
    assert s.jammed_chutes(40) == {2}  # 30 + 10 s: chute 5 free again
    assert s.jammed_chutes(1e9) == {2}


def test_unknown_chute_and_volumes_without_route_plan_name_file_line_key():
    with pytest.raises(ScenarioError) as info:
        parse_scenario(CHUTES_AND_VOLUMES, "scn.yaml", chutes=[1, 2, 3], route_plan=False)
    assert info.value.problems == [
        "scn.yaml:2: chutes.0.chute: no chute 5 in topology.chutes (known: 1, 2, 3)",
        "scn.yaml:5: volumes.0: volume shifts need simulation.route_plan in the line config",
    ]


def test_bad_chute_and_volume_entries_name_file_line_key():
    text = """\
chutes:
  - {at_s: 1, chute: 2, fault: fire}
  - {at_s: 1, chute: 2, fault: jam, seconds: 0}
volumes:
  - at_s: 1
    routes_share: 1.5
    factor: 2
  - {at_s: 1, factor: 2}
"""
    with pytest.raises(ScenarioError) as info:
        parse_scenario(text, "v.yaml")
    problems = info.value.problems
    assert len(problems) == 4, problems
    assert problems[0].startswith("v.yaml:2: chutes.0.fault: ") and "fire" in problems[0]
    assert problems[1].startswith("v.yaml:3: chutes.1.seconds: ")
    assert problems[2].startswith("v.yaml:6: volumes.0.routes_share: ")
    assert problems[3] == "v.yaml:8: volumes.1.routes_share: required key is missing"


def test_route_plan_demo_scenario_fits_the_route_plan_demo_line():
    configs = Path(__file__).parents[2] / "plc_configs"
    config = load_line_config(configs / "demo-line-routeplan.yaml")
    config = config.model_copy(
        update={
            "simulation": config.simulation.model_copy(
                update={"scenario": "scenarios/routeplan-replan.yaml"}
            )
        }
    )
    s = load_line_scenario(config, configs, measure_devices(config))
    assert {c.chute for c in s.chutes} == {5, 12} and len(s.volumes) == 1
