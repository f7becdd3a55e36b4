import json
from pathlib import Path

import jsonschema_rs
import pytest

from controller.errors import PlanningError
from controller.sortplan.generate import generate
from controller.sortplan.instance import instance_as_dict, parse_instance


def small() -> dict:
    return {
        "chutes": [
            {"id": 1, "position_mm": 0, "capacity": 100},
            {"id": 2, "position_mm": 600, "capacity": 100, "enabled": False},
            {"id": 3, "position_mm": 1200, "capacity": 100},
        ],
        "doors": [{"id": "D01", "position_mm": 500}],
        "trucks": [{"id": "T01", "door": "D01"}],
        "routes": [
            {"id": "R1", "truck": "T01", "volume": 80},
            {"id": "R2", "truck": "T01", "volume": 30},
        ],
    }


def test_a_valid_instance_is_read_and_written_back_the_same():
    instance = parse_instance(small())
    assert [c.id for c in instance.enabled] == [1, 3]
    assert instance.truck_volume() == {"T01": 110}
    assert instance.current_plan is None and instance.time_limit_s == 10.0
    again = parse_instance(instance_as_dict(instance))
    assert again == instance
    big = generate("B-1000")
    assert parse_instance(instance_as_dict(big)) == big


@pytest.mark.parametrize(
    ("change", "field", "why"),
    [
        (lambda d: d["chutes"][0].update(id="one"), "chutes[0].id", "expected a number"),
        (lambda d: d["chutes"][1].update(capacity=0), "chutes[1].capacity", "1 or more"),
        (lambda d: d["chutes"][2].update(id=1), "chutes[2].id", "given twice"),
        (lambda d: d["chutes"][0].update(colour="red"), "chutes[0].colour", "unknown field"),
        (lambda d: d["trucks"][0].update(door="D09"), "trucks[0].door", "no door 'D09'"),
        (lambda d: d["routes"][1].update(truck="T02"), "routes[1].truck", "no truck 'T02'"),
        (lambda d: d["routes"][0].update(volume=-1), "routes[0].volume", "0 or more"),
        (lambda d: d["routes"][0].update(volume=1.5), "routes[0].volume", "whole number"),
        (lambda d: d.update(doors=[]), "doors", "non-empty array"),
        (lambda d: d.update(current_plan={"R1": ["3"]}), "current_plan.R1", "chute ids"),
        (lambda d: d.update(time_limit_s=9999), "time_limit_s", "at most"),
        (lambda d: d.update(extra=1), "instance.extra", "unknown field"),
    ],
)
def test_each_problem_is_reported_by_its_field(change, field, why):
    data = small()
    change(data)
    with pytest.raises(PlanningError) as caught:
        parse_instance(data)
    assert why in caught.value.problems[field]


def test_every_problem_is_reported_at_once_and_a_truck_without_route_is_one():
    data = small()
    data["chutes"][0]["position_mm"] = "far"
    data["trucks"].append({"id": "T02", "door": "D01"})
    with pytest.raises(PlanningError) as caught:
        parse_instance(data)
    assert set(caught.value.problems) == {"chutes[0].position_mm", "trucks[1]"}
    assert "has no route" in caught.value.problems["trucks[1]"]


def test_not_an_object_is_refused():
    with pytest.raises(PlanningError, match="expected a JSON object"):
        parse_instance([1, 2])


SCHEMA = Path(__file__).resolve().parents[3] / "docs" / "sortplan-instance.schema.json"


@pytest.mark.parametrize("name", ["A-325", "B-1000"])
def test_the_documented_schema_accepts_what_the_reader_reads(name):
    validator = jsonschema_rs.validator_for(json.loads(SCHEMA.read_text()))
    data = instance_as_dict(generate(name))
    data["current_plan"] = {"R0001": [1, 2]}
    assert validator.is_valid(data)
    assert validator.is_valid(small())


def test_the_documented_schema_refuses_what_the_reader_refuses():
    validator = jsonschema_rs.validator_for(json.loads(SCHEMA.read_text()))
    for change in (
        lambda d: d["chutes"][0].update(capacity=0),
        lambda d: d["routes"][0].update(volume=1.5),
        lambda d: d.update(extra=1),
        lambda d: d.pop("doors"),
    ):
        data = small()
        change(data)
        assert not validator.is_valid(data)
        with pytest.raises(PlanningError):
            parse_instance(data)
