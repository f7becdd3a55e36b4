import pytest

from controller.decision import SortPlan
from controller.errors import SortPlanError
from controller.sort_plan import (
    SortPlanService,
    SortPlanStore,
    apply_patch,
    diff_plans,
    validate_plan,
)

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


def _service(tmp_path, config_plan=None):
    config_plan = config_plan or {"R1": [1], "R2": [2]}
    plan = SortPlan(config_plan, REJECT)
    store = SortPlanStore(tmp_path / "sort-plan.sqlite")
    return plan, SortPlanService(plan, store, config_plan, CHUTES)


async def test_a_change_is_validated_versioned_audited_and_survives_a_restart(tmp_path):
    plan, service = _service(tmp_path)
    assert "from the line config" in await service.load()
    assert plan.version == 1
    version = await service.patch({"R2": [3, 4]}, "erp", "tms", "truck 7 is late")
    assert plan.version == 2 and plan.chutes_of("R2") == (3, 4)
    assert version.change == {"R2": {"before": [2], "after": [3, 4]}}
    with pytest.raises(SortPlanError) as err:
        await service.patch({"R1": [3]}, "erp", "tms")
    assert "already bound to route R2" in err.value.problems["routes.R1.0"]
    assert plan.chutes_of("R1") == (1,) and plan.version == 2  # nothing changed
    history = await service.history()
    assert [(v.version, v.actor, v.reason) for v in history] == [
        (2, "erp", "truck 7 is late"),
        (1, "config", "the line config's sort_plan"),
    ]
    restarted, service2 = _service(tmp_path)
    assert "version 2 (by erp) restored" in await service2.load()
    assert restarted.chutes_of("R2") == (3, 4)


async def test_a_changed_config_plan_wins_over_the_stored_one(tmp_path):
    _, service = _service(tmp_path)
    await service.load()
    await service.patch({"R2": [3]}, "erp", "tms")
    plan, service2 = _service(tmp_path, {"R1": [5], "R2": [6]})
    assert "version 3 from the line config" in await service2.load()
    assert plan.chutes_of("R1") == (5,)


async def test_expected_version_guards_against_lost_updates(tmp_path):
    _, service = _service(tmp_path)
    await service.load()
    await service.patch({"R2": [3]}, "a", "tms", expected_version=1)
    with pytest.raises(SortPlanError) as err:
        await service.patch({"R2": [4]}, "b", "tms", expected_version=1)
    assert "version 2, not 1" in err.value.problems["expected_version"]
