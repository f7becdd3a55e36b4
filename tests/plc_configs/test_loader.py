import json
from pathlib import Path

import pytest

from plc_configs.loader import LineConfigError, json_schema, load_line_config, parse_line_config

DEMO = Path(__file__).parents[2] / "plc_configs" / "demo-line.yaml"


def _demo_text() -> str:
    return DEMO.read_text()


def test_demo_config_is_valid():
    config = load_line_config(DEMO)
    assert config.plc_name == "sorter"
    assert set(config.readers) == {"tunnel-reader"}
    assert config.topology.reject_chute.id == 32


def _problems(text: str) -> list[str]:
    with pytest.raises(LineConfigError) as info:
        parse_line_config(text, "line.yaml")
    return [str(p) for p in info.value.problems]


def test_every_problem_names_file_line_and_key():
    text = (
        _demo_text()
        .replace("timeout_ms: 500", "timout_ms: 500")
        .replace("capacity: 80}", "capacity: -1}", 1)
    )
    problems = _problems(text)
    assert len(problems) == 2
    typo = next(p for p in problems if "timout_ms" in p)
    assert typo.startswith("line.yaml:")
    assert "devices.sorter.timout_ms: unknown key" in typo
    line_no = int(typo.split(":")[1])
    assert "timout_ms" in text.splitlines()[line_no - 1]
    assert any("topology.chutes.0.capacity" in p and "greater than 0" in p for p in problems)


def test_cross_checks_name_their_key():
    text = _demo_text().replace("R02: [2, 22]", "R02: [2, 99]")
    (problem,) = _problems(text)
    assert "sort_plan.R02: chute 99 is not in topology.chutes" in problem


def test_a_chute_carries_one_route():
    text = _demo_text().replace("R02: [2, 22]", "R02: [2, 1]")
    (problem,) = _problems(text)
    assert "sort_plan.R02: chute 1 is already bound to route R01" in problem


def test_off_is_a_string_and_refused_for_unsortable_incidents():
    (problem,) = _problems(_demo_text().replace("no_read: reject", "no_read: off"))
    assert "incidents.no_read" in problem and "cannot be sorted" in problem


def test_bad_url_says_what_was_expected():
    (problem,) = _problems(
        _demo_text().replace("modbus-tcp://127.0.0.1:15020", "http://127.0.0.1:15020")
    )
    assert "devices.sorter.url" in problem and "modbus-tcp://" in problem


def test_deadline_longer_than_the_belt_allows_is_refused():
    (problem,) = _problems(_demo_text().replace("deadline_ms: 50", "deadline_ms: 900"))
    assert "decision.deadline_ms" in problem and "400 ms" in problem


def test_not_yaml_and_missing_file():
    (problem,) = _problems("line: [unclosed")
    assert "not valid YAML" in problem
    with pytest.raises(LineConfigError, match="cannot read"):
        load_line_config("/nonexistent/line.yaml")


def test_the_demo_line_has_four_dock_doors_and_doors_are_optional():
    doors = load_line_config(DEMO).topology.doors
    assert [d.id for d in doors] == ["D01", "D02", "D03", "D04"]
    assert [d.position_mm for d in doors] == sorted(d.position_mm for d in doors)
    start = _demo_text().index("  doors:")
    end = _demo_text().index("\n\n", start)
    without = _demo_text()[:start] + _demo_text()[end + 1 :]
    assert parse_line_config(without).topology.doors == []


def test_a_repeated_door_id_is_refused_with_its_key():
    text = _demo_text().replace("{id: D03, position_mm: 21500}", "{id: D01, position_mm: 21500}")
    (problem,) = _problems(text)
    assert "topology.doors.2.id: door D01 is also doors.0" in problem
    line_no = int(problem.split(":")[1])
    assert "D01, position_mm: 21500" in text.splitlines()[line_no - 1]


@pytest.mark.parametrize("bad", ["''", "D" * 33])
def test_a_door_id_is_1_to_32_characters(bad):
    (problem,) = _problems(_demo_text().replace("{id: D04,", f"{{id: {bad},"))
    assert "topology.doors.3.id" in problem


def test_committed_json_schema_is_current():
    committed = DEMO.parent / "line-config.schema.json"
    assert json.loads(committed.read_text()) == json.loads(json_schema()), (
        "run: lanesort schema -o plc_configs/line-config.schema.json"
    )


def test_reader_timeout_must_fit_before_the_decision():
    (problem,) = _problems(_demo_text().replace("timeout_ms: 80", "timeout_ms: 900"))
    assert "devices.tunnel-reader.timeout_ms" in problem and "850 ms" in problem


def test_label_patterns_and_route_rules_are_checked():
    text = (
        _demo_text()
        .replace(
            "  route_rules: []",
            "  route_rules:\n    - {route: R99, postal_from: '10000', postal_to: '19999'}",
        )
        .replace("regex: 'LS\\d{10}'", "regex: 'LS(\\d'")
    )
    problems = _problems(text)
    assert any("labels.patterns.0" in p and "does not compile" in p for p in problems)


def test_a_config_can_extend_another_and_remove_keys(tmp_path):
    base = tmp_path / "base.yaml"
    base.write_text(_demo_text())
    child = tmp_path / "child.yaml"
    child.write_text(
        "extends: base.yaml\n"
        "line: {name: child-line}\n"
        "devices:\n"
        "  tunnel-scale: null\n"
        "  tunnel-reader: {timeout_ms: 40}\n"
    )
    config = load_line_config(child)
    assert config.line.name == "child-line"
    assert "tunnel-scale" not in config.devices
    assert config.devices["tunnel-reader"].timeout_ms == 40
    assert config.devices["tunnel-reader"].url == "tcp://127.0.0.1:15023"


def test_problems_in_an_extended_file_name_that_file(tmp_path):
    base = tmp_path / "base.yaml"
    base.write_text(_demo_text().replace("timeout_ms: 500", "timout_ms: 500"))
    child = tmp_path / "child.yaml"
    child.write_text("extends: base.yaml\nline: {name: bad}\n")
    with pytest.raises(LineConfigError) as info:
        load_line_config(child)
    (problem,) = info.value.problems
    assert problem.file == str(base.resolve()) and problem.key == "devices.sorter.timout_ms"
    child.write_text("extends: missing.yaml\n")
    with pytest.raises(LineConfigError, match="extends: cannot read"):
        load_line_config(child)


def test_every_line_config_in_plc_configs_loads():
    # demo-site.yaml is a site config (tests/plc_configs/test_site_config.py).
    configs = sorted(p for p in DEMO.parent.glob("*.yaml") if not p.name.endswith("-site.yaml"))
    assert DEMO.parent / "demo-line-routeplan.yaml" in configs
    for path in configs:
        config = load_line_config(path)
        assert config.topology.chutes, path


def test_route_plan_demo_routes_one_chute_each():
    config = load_line_config(DEMO.parent / "demo-line-routeplan.yaml")
    plan = config.simulation.route_plan
    assert plan is not None and plan.route_count == 24
    assert config.sort_plan == {f"R{i:03d}": [i] for i in range(1, 25)}
