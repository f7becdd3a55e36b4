import pytest

from controller.sortplan.plan import apply_patch, chutes_mixing_trucks, diff_plans, validate_plan

CHUTES = range(1, 9)
REJECT = 9


def test_a_valid_plan_has_no_problems():
    assert validate_plan({"R1": [1, 2], "R2": [3]}, CHUTES, REJECT) == {}


@pytest.mark.parametrize(
    ("plan", "field", "why"),
    [
        ({"R1": [99]}, "routes.R1.0", "not a sort chute"),
        ({"R1": [9]}, "routes.R1.0", "reject chute"),
        ({"R1": [1], "R2": [2, 1]}, "routes.R2.1", "already bound to route R1"),
        ({"R1": [1, 1]}, "routes.R1.1", "listed twice"),
        ({"R1": []}, "routes.R1", "at least one chute"),
        ({"R\x01": [1]}, "routes.R\x01", "control characters"),
        ({}, "routes", "at least one route"),
    ],
)
def test_each_problem_names_its_field(plan, field, why):
    problems = validate_plan(plan, CHUTES, REJECT)
    assert why in problems[field]


def test_a_route_needed_by_a_label_rule_cannot_be_removed():
    problems = validate_plan({"R1": [1]}, CHUTES, REJECT, {"R2": "labels.route_rules.0"})
    assert problems == {"routes.R2": "route R2 is needed by labels.route_rules.0"}


def test_patch_sets_and_removes_routes_and_diff_shows_before_and_after():
    before = {"R1": [1], "R2": [2], "R3": [3]}
    after = apply_patch(before, {"R2": [4, 5], "R3": None, "R4": [6]})
    assert after == {"R1": [1], "R2": [4, 5], "R4": [6]}
    assert diff_plans(before, after) == {
        "R2": {"before": [2], "after": [4, 5]},
        "R3": {"before": [3], "after": None},
        "R4": {"before": None, "after": [6]},
    }


TRUCKS = {"R1": "T1", "R2": "T1", "R3": "T2"}


def test_routes_of_one_truck_may_share_a_chute_and_a_route_may_have_several():
    plan = {"R1": [1, 2], "R2": [2], "R3": [3, 4]}
    assert validate_plan(plan, CHUTES, REJECT, trucks=TRUCKS) == {}


def test_a_chute_never_mixes_trucks():
    problems = validate_plan({"R1": [1], "R3": [2, 1]}, CHUTES, REJECT, trucks=TRUCKS)
    assert problems == {
        "routes.R3.1": "chute 1 is already bound to route R1 of truck T1; "
        "a chute never mixes trucks (R3 is on T2)"
    }


def test_a_route_outside_the_route_plan_keeps_its_chute_to_itself():
    problems = validate_plan({"R1": [1], "X9": [1]}, CHUTES, REJECT, trucks=TRUCKS)
    assert "X9 is not in it" in problems["routes.X9.0"]
    # Without a route plan no chute is shared at all, as before.
    assert "already bound" in validate_plan({"R1": [1], "R2": [1]}, CHUTES, REJECT)["routes.R2.0"]


def test_chutes_mixing_trucks_lists_every_offending_chute():
    plan = {"R1": [1, 2], "R2": [2], "R3": [2, 3], "X9": [3]}
    assert chutes_mixing_trucks(plan, TRUCKS) == {2: ["R1", "R2", "R3"], 3: ["R3", "X9"]}
    assert chutes_mixing_trucks({"R1": [1], "R2": [1]}, TRUCKS) == {}
