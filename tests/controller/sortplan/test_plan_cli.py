import json

from controller.cli.command import main
from controller.sortplan.figures import check_plan
from controller.sortplan.generate import generate
from controller.sortplan.instance import instance_as_dict, parse_instance


def test_plan_writes_the_plan_and_its_figures(tmp_path, capsys):
    source = tmp_path / "instance.json"
    source.write_text(json.dumps(instance_as_dict(generate("A-325"))))
    out = tmp_path / "plan.json"
    assert main(["plan", "--instance", str(source), "--out", str(out), "--time-limit", "5"]) == 0
    written = json.loads(out.read_text())
    instance = parse_instance(json.loads(source.read_text()))
    assert check_plan(instance, written["plan"]) == {}
    figures = written["figures"]
    assert figures["lower_bound"] <= figures["busiest_load"]
    assert figures["status"] in ("optimal", "feasible", "fallback")
    assert "139 routes on" in capsys.readouterr().err


def test_a_bad_instance_names_its_fields_and_exits_1(tmp_path, capsys):
    source = tmp_path / "instance.json"
    data = instance_as_dict(generate("A-325"))
    data["routes"][5]["truck"] = "T999"
    data["chutes"][0]["capacity"] = -1
    source.write_text(json.dumps(data))
    assert main(["plan", "--instance", str(source)]) == 1
    err = capsys.readouterr().err
    assert "routes[5].truck: no truck 'T999' in trucks" in err
    assert "chutes[0].capacity: must be 1 or more" in err


def test_an_instance_without_a_plan_says_why(tmp_path, capsys):
    data = {
        "chutes": [{"id": i, "position_mm": 600 * i, "capacity": 100} for i in range(1, 4)],
        "doors": [{"id": "D1", "position_mm": 0}],
        "trucks": [{"id": "T1", "door": "D1"}],
        "routes": [{"id": "R1", "truck": "T1", "volume": 450}],
    }
    source = tmp_path / "instance.json"
    source.write_text(json.dumps(data))
    assert main(["plan", "--instance", str(source)]) == 1
    assert "the routes carry 450 parcels; the 3 enabled chutes hold 300" in capsys.readouterr().err


def test_a_missing_or_broken_file_is_a_clear_error(tmp_path, capsys):
    assert main(["plan", "--instance", str(tmp_path / "none.json")]) == 1
    assert "none.json: cannot read" in capsys.readouterr().err
    broken = tmp_path / "broken.json"
    broken.write_text("{")
    assert main(["plan", "--instance", str(broken)]) == 1
    assert "broken.json: not valid JSON" in capsys.readouterr().err
